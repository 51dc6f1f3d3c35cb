-- SPEC 2.13: consultations (a completed booking whose treatment contains "consult", any case) with
-- their appointment day d in the period, on or before as_of, made on or before as_of. Eligible when
-- d + 90 days <= as_of; pending while the 90 days run (never counted as lost). An eligible one
-- converted when the same patient has a session whose treatment does not contain "consult",
-- performed from d to d + 90 days inclusive. Per concern and per channel of the consultation booking
-- (missing: `unknown`) and overall (grouping sets: a null concern and channel is the overall row),
-- each count with its distinct patients for queries/privacy.py. The sidebar's filters select the
-- consultation booking; the treatment that follows counts wherever and by whomever it was done.
with

consultations as (
    select
        booking_id,
        patient_key,
        concern,
        coalesce(channel, 'unknown') as channel,
        appointment_date,
        (appointment_date + interval 90 day)::date as window_ends_on
    from filtered_bookings($locations, $practitioners, $treatments, $concerns)
    where contains(lower(treatment), 'consult')
      and status = 'completed'
      and appointment_date between $start and $end
      and appointment_date <= $as_of
      and booked_date <= $as_of
),

treatments as (
    select patient_key, session_date
    from fct_sessions
    where not contains(lower(treatment), 'consult')
),

outcomes as (
    select
        c.*,
        c.window_ends_on <= $as_of as is_eligible,
        c.window_ends_on <= $as_of and exists (
            select 1 from treatments as t
            where t.patient_key = c.patient_key  -- dim_patients' key: the same patient in both
              and t.session_date between c.appointment_date and c.window_ends_on
        ) as is_converted
    from consultations as c
),

final as (
    select
        concern,
        channel,
        count(*) filter (where is_eligible) as count_eligible,
        count(*) filter (where is_converted) as count_converted,
        count(*) filter (where is_eligible and not is_converted) as count_not_converted,
        count(*) filter (where not is_eligible) as count_pending,
        count(*) filter (where is_converted) / nullif(count(*) filter (where is_eligible), 0) as conversion_rate,
        distinct_patients(if(is_eligible, patient_key, null), $patient_key_max) as count_patients_eligible,
        distinct_patients(if(is_converted, patient_key, null), $patient_key_max) as count_patients_converted,
        distinct_patients(if(is_eligible and not is_converted, patient_key, null), $patient_key_max)
            as count_patients_not_converted,
        distinct_patients(if(not is_eligible, patient_key, null), $patient_key_max) as count_patients_pending
    from outcomes
    group by grouping sets ((concern), (channel), ())
    order by concern nulls last, channel nulls first
)

select * from final
