-- stg_bookings (built as stg_bookings_rows): every record of bookings.csv typed
-- and cleaned, with the first check it fails (failed_check, null when none).
-- Each value is cleaned and typed once; the checks read the typed values.
-- queries/load.py then numbers the rows by line and rejects the second and later
-- loadable rows of a booking_id (stg_bookings_all, SPEC §1).
with

-- Extra columns stay in raw_bookings; naming the contract's keeps them out of the way.
source as (
    select
        _line, _is_blank, _parse_error,
        booking_id, patient_id, booked_at, appointment_at, treatment, status, location, practitioner, channel, concern
    from raw_bookings
),

cleaned as (
    select
        _line as source_line,
        _is_blank,
        _parse_error,
        clean_text(booking_id) as booking_id,
        clean_text(patient_id) as patient_id,
        clean_text(booked_at) as booked_at_text,
        clean_text(appointment_at) as appointment_at_text,
        clean_text(treatment) as treatment,
        clean_text(status) as status_text,
        normalise_in(status, enum_values('bookings', 'status')) as status,
        clean_text(location) as location,
        clean_text(practitioner) as practitioner,
        normalise(channel) as channel,
        clean_text(concern) as concern_text,
        normalise_in(concern, enum_values('bookings', 'concern')) as concern_normalised
    from source
),

typed as (
    select
        *,
        parse_timestamp_text(booked_at_text) as booked_at,
        parse_timestamp_text(appointment_at_text) as appointment_at,
        enum_or_other_value(concern_normalised, enum_values('bookings', 'concern')) as concern
    from cleaned
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_present(booking_id, 'booking_id'),
            check_present(patient_id, 'patient_id'),
            check_present(booked_at_text, 'booked_at'),
            check_parsed(booked_at_text, booked_at, 'not a date/time', 'booked_at'),
            check_present(appointment_at_text, 'appointment_at'),
            check_parsed(appointment_at_text, appointment_at, 'not a date/time', 'appointment_at'),
            check_present(treatment, 'treatment'),
            check_present(status_text, 'status'),
            check_known(status_text, status, enum_values('bookings', 'status'), 'status')
        ) as failed_check,
        case when concern = 'other' and concern_normalised <> 'other'
            then failed('concern', 'unknown value ''' || concern_text || ''' read as other')
        end as warning
    from typed
),

final as (
    select
        c.source_line, c._is_blank, c.booking_id, c.patient_id, c.booked_at, c.appointment_at, c.treatment, c.status,
        c.location, c.practitioner, c.channel, c.concern,
        c.failed_check,
        c.warning
    from checked as c
)

select * from final
