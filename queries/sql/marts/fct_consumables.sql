-- fct_consumables: one row per loaded consumable line, costed and dated by its session.
with

-- Read four times below; not materialized: copying millions of lines cost more than reading them again.
consumables as not materialized (select * from stg_consumables),

sessions as (
    select
        session_id, performed_at, session_date, session_month, location, practitioner,
        treatment, body_area, concern, is_micro_needling, patient_id, patient_key
    from fct_sessions
),

-- Flags that make "distinct sessions" a plain count: every filter keeps or drops all of a
-- session's lines together, so counting each session's first line of an item (lot, category
-- and unit) counts its distinct sessions, without a distinct over millions of ids. Found by
-- aggregates rather than windows: no sort of every line. The first line of an item is a lotted
-- one when any of its lines has a lot. Only groups of several lines are kept: a line in no such
-- group is the first of its own, and the joins below look up the few there are.
-- Sessions that may repeat one are found first, in one pass grouped by session: each value sets
-- one of 64 bits (by its hash), so a session whose bits are fewer than its lines has a value twice
-- or two that share a bit. Only those sessions' lines are then grouped by their values. (Grouping
-- every line by its values, nearly all of them distinct, was most of this mart's time.)
session_bits as (
    select
        session_id,
        count(*) as count_lines,
        count(lot) as count_lotted_lines,
        bit_count(bit_or(1::ubigint << (hash(item) % 64))) as count_item_bits,
        bit_count(bit_or(1::ubigint << (hash(lot) % 64)) filter (where lot is not null)) as count_lot_bits,
        bit_count(bit_or(1::ubigint << (hash(category, unit) % 64))) as count_category_unit_bits
    from consumables
    group by session_id
),

repeated_items as (
    select session_id, item, coalesce(min(source_line) filter (where lot is not null), min(source_line)) as first_line
    from consumables
    where session_id in (select session_id from session_bits where count_item_bits < count_lines)
    group by session_id, item
    having count(*) > 1
),

repeated_lots as (
    select session_id, lot, min(source_line) as first_line
    from consumables
    where lot is not null
        and session_id in (select session_id from session_bits where count_lot_bits < count_lotted_lines)
    group by session_id, lot
    having count(*) > 1
),

repeated_category_units as (
    select session_id, category, unit, min(source_line) as first_line
    from consumables
    where session_id in (select session_id from session_bits where count_category_unit_bits < count_lines)
    group by session_id, category, unit
    having count(*) > 1
),

final as (
    select
        -- ENUMs: see fct_consumables_types.sql.
        c.* replace (
            c.item::consumable_item as item,
            c.category::consumable_category as category,
            c.unit::consumable_unit as unit
        ),
        c.quantity * c.unit_cost as cost,
        s.session_id is not null as has_session,
        s.performed_at,  -- lot_sessions lists a lot's sessions from their lines alone
        s.session_date,
        s.session_month,
        s.location::session_location as location,
        s.practitioner::session_practitioner as practitioner,
        s.treatment::session_treatment as treatment,
        s.body_area::session_body_area as body_area,
        s.concern::session_concern as concern,
        s.is_micro_needling,
        s.patient_id,
        s.patient_key,  -- the session's (dim_patients' key): for counting patients
        coalesce(ri.first_line = c.source_line, true) as is_first_of_item_in_session,
        c.lot is not null and coalesce(rl.first_line = c.source_line, true) as is_first_of_lot_in_session,
        coalesce(rc.first_line = c.source_line, true) as is_first_of_category_unit_in_session
    from consumables as c
    left join sessions as s using (session_id)
    left join repeated_items as ri on ri.session_id = c.session_id and ri.item = c.item
    left join repeated_lots as rl on rl.session_id = c.session_id and rl.lot = c.lot
    left join repeated_category_units as rc
        on rc.session_id = c.session_id and rc.category is not distinct from c.category and rc.unit = c.unit
    -- Not sorted by session day (fct_sessions is): here the sort cost +2.7 CPU-s, +1.3 s of the load
    -- at 1M sessions. The joins leave the lines roughly in the file's order, but every row group
    -- reaches the export's last days, so a period's queries read every line (measured 2026-11-29).
)

select * from final
