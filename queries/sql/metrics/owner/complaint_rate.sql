-- SPEC §2.4: complaints following sessions performed in the period (on or
-- before as_of), per 100 of those sessions. Complaints with no known session
-- are not in the rate; complaints reported after as_of are not known yet.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
-- One row per period: 'current', and 'previous' when $previous_start/$previous_end are given.
with

periods as (select * from overview_periods($start, $end, $previous_start, $previous_end)),

sessions as not materialized (
    select * from sessions_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                      $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- A linked complaint carries its session's day, location, ... (fct_complaints), so the period's
-- complaints are counted without joining them to the sessions.
complaints as not materialized (
    select * from complaints_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                        $locations, $practitioners, $treatments, $body_areas, $concerns)
    where has_session
),

session_counts as (select period, count(*) as count_sessions from sessions group by period),

complaint_counts as (select period, count(*) as count_complaints from complaints group by period),

-- The patients behind the counts, only when $patients asks for them (DuckDB drops this part of the plan
-- otherwise): per patient of the session first, then over patients, one aggregate instead of a
-- count(distinct) per column. The session's patient, not the complaint's own patient_id.
per_patient as (
    select
        s.period,
        s.patient_key,
        coalesce(sum(c.count_complaints), 0) as count_complaints
    from sessions as s
    left join session_complaints($as_of) as c using (session_id)
    where $patients
    group by s.period, s.patient_key
),

patient_counts as (
    select
        period,
        count(*) as count_patients,
        count(*) filter (where count_complaints > 0) as count_patients_complained
    from per_patient
    group by period
),

-- A period with no sessions still has its row, of zeros.
counts as (
    select
        p.period,
        coalesce(s.count_sessions, 0) as count_sessions,
        coalesce(c.count_complaints, 0) as count_complaints,
        if($patients, coalesce(n.count_patients, 0), null) as count_patients,
        if($patients, coalesce(n.count_patients_complained, 0), null) as count_patients_complained
    from periods as p
    left join session_counts as s using (period)
    left join complaint_counts as c using (period)
    left join patient_counts as n using (period)
),

final as (
    select
        period,
        count_sessions,
        count_complaints,
        count_patients,
        count_patients_complained,
        100.0 * count_complaints / nullif(count_sessions, 0) as complaints_per_100_sessions
    from counts
    order by period = 'previous'
)

select * from final
