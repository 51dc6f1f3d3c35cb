-- fct_last_visits: each patient's last visit as of the export's date (load_meta.default_as_of), one
-- row per session of that day, with what SPEC 2.8's recall list says about the patient then: the
-- day's treatments, body areas, locations and practitioners, sessions to date, a booking ahead, and
-- the concern and channel of their latest booking. recall_list reads it when its as_of is the
-- export's date (the dashboard's default) instead of every session and booking. Every session and
-- booking is on or before that date (it is the latest of them), so "as of the export" is "in it".
with

export as (select default_as_of as as_of from load_meta),

last_days as (
    select patient_id, max(session_date) as last_session_date
    from fct_sessions
    group by patient_id
),

last_day_sessions as (
    select s.patient_id, s.session_date, s.location, s.practitioner, s.treatment, s.body_area, s.concern,
           s.patient_count_sessions
    from fct_sessions as s
    semi join last_days as d on d.patient_id = s.patient_id and d.last_session_date = s.session_date
),

-- Most patients' last day has one value of each (one session, or two areas treated alike): min and
-- max tell which, and only the patients with two or more list theirs.
visit_ranges as (
    select
        patient_id,
        min(treatment) as treatment, max(treatment) as max_treatment,
        min(body_area) as body_area, max(body_area) as max_body_area,
        min(location) as location, max(location) as max_location,
        min(practitioner) as practitioner, max(practitioner) as max_practitioner
    from last_day_sessions
    group by patient_id
),

mixed_visits as (
    select
        patient_id,
        joined_distinct(list(treatment)) as treatments,
        joined_distinct(list(body_area)) as body_areas,
        joined_distinct(list(location)) as locations,
        joined_distinct(list(practitioner)) as practitioners
    from last_day_sessions
    where patient_id in (
        select patient_id from visit_ranges
        where treatment <> max_treatment or body_area <> max_body_area
           or location <> max_location or practitioner <> max_practitioner
    )
    group by patient_id
),

visits as (
    select
        r.patient_id,
        coalesce(m.treatments, r.treatment) as treatments,
        coalesce(m.body_areas, r.body_area) as body_areas,
        coalesce(m.locations, r.location) as locations,
        coalesce(m.practitioners, r.practitioner) as practitioners
    from visit_ranges as r
    left join mixed_visits as m using (patient_id)
),

-- A booking made by the export's date for a later day, not cancelled: the patient has one ahead.
booked_ahead as (
    select distinct patient_id
    from fct_bookings, export
    where appointment_date > export.as_of and not is_cancelled
),

latest_bookings as (
    select
        patient_id,
        arg_max(concern, booked_at) filter (where concern <> 'unknown') as concern,
        arg_max(channel, booked_at) filter (where channel is not null) as channel
    from fct_bookings
    group by patient_id
),

final as (
    select
        s.patient_id,
        s.session_date as last_session_date,
        s.location,
        s.practitioner,
        s.treatment,
        s.body_area,
        s.concern,
        v.treatments,
        v.body_areas,
        v.locations,
        v.practitioners,
        s.patient_count_sessions as count_sessions_to_date,
        s.patient_id in (select patient_id from booked_ahead) as has_booking_ahead,
        coalesce(b.concern, 'unknown') as latest_concern,
        coalesce(b.channel, 'unknown') as latest_channel
    from last_day_sessions as s
    join visits as v using (patient_id)
    left join latest_bookings as b using (patient_id)
)

select * from final
