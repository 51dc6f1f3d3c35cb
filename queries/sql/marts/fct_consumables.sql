-- fct_consumables: one row per loaded consumable line, costed and dated by its session.
with

consumables as (select * from stg_consumables),

sessions as (
    select
        session_id, session_date, session_month, location, practitioner,
        treatment, body_area, concern, is_micro_needling, patient_id
    from fct_sessions
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
        -- Flags that make "distinct sessions" a plain count: every filter keeps or drops all of a
        -- session's lines together, so counting each session's first line of an item (lot, category
        -- and unit) counts its distinct sessions, without a distinct over millions of ids.
        -- Lines with a lot sort first: the first line of an item is lotted when any of them is.
        row_number() over (partition by c.session_id, c.item order by c.lot nulls last, c.source_line) = 1
            as is_first_of_item_in_session,
        c.lot is not null and row_number() over (partition by c.session_id, c.lot order by c.source_line) = 1
            as is_first_of_lot_in_session,
        row_number() over (partition by c.session_id, c.category, c.unit order by c.source_line) = 1
            as is_first_of_category_unit_in_session
    from consumables as c
    left join sessions as s using (session_id)
    -- Pages select by session day: stored in that order, DuckDB skips row groups outside the period.
    order by s.session_date, c.session_id
)

select * from final
