-- Explore › Bookings: one row per booking whose appointment day is in the period and on or before
-- as_of, as the Overview's no-show and cancellation rates count them (SPEC §2.2). Bookings have no
-- body area: that sidebar filter does not apply to them.
with

bookings as (
    select * from bookings_appointed_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $concerns)
),

final as (
    select
        booking_id,
        appointment_at,
        booked_at,
        patient_id,
        treatment,
        status,
        location,
        practitioner,
        channel,
        concern
    from bookings
)

select * from final
