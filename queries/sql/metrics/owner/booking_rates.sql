-- SPEC §2.2 over bookings whose appointment day is in the period and on or before as_of.
-- No-show rate: no_show / (completed + no_show). Cancellation rate: cancelled / all.
with

bookings as (
    select * from bookings_appointed_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $concerns)
),

counts as (
    select
        count(*) as count_bookings,
        count(*) filter (where is_completed) as count_completed,
        count(*) filter (where is_no_show) as count_no_show,
        count(*) filter (where is_cancelled) as count_cancelled
    from bookings
),

final as (
    select
        *,
        count_no_show / nullif(count_completed + count_no_show, 0) as no_show_rate,
        count_cancelled / nullif(count_bookings, 0) as cancellation_rate
    from counts
)

select * from final
