-- Per calendar month (or ISO week, $grain) of the session: sessions, revenue,
-- patients and the complaints following those sessions (SPEC §2.4: month of the
-- session), reported on or before as_of; count_patients_complained: the distinct patients behind
-- those complaints (SPEC 2.14, queries/privacy.py).
with

sessions as not materialized (
    select *, date_trunc($grain, session_date)::date as period_start
    from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- A linked complaint carries its session's day, location, ... (fct_complaints), so the period's
-- complaints are counted without joining them to the sessions.
complaints as not materialized (
    select *, date_trunc($grain, session_date)::date as period_start
    from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where has_session
),

per_period as (
    select period_start, count(*) as count_sessions, coalesce(sum(price), 0) as revenue
    from sessions
    group by period_start
),

complaints_per_period as (
    select period_start, count(*) as count_complaints
    from complaints
    group by period_start
),

-- The patients behind the counts, only when $patients asks for them (DuckDB drops this part of the plan
-- otherwise): per period and patient of the session first, then over patients, one aggregate instead of
-- a count(distinct) per column. The session's patient, not the complaint's own patient_id.
per_patient as (
    select
        s.period_start,
        s.patient_key,
        coalesce(sum(c.count_complaints), 0) as count_complaints
    from sessions as s
    left join session_complaints($as_of) as c using (session_id)
    where $patients
    group by s.period_start, s.patient_key
),

patients_per_period as (
    select
        period_start,
        count(*) as count_patients,
        count(*) filter (where count_complaints > 0) as count_patients_complained
    from per_patient
    group by period_start
),

final as (
    select
        s.period_start,
        s.count_sessions,
        s.revenue,
        if($patients, coalesce(p.count_patients, 0), null) as count_patients,
        coalesce(c.count_complaints, 0) as count_complaints,
        if($patients, coalesce(p.count_patients_complained, 0), null) as count_patients_complained,
        100.0 * coalesce(c.count_complaints, 0) / s.count_sessions as complaints_per_100_sessions
    from per_period as s
    left join complaints_per_period as c using (period_start)
    left join patients_per_period as p using (period_start)
    order by s.period_start
)

select * from final
