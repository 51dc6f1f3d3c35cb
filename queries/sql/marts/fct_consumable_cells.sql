-- fct_consumable_cells: every loaded session's consumable lines summed per month and cell, with every
-- complaint loaded (consumable_line_cells in macros.sql, over all of history). The Consumables page's
-- charts and lot trace read a period's whole months here: at 1M sessions 127,523 cells instead of
-- 3,685,255 lines. Built once the macros exist (queries/load.py: MARTS_OVER_MACROS).
select *
from consumable_line_cells('-infinity'::date, 'infinity'::date, 'infinity'::date, null, null, null, null, null, false)
