-- Scalar macros the marts and the metric queries share. Created before the marts are built (a mart
-- may use them) and again with macros.sql wherever marts are opened.

-- Filters every page shares. `allowed` null means no filter; an empty list matches nothing.
create or replace macro matches(value, allowed) as (allowed is null or list_contains(allowed, value));

-- A session (a row with fct_sessions' location, practitioner, treatment, body_area and concern, passed
-- whole) that every list filter lets through: recall_list selects a patient by any session of the last visit.
create or replace macro session_selected(session, locations, practitioners, treatments, body_areas, concerns) as
    matches(session.location, locations) and matches(session.practitioner, practitioners)
    and matches(session.treatment, treatments) and matches(session.body_area, body_areas)
    and matches(session.concern, concerns);

-- The value a session is grouped by when a query takes `$dimension`; `session` is a row of
-- fct_sessions (or of a table with the same columns) passed whole: `session_dimension($dimension, s)`.
-- queries.api.DIMENSIONS allows each query only the names it documents. Missing reads '(not recorded)'.
create or replace macro session_dimension(dimension, session) as
    coalesce(case dimension
        when 'all' then 'All sessions'
        when 'treatment' then session.treatment
        when 'location' then session.location
        when 'practitioner' then session.practitioner
        when 'body_area' then session.body_area
        when 'concern' then session.concern
        when 'patient_type' then session.patient_type
        when 'depth_band' then session.needle_depth_band
        when 'month' then strftime(session.session_month, '%Y-%m')
    end, '(not recorded)');

-- The distinct values of a list, sorted and joined by ', ' (null when there are none): what
-- string_agg(distinct x, ', ' order by x) gives, as `joined_distinct(list(x))`. DuckDB plans that
-- string_agg as an aggregate and a join of its own, per column; this is one list per group.
create or replace macro joined_distinct(values) as
    nullif(array_to_string(list_sort(list_distinct(values)), ', '), '');

-- How many distinct patients `patient_key` (dim_patients' key, or null for none) holds, as
-- count(distinct patient_key) gives it: a bit per patient, set and counted, instead of a hash table of
-- keys (at 1M sessions the Demand page's counts took a third of the time). `key_max` is
-- $patient_key_max (queries/api.py looks it up in load_meta); a key above it is an error, not a
-- miscount. Each group holds patient_key_max / 8 bytes (50 KB at 1M sessions, 600 KB at 10M), so
-- use it where the groups are a chart's cells, not one per patient; one per lot only under a bound
-- on lots x patients (lot_trace).
create or replace macro distinct_patients(patient_key, key_max) as
    coalesce(bit_count(bitstring_agg(patient_key, 1, key_max)), 0);

-- distinct_patients in two steps, for totals rolled up from cells: patient_bits(patient_key, key_max)
-- per cell, then count_bits(bit_or(patients)) per total (null bits, a cell of nobody, count 0).
create or replace macro patient_bits(patient_key, key_max) as bitstring_agg(patient_key, 1, key_max);

create or replace macro count_bits(bits) as coalesce(bit_count(bits), 0);

-- The whole months of the period [start_date, end_date] cut at as_of, as the days from whole_months_from
-- to whole_months_to: from the first day of the first month it covers from its first day, to the last
-- day of the last month it covers to its end (first after last when there is none). A month is whole
-- when its first day is in that range; a day is in a whole month when it is.
create or replace macro whole_months_from(start_date) as
    if(day(start_date) = 1, start_date, (date_trunc('month', start_date) + interval 1 month)::date);

create or replace macro whole_months_to(end_date, as_of) as
    if(least(end_date, as_of) = last_day(least(end_date, as_of)), least(end_date, as_of),
       (date_trunc('month', least(end_date, as_of)) - interval 1 day)::date);
