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
        s.patient_id
    from consumables as c
    left join sessions as s using (session_id)
    -- Pages select by session day: stored in that order, DuckDB skips row groups outside the period.
    order by s.session_date, c.session_id
)

select * from final
