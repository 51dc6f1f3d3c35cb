-- fct_bookings: one row per loaded booking, dated for the booking metrics.
with

bookings as (select * from stg_bookings),

-- Each patient's first booking made (by booked_at, then booking_id): the one that makes them a new
-- patient (SPEC 2.12). Found once here rather than by a window over every booking on each view of
-- the Demand page. A booking made on or before as_of is the first of those too, so the flag holds
-- for any as_of.
first_bookings as (
    select arg_min(booking_id, struct_pack(booked_at := booked_at, booking_id := booking_id)) as booking_id
    from bookings
    group by patient_id
),

final as (
    select
        * exclude (concern),
        coalesce(concern, 'unknown') as concern,
        booked_at::date as booked_date,
        appointment_at::date as appointment_date,
        status = 'completed' as is_completed,
        status = 'no_show' as is_no_show,
        status = 'cancelled' as is_cancelled,
        booking_id in (select booking_id from first_bookings) as is_first_booking_of_patient
    from bookings
)

select * from final
