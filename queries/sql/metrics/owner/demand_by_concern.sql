-- SPEC §2.6: bookings made in the period (booked_at day, on or before as_of),
-- any status, per concern; a booking without a concern counts as `unknown`.
with

bookings as (
    select * from filtered_bookings($locations, $practitioners, $treatments, $concerns)
    where booked_date between $start and $end
      and booked_date <= $as_of
),

final as (
    select concern, count(*) as count_bookings
    from bookings
    group by concern
    order by count_bookings desc, concern
)

select * from final
