-- fct_bookings: one row per loaded booking, dated for the booking metrics.
with

bookings as (select * from stg_bookings),

final as (
    select
        * exclude (concern),
        coalesce(concern, 'unknown') as concern,
        booked_at::date as booked_date,
        appointment_at::date as appointment_date,
        status = 'completed' as is_completed,
        status = 'no_show' as is_no_show,
        status = 'cancelled' as is_cancelled
    from bookings
)

select * from final
