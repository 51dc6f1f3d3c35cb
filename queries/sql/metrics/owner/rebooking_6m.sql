-- SPEC §2.3 six-month rebooking, over sessions performed in the period.
-- Eligible: the window (session day + 6 calendar months) closed on or before as_of.
-- Pending: still open at as_of; never counted as not rebooked.
-- count_patients_*: the distinct patients behind each count (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

classified as (
    select
        patient_id,
        rebook_window_ends_on > $as_of as is_pending,
        is_rebooked
    from sessions
),

counts as (
    select
        count(*) filter (where not is_pending) as count_eligible,
        count(*) filter (where not is_pending and is_rebooked) as count_rebooked,
        count(*) filter (where is_pending) as count_pending,
        count(*) filter (where not is_pending and not is_rebooked) as count_not_rebooked,
        count(distinct patient_id) filter (where not is_pending) as count_patients_eligible,
        count(distinct patient_id) filter (where not is_pending and is_rebooked) as count_patients_rebooked,
        count(distinct patient_id) filter (where not is_pending and not is_rebooked) as count_patients_not_rebooked,
        count(distinct patient_id) filter (where is_pending) as count_patients_pending
    from classified
),

final as (
    select *, count_rebooked / nullif(count_eligible, 0) as rebooking_rate
    from counts
)

select * from final
