-- SPEC §2.2 over bookings whose appointment day is in the period and on or before as_of.
-- No-show rate: no_show / (completed + no_show). Cancellation rate: cancelled / all.
-- Each count comes with the distinct patients behind it (count_patients_*: SPEC 2.14, queries/privacy.py);
-- scheduled (still booked, appointment day passed) is the rest, so the four statuses add up to all.
-- One row per period: 'current', and 'previous' when $previous_start/$previous_end are given.
with

periods as (select * from overview_periods($start, $end, $previous_start, $previous_end)),

bookings as (
    select * from bookings_appointed_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                                $locations, $practitioners, $treatments, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per outcome
-- (five hash tables of patient ids), several times faster at a million bookings.
-- $patients false (no small-cell rule to apply): every booking falls in one group, so the same totals
-- without hashing patient ids, and the patient counts come back null.
per_patient as (
    select
        period,
        if($patients, patient_id, null) as patient_id,
        count(*) as count_bookings,
        count(*) filter (where is_completed) as count_completed,
        count(*) filter (where is_no_show) as count_no_show,
        count(*) filter (where is_cancelled) as count_cancelled,
        count(*) filter (where not (is_completed or is_no_show or is_cancelled)) as count_scheduled
    from bookings
    group by all
),

per_period as (
    select
        period,
        sum(count_bookings) as count_bookings,
        sum(count_completed) as count_completed,
        sum(count_no_show) as count_no_show,
        sum(count_cancelled) as count_cancelled,
        sum(count_scheduled) as count_scheduled,
        count(patient_id) as count_patients_booked,
        count(patient_id) filter (where count_completed > 0) as count_patients_completed,
        count(patient_id) filter (where count_no_show > 0) as count_patients_no_show,
        count(patient_id) filter (where count_cancelled > 0) as count_patients_cancelled,
        count(patient_id) filter (where count_scheduled > 0) as count_patients_scheduled
    from per_patient
    group by period
),

-- A period with no bookings still has its row, of zeros.
counts as (
    select
        p.period,
        coalesce(c.count_bookings, 0)::bigint as count_bookings,
        coalesce(c.count_completed, 0)::bigint as count_completed,
        coalesce(c.count_no_show, 0)::bigint as count_no_show,
        coalesce(c.count_cancelled, 0)::bigint as count_cancelled,
        coalesce(c.count_scheduled, 0)::bigint as count_scheduled,
        if($patients, coalesce(c.count_patients_booked, 0), null) as count_patients_booked,
        if($patients, coalesce(c.count_patients_completed, 0), null) as count_patients_completed,
        if($patients, coalesce(c.count_patients_no_show, 0), null) as count_patients_no_show,
        if($patients, coalesce(c.count_patients_cancelled, 0), null) as count_patients_cancelled,
        if($patients, coalesce(c.count_patients_scheduled, 0), null) as count_patients_scheduled
    from periods as p
    left join per_period as c using (period)
),

final as (
    select
        *,
        count_no_show / nullif(count_completed + count_no_show, 0) as no_show_rate,
        count_cancelled / nullif(count_bookings, 0) as cancellation_rate
    from counts
    order by period = 'previous'
)

select * from final
