-- SPEC §2.8 recall list: patients whose latest session (on or before as_of) was between $min_days
-- and $max_days days before as_of and who have no booking ahead (made on or before as_of, for a
-- day after it, not cancelled). Our choice: the sidebar filters select patients by that latest
-- visit (its location, practitioner, treatment, body area or concern), and the period does not
-- apply: the list is about who to call as of the as-of date.
-- Two branches give the same rows; DuckDB plans only the one $as_of and $export_date (load_meta's
-- default_as_of, bound by queries.api) choose. At the export's date, the dashboard's default,
-- at_export reads each patient's last visit from fct_last_visits, built at load. At any other date
-- the CTEs from recent_sessions to computed work it out from the sessions and bookings.
with

-- Only the last $max_days days decide who is due: a patient whose latest session is inside the
-- bounds had one in that stretch, and one older than it is out. So the latest session is found
-- among those sessions alone (at the default 180 days, a sixth of a three-year export), not over
-- every patient's history.
recent_sessions as (
    select patient_id, session_date, treatment, body_area, location, practitioner, concern, patient_count_sessions
    from fct_sessions
    where session_date between $as_of - $max_days::integer and $as_of
      and $as_of <> $export_date
),

latest_sessions as (
    select patient_id, max(session_date) as last_session_date
    from recent_sessions
    group by patient_id
),

known_bookings as (
    select patient_id, booked_at, appointment_date, is_cancelled, concern, channel
    from fct_bookings
    where booked_date <= $as_of
      and $as_of <> $export_date
),

booked_ahead as (
    select distinct patient_id from known_bookings where appointment_date > $as_of and not is_cancelled
),

-- Only patients inside the bounds with nothing booked go on, and of those only the ones the filters
-- select by their last visit: the details below are for them alone.
due_patients as (
    select *
    from latest_sessions
    where date_diff('day', last_session_date, $as_of) between $min_days and $max_days
      and patient_id not in (select patient_id from booked_ahead)
),

last_visit as (
    select
        s.patient_id,
        any_value(d.last_session_date) as last_session_date,
        any_value(s.patient_count_sessions) as patient_count_sessions,
        joined_distinct(list(s.treatment)) as treatments,
        joined_distinct(list(s.body_area)) as body_areas,
        joined_distinct(list(s.location)) as locations,
        joined_distinct(list(s.practitioner)) as practitioners,
        bool_or(session_selected(s, $locations, $practitioners, $treatments, $body_areas, $concerns)) as is_selected
    from recent_sessions as s
    join due_patients as d on d.patient_id = s.patient_id and d.last_session_date = s.session_date
    group by s.patient_id
),

selected as (
    select * exclude (is_selected) from last_visit where is_selected
),

-- Sessions to date: the patient's sessions in the whole export (fct_sessions), less those after as_of
-- (none at the export's date), instead of counting every selected patient's history again.
sessions_after as (
    select s.patient_id, count(*) as count_sessions_after
    from fct_sessions as s
    semi join selected using (patient_id)
    where s.session_date > $as_of
    group by s.patient_id
),

latest_booking as (
    select
        b.patient_id,
        arg_max(b.concern, b.booked_at) filter (where b.concern <> 'unknown') as concern,
        arg_max(b.channel, b.booked_at) filter (where b.channel is not null) as channel
    from known_bookings as b
    semi join selected using (patient_id)
    group by b.patient_id
),

-- At the export's date: the last visits are ready; only the bounds, a booking ahead and the filters
-- (any session of the last day, as below) are left to apply.
at_export as (
    select
        patient_id,
        last_session_date,
        date_diff('day', last_session_date, $as_of) as days_since,
        any_value(treatments) as treatments,
        any_value(body_areas) as body_areas,
        any_value(locations) as locations,
        any_value(practitioners) as practitioners,
        any_value(count_sessions_to_date) as count_sessions_to_date,
        any_value(latest_concern) as concern,
        any_value(latest_channel) as channel
    from fct_last_visits as v
    where $as_of = $export_date
      and date_diff('day', last_session_date, $as_of) between $min_days and $max_days
      and not has_booking_ahead
    group by patient_id, last_session_date
    having bool_or(session_selected(v, $locations, $practitioners, $treatments, $body_areas, $concerns))
),

computed as (
    select
        v.patient_id,
        v.last_session_date,
        date_diff('day', v.last_session_date, $as_of) as days_since,
        v.treatments,
        v.body_areas,
        v.locations,
        v.practitioners,
        v.patient_count_sessions - coalesce(n.count_sessions_after, 0) as count_sessions_to_date,
        coalesce(b.concern, 'unknown') as concern,
        coalesce(b.channel, 'unknown') as channel
    from selected as v
    left join sessions_after as n using (patient_id)
    left join latest_booking as b using (patient_id)
),

final as (
    select *, count(*) over () as count_patients_due
    from (select * from at_export union all select * from computed)
    -- Longest since first: they are closest to leaving the six-month window.
    order by days_since desc, patient_id
    -- $max_rows (the page: the rows a table shows) keeps the first ones; count_patients_due counts them all.
    limit $max_rows
)

select * from final
