-- stg_sessions: every row of sessions.csv typed and cleaned, with the first
-- reason it cannot be loaded (null when it can).
with

-- Extra columns stay in raw_sessions; naming the contract's keeps them out of the way.
source as (
    select
        _line, _parse_error,
        session_id, booking_id, patient_id, performed_at, treatment, body_area, needle_depth_mm, duration_min,
        practitioner, location, price
    from raw_sessions
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_required(session_id, 'session_id'),
            check_required(patient_id, 'patient_id'),
            check_required(performed_at, 'performed_at'),
            check_timestamp(performed_at, 'performed_at'),
            check_required(treatment, 'treatment'),
            check_required(body_area, 'body_area'),
            check_enum(body_area, 'body_area', enum_values('sessions', 'body_area')),
            check_number(needle_depth_mm, 'needle_depth_mm', 0.1, 3.0),
            -- try_cast would round '60.5' to 61: a fraction is rejected, not guessed at.
            case when clean_text(duration_min) is not null
                      and coalesce(parse_number(duration_min) <> floor(parse_number(duration_min)), true)
                then failed('duration_min', 'not a whole number: ''' || clean_text(duration_min) || '''') end,
            check_number(duration_min, 'duration_min', 0, 1440),
            check_number(price, 'price', 0, 'infinity'::double)
        ) as failed_check
    from source
),

typed as (
    select
        _line as source_line,
        clean_text(session_id) as session_id,
        clean_text(booking_id) as booking_id,
        clean_text(patient_id) as patient_id,
        parse_timestamp(performed_at) as performed_at,
        clean_text(treatment) as treatment,
        normalise(body_area) as body_area,
        parse_number(needle_depth_mm) as needle_depth_mm,
        try_cast(clean_text(duration_min) as integer) as duration_min,
        clean_text(practitioner) as practitioner,
        clean_text(location) as location,
        parse_number(price) as price,
        failed_check
    from checked
),

deduplicated as (
    select *, first_loadable_line(session_id, source_line, failed_check) as first_line_of_id
    from typed
),

final as (
    select
        * exclude (failed_check, first_line_of_id),
        coalesce(failed_check, check_duplicate(source_line, first_line_of_id, 'session_id')) as rejected,
        null::struct(column_name varchar, reason varchar) as warning
    from deduplicated
)

select * from final
