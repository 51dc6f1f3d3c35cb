-- Cleaning rules shared by every staging model (SPEC §1 "Real exports are messy").

-- ' Needle Depth (mm) ' -> 'needle_depth_mm'; the same rule as contract.normalise_name.
create or replace macro normalise(value) as
    nullif(trim(regexp_replace(lower(trim(value)), '[^a-z0-9]+', '_', 'g'), '_'), '');

-- Surrounding white space is noise; an empty cell is a missing value; Excel's
-- `="00123"` (written to keep leading zeros) means 00123.
create or replace macro clean_text(value) as nullif(
    case when starts_with(trim(value), '="') and ends_with(trim(value), '"') and length(trim(value)) >= 3
         then trim(value)[3:-2]
         else trim(value) end,
    '');

-- ISO 8601 with a space or a T, a bare date (midnight), or US month-first.
-- The year must have four digits: %Y alone reads '03/04/25' as the year 25.
create or replace macro parse_timestamp(value) as
    case when regexp_matches(clean_text(value), '^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})([ T]|$)') then
    try_strptime(clean_text(value), [
        '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S.%f',
        '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M', '%Y-%m-%dT%H:%M:%S.%f',
        '%Y-%m-%d',
        '%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S',
        '%m/%d/%Y'
    ]) end;

-- Finite numbers only: 'NaN' and 'inf' cast to a double but are no amount or depth.
create or replace macro parse_number(value) as
    case when isfinite(try_cast(clean_text(value) as double)) then try_cast(clean_text(value) as double) end;

-- One rejected check: which column and why. The first failing check of a row wins.
create or replace macro failed(column_name, reason) as
    {'column_name': column_name, 'reason': reason};

create or replace macro check_required(value, column_name) as
    case when clean_text(value) is null then failed(column_name, 'missing required value') end;

create or replace macro check_timestamp(value, column_name) as
    case when clean_text(value) is not null and parse_timestamp(value) is null
        then failed(column_name, 'not a date/time: ''' || clean_text(value) || '''') end;

create or replace macro check_number(value, column_name, low, high) as
    case
        when clean_text(value) is null then null
        when parse_number(value) is null
            then failed(column_name, 'not a number: ''' || clean_text(value) || '''')
        when parse_number(value) < low
            then failed(column_name, 'below the minimum ' || low || ': ''' || clean_text(value) || '''')
        when parse_number(value) > high
            then failed(column_name, 'above the maximum ' || high || ': ''' || clean_text(value) || '''')
    end;

create or replace macro check_enum(value, column_name, allowed) as
    case when normalise(value) is not null and not list_contains(allowed, normalise(value))
        then failed(column_name, 'unknown value ''' || clean_text(value) || '''') end;

-- Enums whose unknown values become 'other' with a warning rather than a reject.
create or replace macro enum_or_other(value, allowed) as
    case when list_contains(allowed, normalise(value)) then normalise(value)
         when normalise(value) is not null then 'other' end;

create or replace macro enum_values(entity_name, column_label) as
    (select list(value order by value) from ref_enums
     where entity = entity_name and column_name = column_label);

-- A record the CSV reader could not map onto the header (too many fields).
create or replace macro check_structure(parse_error) as
    case when parse_error is not null then failed(null, parse_error) end;

-- Second and later rows with an id are rejected (SPEC §1). A row rejected for
-- another reason does not claim its id: the first *loadable* row keeps it.
create or replace macro first_loadable_line(id, line, failed_check) as
    min(line) filter (where failed_check is null) over (partition by id);

create or replace macro check_duplicate(line, first_line, column_name) as
    case when line > first_line
        then failed(column_name, 'duplicate ' || column_name || ', first on line ' || first_line) end;
