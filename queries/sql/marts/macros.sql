-- Table macros over the marts (created once the marts exist: DuckDB binds their tables then), and
-- functions.sql's scalar macros before them.

-- Sessions performed in the period [start_date, end_date] and on or before as_of (SPEC §2.1).
create or replace macro sessions_in_period(start_date, end_date, as_of,
                                           locations, practitioners, treatments, body_areas, concerns) as table
    select * from fct_sessions
    where session_date between start_date and end_date
      and session_date <= as_of
      and matches(location, locations)
      and matches(practitioner, practitioners)
      and matches(treatment, treatments)
      and matches(body_area, body_areas)
      and matches(concern, concerns);

-- Bookings have no body area: that filter does not apply to them.
create or replace macro filtered_bookings(locations, practitioners, treatments, concerns) as table
    select * from fct_bookings
    where matches(location, locations)
      and matches(practitioner, practitioners)
      and matches(treatment, treatments)
      and matches(concern, concerns);

-- Bookings whose appointment day is in the period and on or before as_of (SPEC 2.2's denominator).
create or replace macro bookings_appointed_in_period(start_date, end_date, as_of,
                                                     locations, practitioners, treatments, concerns) as table
    select * from filtered_bookings(locations, practitioners, treatments, concerns)
    where appointment_date between start_date and end_date
      and appointment_date <= as_of;

-- Complaints take their location, practitioner, ... from their session; a
-- complaint with no known session passes only when no such filter is set.
create or replace macro filtered_complaints(locations, practitioners, treatments, body_areas, concerns) as table
    select * from fct_complaints
    where matches(location, locations)
      and matches(practitioner, practitioners)
      and matches(treatment, treatments)
      and matches(body_area, body_areas)
      and matches(concern, concerns);

-- Complaints counted in a period (SPEC 2.4): a linked complaint by its session's day, one with no known
-- session by the day it was reported; either way only once reported, on or before as_of.
create or replace macro complaints_in_period(start_date, end_date, as_of,
                                             locations, practitioners, treatments, body_areas, concerns) as table
    select * from filtered_complaints(locations, practitioners, treatments, body_areas, concerns)
    where coalesce(session_date, reported_date) between start_date and end_date
      and coalesce(session_date, reported_date) <= as_of
      and reported_date <= as_of;

-- Consumables used in the sessions sessions_in_period selects (SPEC §2.5). fct_consumables carries
-- its session's day, location, ... so this filters the same columns without a join; orphan lines
-- (no loaded session) have no session_date and never match.
create or replace macro consumables_in_period(start_date, end_date, as_of,
                                              locations, practitioners, treatments, body_areas, concerns) as table
    select * from fct_consumables
    where session_date between start_date and end_date
      and session_date <= as_of
      and matches(location, locations)
      and matches(practitioner, practitioners)
      and matches(treatment, treatments)
      and matches(body_area, body_areas)
      and matches(concern, concerns);

-- Complaints per loaded session, as known on as_of (reported on or before it).
create or replace macro session_complaints(as_of) as table
    select session_id, count(*) as count_complaints
    from fct_complaints
    where has_session
      and reported_date <= as_of
    group by session_id;

-- The Overview's cards compare the period with the one before it. Its KPI queries take both at once
-- ($previous_start / $previous_end, null: the period alone) and give a row for each, labelled by
-- `period`: one query instead of two saves DuckDB's planning (about 4 ms a query) and a pass over
-- the parameters. Each period is selected exactly as the *_in_period macro selects it alone.
create or replace macro overview_periods(start_date, end_date, previous_start, previous_end) as table
    select 'current' as period, start_date::date as period_start, end_date::date as period_end
    union all
    select 'previous', previous_start::date, previous_end::date where previous_start is not null;

create or replace macro sessions_in_periods(start_date, end_date, previous_start, previous_end, as_of,
                                            locations, practitioners, treatments, body_areas, concerns) as table
    select 'current' as period, *
    from sessions_in_period(start_date, end_date, as_of, locations, practitioners, treatments, body_areas, concerns)
    union all
    select 'previous' as period, *
    from sessions_in_period(previous_start, previous_end, as_of, locations, practitioners, treatments, body_areas, concerns)
    where previous_start is not null;

create or replace macro bookings_appointed_in_periods(start_date, end_date, previous_start, previous_end, as_of,
                                                      locations, practitioners, treatments, concerns) as table
    select 'current' as period, *
    from bookings_appointed_in_period(start_date, end_date, as_of, locations, practitioners, treatments, concerns)
    union all
    select 'previous' as period, *
    from bookings_appointed_in_period(previous_start, previous_end, as_of, locations, practitioners, treatments, concerns)
    where previous_start is not null;

create or replace macro complaints_in_periods(start_date, end_date, previous_start, previous_end, as_of,
                                              locations, practitioners, treatments, body_areas, concerns) as table
    select 'current' as period, *
    from complaints_in_period(start_date, end_date, as_of, locations, practitioners, treatments, body_areas, concerns)
    union all
    select 'previous' as period, *
    from complaints_in_period(previous_start, previous_end, as_of, locations, practitioners, treatments, body_areas, concerns)
    where previous_start is not null;
