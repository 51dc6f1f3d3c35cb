-- stg_sessions (built as stg_sessions_rows): every record of sessions.csv typed
-- and cleaned, with the first check it fails (failed_check, null when none).
-- Each value is cleaned and typed once; the checks read the typed values.
-- queries/load.py then numbers the rows by line and rejects the second and later
-- loadable rows of a session_id (stg_sessions_all, SPEC §1).
with

-- Extra columns stay in raw_sessions; naming the contract's keeps them out of the way.
source as (
    select
        _line, _is_blank, _parse_error,
        session_id, booking_id, patient_id, performed_at, treatment, body_area, needle_depth_mm, duration_min,
        practitioner, location, price
    from raw_sessions
),

cleaned as (
    select
        _line as source_line,
        _is_blank,
        _parse_error,
        clean_text(session_id) as session_id,
        clean_text(booking_id) as booking_id,
        clean_text(patient_id) as patient_id,
        clean_text(performed_at) as performed_at_text,
        clean_text(treatment) as treatment,
        clean_text(body_area) as body_area_text,
        normalise_in(body_area, enum_values('sessions', 'body_area')) as body_area,
        clean_text(needle_depth_mm) as needle_depth_mm_text,
        clean_text(duration_min) as duration_min_text,
        clean_text(practitioner) as practitioner,
        clean_text(location) as location,
        clean_text(price) as price_text
    from source
),

typed as (
    select
        *,
        parse_timestamp_text(performed_at_text) as performed_at,
        parse_number_text(needle_depth_mm_text) as needle_depth_mm,
        parse_number_text(duration_min_text) as duration_number,
        parse_number_text(price_text) as price
    from cleaned
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_present(session_id, 'session_id'),
            check_present(patient_id, 'patient_id'),
            check_present(performed_at_text, 'performed_at'),
            check_parsed(performed_at_text, performed_at, 'not a date/time', 'performed_at'),
            check_present(treatment, 'treatment'),
            check_present(body_area_text, 'body_area'),
            check_known(body_area_text, body_area, enum_values('sessions', 'body_area'), 'body_area'),
            check_range(needle_depth_mm_text, needle_depth_mm, 'needle_depth_mm', 0.1, 3.0),
            -- try_cast would round '60.5' to 61: a fraction is rejected, not guessed at.
            case when duration_min_text is not null and coalesce(duration_number <> floor(duration_number), true)
                then failed('duration_min', 'not a whole number: ''' || duration_min_text || '''') end,
            check_range(duration_min_text, duration_number, 'duration_min', 0, 1440),
            check_range(price_text, price, 'price', 0, 'infinity'::double)
        ) as failed_check
    from typed
),

final as (
    select
        c.source_line, c._is_blank, c.session_id, c.booking_id, c.patient_id, c.performed_at, c.treatment, c.body_area,
        c.needle_depth_mm, try_cast(c.duration_min_text as integer) as duration_min, c.practitioner, c.location,
        c.price,
        c.failed_check,
        null::struct(column_name varchar, reason varchar) as warning
    from checked as c
)

select * from final
