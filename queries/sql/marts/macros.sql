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

-- consumables_in_period's lines summed per month of their session and per cell: the session's location,
-- practitioner, treatment, body area and concern (what the pages filter by) and the line's item,
-- category, unit and lot (what they group by). A session's first line of an item (of a lot, of a
-- category and unit) is in one cell, so the cells' session counts add up to distinct sessions; the
-- session's complaints (reported on or before as_of) count with that line. fct_consumable_cells holds
-- these cells for all of history; consumable_cells_in_period reads its whole months there, and here
-- only the other days (skip_whole_months true).
create or replace macro consumable_line_cells(start_date, end_date, as_of,
                                              locations, practitioners, treatments, body_areas, concerns,
                                              skip_whole_months) as table
    select
        c.session_month, c.location, c.practitioner, c.treatment, c.body_area, c.concern,
        c.item, c.category, c.unit, c.lot,
        count(*) as count_lines,
        -- fsum (compensated): the same total whatever order the threads add the lines in, so that a cost
        -- ending in half a cent rounds the same way every time.
        fsum(c.quantity) as quantity,
        fsum(c.cost) as cost,
        count(*) filter (where c.unit_cost is null) as count_uncosted_lines,
        count(*) filter (where c.is_first_of_item_in_session) as count_item_sessions,
        count(*) filter (where c.is_first_of_lot_in_session) as count_lot_sessions,
        count(*) filter (where c.is_first_of_category_unit_in_session) as count_category_unit_sessions,
        coalesce(sum(k.count_complaints) filter (where c.is_first_of_item_in_session), 0) as count_item_complaints,
        coalesce(sum(k.count_complaints) filter (where c.is_first_of_lot_in_session), 0) as count_lot_complaints,
        min(c.session_date) as first_session_date,
        max(c.session_date) as last_session_date
    from consumables_in_period(start_date, end_date, as_of, locations, practitioners, treatments, body_areas, concerns) as c
    left join session_complaints(as_of) as k using (session_id)
    where not (skip_whole_months
               and c.session_date between whole_months_from(start_date) and whole_months_to(end_date, as_of))
      -- The same for the whole table, known from the parameters alone: a period of whole months reads no line.
      and (not skip_whole_months
           or start_date < whole_months_from(start_date)
           or least(end_date, as_of) > whole_months_to(end_date, as_of))
    group by all;

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
