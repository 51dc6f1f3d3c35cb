-- stg_bookings: every row of bookings.csv typed and cleaned, with the first
-- reason it cannot be loaded (reject_column / reject_reason, null when it can).
with

-- Extra columns stay in raw_bookings; naming the contract's keeps them out of the way.
source as (
    select
        _line, _parse_error,
        booking_id, patient_id, booked_at, appointment_at, treatment, status, location, practitioner, channel, concern
    from raw_bookings
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_required(booking_id, 'booking_id'),
            check_required(patient_id, 'patient_id'),
            check_required(booked_at, 'booked_at'),
            check_timestamp(booked_at, 'booked_at'),
            check_required(appointment_at, 'appointment_at'),
            check_timestamp(appointment_at, 'appointment_at'),
            check_required(treatment, 'treatment'),
            check_required(status, 'status'),
            check_enum(status, 'status', enum_values('bookings', 'status'))
        ) as failed_check
    from source
),

typed as (
    select
        _line as source_line,
        clean_text(booking_id) as booking_id,
        clean_text(patient_id) as patient_id,
        parse_timestamp(booked_at) as booked_at,
        parse_timestamp(appointment_at) as appointment_at,
        clean_text(treatment) as treatment,
        normalise(status) as status,
        clean_text(location) as location,
        clean_text(practitioner) as practitioner,
        normalise(channel) as channel,
        enum_or_other(concern, enum_values('bookings', 'concern')) as concern,
        case when enum_or_other(concern, enum_values('bookings', 'concern')) = 'other'
                  and normalise(concern) <> 'other'
            then failed('concern', 'unknown value ''' || clean_text(concern) || ''' read as other')
        end as warning,
        failed_check
    from checked
),

deduplicated as (
    select *, first_loadable_line(booking_id, source_line, failed_check) as first_line_of_id
    from typed
),

final as (
    select
        * exclude (failed_check, first_line_of_id, warning),
        coalesce(failed_check, check_duplicate(source_line, first_line_of_id, 'booking_id')) as rejected,
        warning
    from deduplicated
)

select * from final
