-- SPEC §2.3 six-month rebooking, over sessions performed in the period.
-- Eligible: the window (session day + 6 calendar months) closed on or before as_of.
-- Pending: still open at as_of; never counted as not rebooked.
-- count_patients_*: the distinct patients behind each count (SPEC 2.14, queries/privacy.py).
-- One row per period: 'current', and 'previous' when $previous_start/$previous_end are given.
with

periods as (select * from overview_periods($start, $end, $previous_start, $previous_end)),

sessions as (
    select * from sessions_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                      $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- $patients false (no small-cell rule to apply): every session falls in one group, so the same totals
-- without hashing patient ids, and the patient counts come back null.
classified as (
    select
        period,
        if($patients, patient_key, null) as patient_key,
        rebook_window_ends_on > $as_of as is_pending,
        is_rebooked
    from sessions
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions.
per_patient as (
    select
        period,
        patient_key,
        count(*) filter (where not is_pending) as count_eligible,
        count(*) filter (where not is_pending and is_rebooked) as count_rebooked,
        count(*) filter (where is_pending) as count_pending,
        count(*) filter (where not is_pending and not is_rebooked) as count_not_rebooked
    from classified
    group by period, patient_key
),

per_period as (
    select
        period,
        sum(count_eligible) as count_eligible,
        sum(count_rebooked) as count_rebooked,
        sum(count_pending) as count_pending,
        sum(count_not_rebooked) as count_not_rebooked,
        count(patient_key) filter (where count_eligible > 0) as count_patients_eligible,
        count(patient_key) filter (where count_rebooked > 0) as count_patients_rebooked,
        count(patient_key) filter (where count_not_rebooked > 0) as count_patients_not_rebooked,
        count(patient_key) filter (where count_pending > 0) as count_patients_pending
    from per_patient
    group by period
),

-- A period with no sessions still has its row, of zeros.
counts as (
    select
        p.period,
        coalesce(c.count_eligible, 0)::bigint as count_eligible,
        coalesce(c.count_rebooked, 0)::bigint as count_rebooked,
        coalesce(c.count_pending, 0)::bigint as count_pending,
        coalesce(c.count_not_rebooked, 0)::bigint as count_not_rebooked,
        if($patients, coalesce(c.count_patients_eligible, 0), null) as count_patients_eligible,
        if($patients, coalesce(c.count_patients_rebooked, 0), null) as count_patients_rebooked,
        if($patients, coalesce(c.count_patients_not_rebooked, 0), null) as count_patients_not_rebooked,
        if($patients, coalesce(c.count_patients_pending, 0), null) as count_patients_pending
    from periods as p
    left join per_period as c using (period)
),

final as (
    select *, count_rebooked / nullif(count_eligible, 0) as rebooking_rate
    from counts
    order by period = 'previous'
)

select * from final
