-- SPEC §2.5 per item and calendar month (or ISO week, $grain) of the session: quantity, cost and
-- lines without a unit cost.
with

-- Months from the period's cells (whole months summed at load, consumable_cells_in_period); weeks from
-- the lines. DuckDB plans only the branch $grain chooses.
monthly as (
    select
        session_month as period_start,
        item,
        quantity,
        cost,
        count_uncosted_lines
    from consumable_cells_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns, null)
    where $grain = 'month'
),

weekly as (
    select
        date_trunc('week', session_date)::date as period_start,
        item,
        quantity,
        cost,
        (unit_cost is null)::integer as count_uncosted_lines
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where $grain = 'week'
),

final as (
    select
        period_start,
        item,
        fsum(quantity) as quantity,  -- fsum: see consumable_line_cells
        coalesce(fsum(cost), 0) as cost,
        sum(count_uncosted_lines)::bigint as count_uncosted_lines
    from (select * from monthly union all select * from weekly)
    group by all
    order by period_start, item
)

select * from final
