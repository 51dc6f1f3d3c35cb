-- Explore › Patients: one row per patient with a session in the period that the sidebar filters
-- select. Sessions and spend count those sessions; first and last visit and sessions and spend to
-- date read all their sessions performed on or before as_of. The columns that cost most
-- (explore_patients_details.sql) are joined by queries/explore.py: for the page shown only, unless
-- the sort or a filter needs them for every patient.
with

selected as (
    select
        patient_id,
        count(*) as count_sessions,
        sum(price) as spend,
        -- fct_sessions holds each patient's first session day; it is on or before as_of for these patients.
        min(patient_first_session_date) as first_visit_date
    from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    group by patient_id
),

to_date as (
    select
        patient_id,
        max(session_date) as last_visit_date,
        count(*) as count_sessions_to_date,
        sum(price) as spend_to_date
    from fct_sessions
    semi join selected using (patient_id)
    where session_date <= $as_of
    group by patient_id
),

final as (
    select
        s.patient_id,
        s.first_visit_date,
        t.last_visit_date,
        date_diff('day', t.last_visit_date, $as_of) as days_since_last_visit,
        s.count_sessions,
        s.spend,
        t.count_sessions_to_date,
        t.spend_to_date
    from selected as s
    join to_date as t using (patient_id)
)

select * from final
