-- New patients for the Demand page: a patient is new in the period when their first booking in the
-- export (made on or before as_of; the earliest booked_at, any treatment, any status) was made in the
-- period. They count under that first booking's concern and channel (missing: `unknown`), with every
-- total beside them (grouping sets: a null concern or channel means "all of them"). The sidebar's
-- filters select the first booking: a patient first booked at another location is not new here.
with

new_patients as (
    select concern, coalesce(channel, 'unknown') as channel
    from filtered_bookings($locations, $practitioners, $treatments, $concerns)
    where is_first_booking_of_patient
      and booked_date between $start and $end
      and booked_date <= $as_of
),

final as (
    select
        concern,
        channel,
        count(*) as count_new_patients  -- a patient has one first booking, so a row is a patient
    from new_patients
    group by grouping sets ((concern, channel), (concern), (channel), ())
    order by concern nulls last, channel nulls last
)

select * from final
