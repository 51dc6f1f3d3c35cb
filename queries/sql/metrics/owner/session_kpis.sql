-- Owner KPIs over sessions performed in the period (on or before as_of).
-- A new patient is one whose first session ever falls in the period.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        count(*) as count_sessions,
        coalesce(sum(price), 0) as revenue,
        avg(price) as average_price,
        count(price) as count_priced_sessions,
        count(distinct patient_id) as count_patients,
        count(distinct patient_id) filter (
            where patient_first_session_date between $start and $end
        ) as count_new_patients
    from sessions
)

select * from final
