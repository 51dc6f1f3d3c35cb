-- Cleaning rules shared by every staging model (SPEC §1 "Real exports are messy").

-- ' Needle Depth (mm) ' -> 'needle_depth_mm'; the same rule as contract.normalise_name.
create or replace macro normalise(value) as
    nullif(trim(regexp_replace(lower(trim(value)), '[^a-z0-9]+', '_', 'g'), '_'), '');

-- normalise() for a column whose values are mostly one of `known` as written: those skip the regex.
create or replace macro normalise_in(value, known) as
    case when list_contains(known, value) then value else normalise(value) end;

-- Surrounding white space is noise; an empty cell is a missing value; Excel's
-- `="00123"` (written to keep leading zeros) means 00123. In a file queries/load.py
-- found tidy (no cell with either of the first two), only the empty cell is left to
-- clean: the variable is a constant when a statement is bound, so DuckDB drops the
-- other branch.
create or replace macro clean_text(value) as
    case when getvariable('is_tidy') then nullif(value, '') else nullif(
        case when starts_with(trim(value), '="') and ends_with(trim(value), '"') and length(trim(value)) >= 3
             then trim(value)[3:-2]
             else trim(value) end,
        '') end;

-- A cleaned value as a timestamp: ISO 8601 with a space or a T, a bare date
-- (midnight), or US month-first (day-first when the column map says
-- date_order = "day_first": queries/load.py swaps %m/%d in the slashed formats). The year must have four digits: %Y alone reads
-- '03/04/25' as the year 25. The common `YYYY-MM-DD HH:MM:SS` is tried first
-- with its one format; whatever that parses, the full list parses the same way.
create or replace macro parse_timestamp_text(text) as coalesce(
    case when text like '____-__-__ __:__:__' and ascii(text) between 48 and 57
        then try_strptime(text, '%Y-%m-%d %H:%M:%S') end,
    case when regexp_matches(text, '^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})([ T]|$)') then
    try_strptime(text, [
        '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S.%f',
        '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%dT%H:%M:%S.%f',
        '%Y-%m-%d',
        '%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S',
        '%m/%d/%Y'
    ]) end);

-- A cleaned value as a finite number: 'NaN' and 'inf' cast to a double but are no amount or depth.
create or replace macro parse_number_text(text) as
    case when isfinite(try_cast(text as double)) then try_cast(text as double) end;

-- One rejected check: which column and why. The first failing check of a row wins.
create or replace macro failed(column_name, reason) as
    {'column_name': column_name, 'reason': reason};

create or replace macro check_present(text, column_name) as
    case when text is null then failed(column_name, 'missing required value') end;

-- A value given (text) that did not parse (typed): 'not a date/time: ''x''' and the like.
create or replace macro check_parsed(text, typed, what, column_name) as
    case when text is not null and typed is null then failed(column_name, what || ': ''' || text || '''') end;

create or replace macro check_range(text, typed, column_name, low, high) as
    case
        when text is null then null
        when typed is null then failed(column_name, 'not a number: ''' || text || '''')
        when typed < low then failed(column_name, 'below the minimum ' || low || ': ''' || text || '''')
        when typed > high then failed(column_name, 'above the maximum ' || high || ': ''' || text || '''')
    end;

-- An enum given (text) whose normalised value is not allowed.
create or replace macro check_known(text, normalised, allowed, column_name) as
    case when normalised is not null and not list_contains(allowed, normalised)
        then failed(column_name, 'unknown value ''' || text || '''') end;

-- Enums whose unknown values become 'other' with a warning rather than a reject.
create or replace macro enum_or_other_value(normalised, allowed) as
    case when list_contains(allowed, normalised) then normalised
         when normalised is not null then 'other' end;

create or replace macro enum_values(entity_name, column_label) as
    (select list(value order by value) from ref_enums
     where entity = entity_name and column_name = column_label);

-- A record the CSV reader could not map onto the header (too many fields).
create or replace macro check_structure(parse_error) as
    case when parse_error is not null then failed(null, parse_error) end;

-- Second and later loadable rows with an id are rejected (SPEC §1); the first
-- loadable line of an id repeated is `first_line` (null for an id seen once).
create or replace macro check_duplicate(line, first_line, column_name) as
    case when line > first_line
        then failed(column_name, 'duplicate ' || column_name || ', first on line ' || first_line) end;
