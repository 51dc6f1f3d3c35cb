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
-- Each group found in two steps: the keys' hashes seen more than once (one integer per group, so
-- far cheaper to group than the strings: fct_consumables 3.8-4.2 -> 3.3-3.4 s at 1M sessions), then
-- the exact groups of the few lines with such a hash. A collision only lets a line through to the
-- second step, which groups by the values themselves.
item_hashes as (
    select hash(session_id, item) as key_hash from consumables group by all having count(*) > 1
),

lot_hashes as (
    select hash(session_id, lot) as key_hash from consumables where lot is not null group by all having count(*) > 1
),

category_unit_hashes as (
    select hash(session_id, category, unit) as key_hash from consumables group by all having count(*) > 1
),

repeated_items as (
    select session_id, item, coalesce(min(source_line) filter (where lot is not null), min(source_line)) as first_line
    from consumables
    where hash(session_id, item) in (select key_hash from item_hashes)
    group by session_id, item
    having count(*) > 1
),

repeated_lots as (
    select session_id, lot, min(source_line) as first_line
    from consumables
    where lot is not null and hash(session_id, lot) in (select key_hash from lot_hashes)
    group by session_id, lot
    having count(*) > 1
),

repeated_category_units as (
    select session_id, category, unit, min(source_line) as first_line
    from consumables
    where hash(session_id, category, unit) in (select key_hash from category_unit_hashes)
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
