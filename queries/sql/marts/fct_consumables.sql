-- fct_consumables: one row per loaded consumable line, costed and dated by its session.
with

consumables as (select * from stg_consumables),

sessions as (
    select
        session_id, session_date, session_month, location, practitioner,
        treatment, body_area, concern, is_micro_needling, patient_id
    from fct_sessions
),

-- Flags that make "distinct sessions" a plain count: every filter keeps or drops all of a
-- session's lines together, so counting each session's first line of an item (lot, category
-- and unit) counts its distinct sessions, without a distinct over millions of ids. Found by
-- aggregates rather than windows: no sort of every line. The first line of an item is a lotted
-- one when any of its lines has a lot.
first_of_item as (
    select coalesce(min(source_line) filter (where lot is not null), min(source_line)) as source_line
    from consumables
    group by session_id, item
),

first_of_lot as (
    select min(source_line) as source_line
    from consumables
    where lot is not null
    group by session_id, lot
),

first_of_category_unit as (
    select min(source_line) as source_line
    from consumables
    group by session_id, category, unit
),

final as (
    select
        c.*,
        c.quantity * c.unit_cost as cost,
        s.session_id is not null as has_session,
        s.session_date,
        s.session_month,
        s.location,
        s.practitioner,
        s.treatment,
        s.body_area,
        s.concern,
        s.is_micro_needling,
        s.patient_id,
        c.source_line in (select source_line from first_of_item) as is_first_of_item_in_session,
        c.source_line in (select source_line from first_of_lot) as is_first_of_lot_in_session,
        c.source_line in (select source_line from first_of_category_unit) as is_first_of_category_unit_in_session
    from consumables as c
    left join sessions as s using (session_id)
    -- Pages select by session day: stored in that order, DuckDB skips row groups outside the period.
    order by s.session_date
)

select * from final
