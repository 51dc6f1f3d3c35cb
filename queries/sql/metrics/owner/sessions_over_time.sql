-- Per calendar month (or ISO week, $grain) of the session: sessions, revenue,
-- patients and the complaints following those sessions (SPEC §2.4: month of the
-- session), reported on or before as_of; count_patients_complained: the distinct patients behind
-- those complaints (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        date_trunc($grain, s.session_date)::date as period_start,
        count(*) as count_sessions,
        coalesce(sum(s.price), 0) as revenue,
        count(distinct s.patient_id) as count_patients,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints,
        count(distinct s.patient_id) filter (where c.count_complaints > 0) as count_patients_complained,
        100.0 * coalesce(sum(c.count_complaints), 0) / count(*) as complaints_per_100_sessions
    from sessions as s
    left join complaints as c using (session_id)
    group by period_start
    order by period_start
)

select * from final
