-- SPEC §2.4: complaints following sessions performed in the period (on or
-- before as_of), per 100 of those sessions. Complaints with no known session
-- are not in the rate; complaints reported after as_of are not known yet.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        count(*) as count_sessions,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints,
        count(distinct s.patient_id) as count_patients,
        count(distinct s.patient_id) filter (where c.count_complaints > 0) as count_patients_complained,
        100.0 * coalesce(sum(c.count_complaints), 0) / nullif(count(*), 0) as complaints_per_100_sessions
    from sessions as s
    left join complaints as c using (session_id)
)

select * from final
