-- SPEC §2.4: complaints following sessions performed in the period (on or
-- before as_of), per 100 of those sessions. Complaints with no known session
-- are not in the rate; complaints reported after as_of are not known yet.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
with

sessions as not materialized (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- A linked complaint carries its session's day, location, ... (fct_complaints), so the period's
-- complaints are counted without joining them to the sessions.
complaints as not materialized (
    select * from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where has_session
),

-- The patients behind the counts, only when $patients asks for them (DuckDB drops this part of the plan
-- otherwise): per patient of the session first, then over patients, one aggregate instead of a
-- count(distinct) per column. The session's patient, not the complaint's own patient_id.
per_patient as (
    select
        s.patient_key,
        coalesce(sum(c.count_complaints), 0) as count_complaints
    from sessions as s
    left join session_complaints($as_of) as c using (session_id)
    where $patients
    group by s.patient_key
),

counts as (
    select
        (select count(*) from sessions) as count_sessions,
        (select count(*) from complaints) as count_complaints,
        if($patients, (select count(*) from per_patient), null) as count_patients,
        if($patients, (select count(*) from per_patient where count_complaints > 0), null)
            as count_patients_complained
),

final as (
    select
        count_sessions,
        count_complaints,
        count_patients,
        count_patients_complained,
        100.0 * count_complaints / nullif(count_sessions, 0) as complaints_per_100_sessions
    from counts
)

select * from final
