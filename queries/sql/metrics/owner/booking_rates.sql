-- SPEC §2.2 over bookings whose appointment day is in the period and on or before as_of.
-- No-show rate: no_show / (completed + no_show). Cancellation rate: cancelled / all.
-- Each count comes with the distinct patients behind it (count_patients_*: SPEC 2.14, queries/privacy.py);
-- scheduled (still booked, appointment day passed) is the rest, so the four statuses add up to all.
with

bookings as (
    select * from bookings_appointed_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per outcome
-- (five hash tables of patient ids), several times faster at a million bookings.
-- $patients false (no small-cell rule to apply): every booking falls in one group, so the same totals
-- without hashing patient ids, and the patient counts come back null.
per_patient as (
    select
        if($patients, patient_id, null) as patient_id,
        count(*) as count_bookings,
        count(*) filter (where is_completed) as count_completed,
        count(*) filter (where is_no_show) as count_no_show,
        count(*) filter (where is_cancelled) as count_cancelled,
        count(*) filter (where not (is_completed or is_no_show or is_cancelled)) as count_scheduled
    from bookings
    group by all
),

counts as (
    select
        coalesce(sum(count_bookings), 0)::bigint as count_bookings,
        coalesce(sum(count_completed), 0)::bigint as count_completed,
        coalesce(sum(count_no_show), 0)::bigint as count_no_show,
        coalesce(sum(count_cancelled), 0)::bigint as count_cancelled,
        coalesce(sum(count_scheduled), 0)::bigint as count_scheduled,
        if($patients, count(patient_id), null) as count_patients_booked,
        if($patients, count(patient_id) filter (where count_completed > 0), null) as count_patients_completed,
        if($patients, count(patient_id) filter (where count_no_show > 0), null) as count_patients_no_show,
        if($patients, count(patient_id) filter (where count_cancelled > 0), null) as count_patients_cancelled,
        if($patients, count(patient_id) filter (where count_scheduled > 0), null) as count_patients_scheduled
    from per_patient
),

final as (
    select
        *,
        count_no_show / nullif(count_completed + count_no_show, 0) as no_show_rate,
        count_cancelled / nullif(count_bookings, 0) as cancellation_rate
    from counts
)

select * from final
