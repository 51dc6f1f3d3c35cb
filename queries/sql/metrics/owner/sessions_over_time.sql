-- Per calendar month (or ISO week, $grain) of the session: sessions, revenue,
-- patients and the complaints following those sessions (SPEC §2.4: month of the
-- session), reported on or before as_of; count_patients_complained: the distinct patients behind
-- those complaints (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column and period
-- (a hash table of patient ids each), several times faster at a million sessions.
per_patient as (
    select
        date_trunc($grain, s.session_date)::date as period_start,
        s.patient_id,
        count(*) as count_sessions,
        sum(s.price) as revenue,
        coalesce(sum(c.count_complaints), 0) as count_complaints
    from sessions as s
    left join complaints as c using (session_id)
    group by period_start, s.patient_id
),

final as (
    select
        period_start,
        sum(count_sessions)::bigint as count_sessions,
        coalesce(sum(revenue), 0) as revenue,
        count(patient_id) as count_patients,
        sum(count_complaints)::bigint as count_complaints,
        count(patient_id) filter (where count_complaints > 0) as count_patients_complained,
        100.0 * sum(count_complaints) / sum(count_sessions) as complaints_per_100_sessions
    from per_patient
    group by period_start
    order by period_start
)

select * from final
