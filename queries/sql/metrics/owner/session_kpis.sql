-- Owner KPIs over sessions performed in the period (on or before as_of).
-- A new patient is one whose first session ever falls in the period.
with

sessions as not materialized (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions. Patients are
-- fct_sessions.patient_key, an integer per patient, here and below. With $patients
-- false (no small-cell rule to apply) every session falls in one group: the same totals, no patient
-- ids hashed, and count_patients comes back null.
per_patient as (
    select
        if($patients, patient_key, null) as patient_key,
        count(*) as count_sessions,
        sum(price) as revenue,
        count(price) as count_priced_sessions
    from sessions
    group by all
),

-- New patients are counted whatever $patients says: a card shows them. With no list filter they are the
-- period's first sessions ever (one per patient: fct_sessions), counted without hashing patient ids. With
-- one, a patient can be in the list through a later session only, so patients are counted by key. DuckDB
-- plans only the branch the parameters choose.
new_patients as (
    select count(*) filter (where is_first_session_of_patient) as count_new_patients
    from sessions
    where $locations is null and $practitioners is null and $treatments is null
      and $body_areas is null and $concerns is null
    union all
    select count(distinct patient_key)
    from sessions
    where patient_first_session_date between $start and $end
      and not ($locations is null and $practitioners is null and $treatments is null
               and $body_areas is null and $concerns is null)
),

final as (
    select
        coalesce(sum(count_sessions), 0)::bigint as count_sessions,
        coalesce(sum(revenue), 0) as revenue,
        sum(revenue) / nullif(sum(count_priced_sessions), 0) as average_price,
        coalesce(sum(count_priced_sessions), 0)::bigint as count_priced_sessions,
        if($patients, count(patient_key), null) as count_patients,
        (select sum(count_new_patients) from new_patients)::bigint as count_new_patients
    from per_patient
)

select * from final
