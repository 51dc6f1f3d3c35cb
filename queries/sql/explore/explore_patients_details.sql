-- Explore › Patients, the columns that cost most, for the patients of a CTE named `patients`
-- (patient_id) that queries/explore.py defines: the page shown, or every patient of
-- explore_patients.sql when the sort or a filter needs them. Treatments and body areas are those of
-- the sessions the period and sidebar filters select; the rest is the patient's history as known on
-- as_of (bookings made and complaints reported on or before it).
with

selected_sessions as (
    select patient_id, treatment, body_area
    from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    semi join patients using (patient_id)
),

treated as (
    select
        patient_id,
        -- list_sort(list(distinct ...)): an ordered string_agg(distinct ...) is several times slower.
        array_to_string(list_sort(list(distinct treatment)), ', ') as treatments,
        array_to_string(list_sort(list(distinct body_area)), ', ') as body_areas
    from selected_sessions
    group by patient_id
),

-- A booking ahead (SPEC §2.8): made on or before as_of, for a day after it, not cancelled.
booked as (
    select
        patient_id,
        array_to_string(list_sort(list(distinct concern) filter (where concern <> 'unknown')), ', ') as concerns,
        arg_max(channel, booked_at) filter (where channel is not null) as channel,
        min(appointment_date) filter (where appointment_date > $as_of and not is_cancelled) as next_booking_date,
        count(*) filter (where appointment_date <= $as_of and is_no_show) as count_no_shows,
        count(*) filter (where appointment_date <= $as_of and (is_no_show or is_completed)) as count_attended_or_missed
    from fct_bookings
    semi join patients using (patient_id)
    where booked_date <= $as_of
    group by patient_id
),

complained as (
    select patient_id, count(*) as count_complaints
    from fct_complaints
    semi join patients using (patient_id)
    where reported_date <= $as_of
    group by patient_id
),

final as (
    select
        p.patient_id,
        t.treatments,
        t.body_areas,
        b.concerns,
        b.channel,
        b.next_booking_date,
        coalesce(b.count_no_shows, 0) as count_no_shows,
        b.count_no_shows / nullif(b.count_attended_or_missed, 0) as no_show_rate,
        coalesce(c.count_complaints, 0) as count_complaints
    from (select distinct patient_id from patients) as p
    left join treated as t using (patient_id)
    left join booked as b using (patient_id)
    left join complained as c using (patient_id)
)

select * from final
