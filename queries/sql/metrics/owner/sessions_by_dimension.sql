-- Sessions and revenue per treatment, location, practitioner, body area or
-- concern ($dimension), over sessions performed in the period; count_patients: the distinct
-- patients behind the sessions (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

labelled as (
    select session_dimension($dimension, s) as dimension_value, patient_id, price
    from sessions as s
),

final as (
    select
        dimension_value,
        count(*) as count_sessions,
        coalesce(sum(price), 0) as revenue,
        count(distinct patient_id) as count_patients
    from labelled
    group by all
    order by count_sessions desc, dimension_value
)

select * from final
