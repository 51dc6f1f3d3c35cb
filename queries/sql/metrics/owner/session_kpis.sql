-- Owner KPIs over sessions performed in the period (on or before as_of).
-- A new patient is one whose first session ever falls in the period.
-- One row per period: 'current', and 'previous' when $previous_start/$previous_end are given.
with

periods as (select * from overview_periods($start, $end, $previous_start, $previous_end)),

sessions as not materialized (
    select * from sessions_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                      $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions. Patients are
-- fct_sessions.patient_key, an integer per patient, here and below. With $patients
-- false (no small-cell rule to apply) every session of a period falls in one group: the same totals,
-- no patient ids hashed, and count_patients comes back null.
per_patient as (
    select
        period,
        if($patients, patient_key, null) as patient_key,
        count(*) as count_sessions,
        sum(price) as revenue,
        count(price) as count_priced_sessions
    from sessions
    group by all
),

per_period as (
    select
        period,
        sum(count_sessions) as count_sessions,
        sum(revenue) as revenue,
        sum(count_priced_sessions) as count_priced_sessions,
        count(patient_key) as count_patients
    from per_patient
    group by period
),

-- New patients are counted whatever $patients says: a card shows them. With no list filter they are the
-- period's first sessions ever (one per patient: fct_sessions), counted without hashing patient ids. With
-- one, a patient can be in the list through a later session only, so patients are counted by key. DuckDB
-- plans only the branch the parameters choose.
new_patients as (
    select period, count(*) filter (where is_first_session_of_patient) as count_new_patients
    from sessions
    where $locations is null and $practitioners is null and $treatments is null
      and $body_areas is null and $concerns is null
    group by period
    union all
    select s.period, distinct_patients(s.patient_key, $patient_key_max)
    from sessions as s
    join periods as p using (period)
    where s.patient_first_session_date between p.period_start and p.period_end
      and not ($locations is null and $practitioners is null and $treatments is null
               and $body_areas is null and $concerns is null)
    group by s.period
),

-- A period with no sessions still has its row, of zeros (the average null).
final as (
    select
        p.period,
        coalesce(c.count_sessions, 0)::bigint as count_sessions,
        coalesce(c.revenue, 0) as revenue,
        c.revenue / nullif(c.count_priced_sessions, 0) as average_price,
        coalesce(c.count_priced_sessions, 0)::bigint as count_priced_sessions,
        if($patients, coalesce(c.count_patients, 0), null) as count_patients,
        coalesce(n.count_new_patients, 0)::bigint as count_new_patients
    from periods as p
    left join per_period as c using (period)
    left join new_patients as n using (period)
    order by p.period = 'previous'
)

select * from final
