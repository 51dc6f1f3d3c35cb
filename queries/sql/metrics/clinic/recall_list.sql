-- SPEC §2.8 recall list: patients whose latest session (on or before as_of) was between $min_days
-- and $max_days days before as_of and who have no booking ahead (made on or before as_of, for a
-- day after it, not cancelled). Our choice: the sidebar filters select patients by that latest
-- visit (its location, practitioner, treatment, body area or concern), and the period does not
-- apply: the list is about who to call as of the as-of date.
with

-- Only the last $max_days days decide who is due: a patient whose latest session is inside the
-- bounds had one in that stretch, and one older than it is out. So the latest session is found
-- among those sessions alone (at the default 180 days, a sixth of a three-year export), not over
-- every patient's history.
recent_sessions as (
    select * from fct_sessions where session_date between $as_of - $max_days::integer and $as_of
),

latest_sessions as (
    select patient_id, max(session_date) as last_session_date
    from recent_sessions
    group by patient_id
),

known_bookings as (
    select * from fct_bookings where booked_date <= $as_of
),

booked_ahead as (
    select distinct patient_id from known_bookings where appointment_date > $as_of and not is_cancelled
),

-- Only patients inside the bounds with nothing booked go on: the details below are for them alone.
due_patients as (
    select *
    from latest_sessions
    where date_diff('day', last_session_date, $as_of) between $min_days and $max_days
      and patient_id not in (select patient_id from booked_ahead)
),

due as (
    select d.patient_id, d.last_session_date, count(*) as count_sessions_to_date
    from fct_sessions as s
    join due_patients as d using (patient_id)
    where s.session_date <= $as_of
    group by d.patient_id, d.last_session_date
),

last_visit as (
    select
        s.patient_id,
        joined_distinct(list(s.treatment)) as treatments,
        joined_distinct(list(s.body_area)) as body_areas,
        joined_distinct(list(s.location)) as locations,
        joined_distinct(list(s.practitioner)) as practitioners,
        bool_or(matches(s.location, $locations) and matches(s.practitioner, $practitioners)
                and matches(s.treatment, $treatments) and matches(s.body_area, $body_areas)
                and matches(s.concern, $concerns)) as is_selected
    from recent_sessions as s
    join due as d on d.patient_id = s.patient_id and d.last_session_date = s.session_date
    group by s.patient_id
),

latest_booking as (
    select
        b.patient_id,
        arg_max(b.concern, b.booked_at) filter (where b.concern <> 'unknown') as concern,
        arg_max(b.channel, b.booked_at) filter (where b.channel is not null) as channel
    from known_bookings as b
    semi join due using (patient_id)
    group by b.patient_id
),

final as (
    select
        d.patient_id,
        d.last_session_date,
        date_diff('day', d.last_session_date, $as_of) as days_since,
        v.treatments,
        v.body_areas,
        v.locations,
        v.practitioners,
        d.count_sessions_to_date,
        coalesce(b.concern, 'unknown') as concern,
        coalesce(b.channel, 'unknown') as channel
    from due as d
    join last_visit as v using (patient_id)
    left join latest_booking as b using (patient_id)
    where v.is_selected
    -- Longest since first: they are closest to leaving the six-month window.
    order by days_since desc, d.patient_id
)

select * from final
