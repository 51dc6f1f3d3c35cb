-- SPEC §2.2 over bookings whose appointment day is in the period and on or before as_of.
-- No-show rate: no_show / (completed + no_show). Cancellation rate: cancelled / all.
-- Each count comes with the distinct patients behind it (count_patients_*: SPEC 2.14, queries/privacy.py);
-- scheduled (still booked, appointment day passed) is the rest, so the four statuses add up to all.
with

bookings as (
    select * from bookings_appointed_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $concerns)
),

counts as (
    select
        count(*) as count_bookings,
        count(*) filter (where is_completed) as count_completed,
        count(*) filter (where is_no_show) as count_no_show,
        count(*) filter (where is_cancelled) as count_cancelled,
        count(*) filter (where not (is_completed or is_no_show or is_cancelled)) as count_scheduled,
        count(distinct patient_id) as count_patients_booked,
        count(distinct patient_id) filter (where is_completed) as count_patients_completed,
        count(distinct patient_id) filter (where is_no_show) as count_patients_no_show,
        count(distinct patient_id) filter (where is_cancelled) as count_patients_cancelled,
        count(distinct patient_id) filter (
            where not (is_completed or is_no_show or is_cancelled)
        ) as count_patients_scheduled
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
