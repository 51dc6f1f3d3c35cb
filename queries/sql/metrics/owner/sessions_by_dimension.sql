-- Sessions and revenue per treatment, location, practitioner, body area or
-- concern ($dimension), over sessions performed in the period; count_patients: the distinct
-- patients behind the sessions (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

labelled as (
    select session_dimension($dimension, s) as dimension_value, patient_key, price
    from sessions as s
),

-- Per value and patient first, then over patients: one aggregate instead of a count(distinct). With
-- $patients false (no small-cell rule to apply) every session of a value falls in one group, so the same
-- totals without hashing patient ids, and count_patients comes back null.
per_patient as (
    select
        dimension_value,
        if($patients, patient_key, null) as patient_key,
        count(*) as count_sessions,
        sum(price) as revenue
    from labelled
    group by all
),

final as (
    select
        dimension_value,
        sum(count_sessions)::bigint as count_sessions,
        coalesce(sum(revenue), 0) as revenue,
        if($patients, count(patient_key), null) as count_patients
    from per_patient
    group by dimension_value
    order by count_sessions desc, dimension_value
)

select * from final
