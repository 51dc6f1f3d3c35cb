-- SPEC §2.4: complaints following sessions performed in the period (on or
-- before as_of), per 100 of those sessions. Complaints with no known session
-- are not in the rate; complaints reported after as_of are not known yet.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions.
per_patient as (
    select
        s.patient_id,
        count(*) as count_sessions,
        coalesce(sum(c.count_complaints), 0) as count_complaints
    from sessions as s
    left join complaints as c using (session_id)
    group by s.patient_id
),

final as (
    select
        coalesce(sum(count_sessions), 0)::bigint as count_sessions,
        coalesce(sum(count_complaints), 0)::bigint as count_complaints,
        count(patient_id) as count_patients,
        count(patient_id) filter (where count_complaints > 0) as count_patients_complained,
        100.0 * coalesce(sum(count_complaints), 0) / nullif(sum(count_sessions), 0) as complaints_per_100_sessions
    from per_patient
)

select * from final
