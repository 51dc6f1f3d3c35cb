-- SPEC §2.3 / §2.7: eligible, rebooked and pending sessions and the rate, per body area,
-- treatment, location, practitioner, concern or patient type ($dimension; patient_type is
-- first_visit for a session on the patient's first day in the export, else returning).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

classified as (
    select session_dimension($dimension, s) as dimension_value, s.rebook_window_ends_on > $as_of as is_pending,
           s.is_rebooked
    from sessions as s
),

counts as (
    select
        dimension_value,
        count(*) filter (where not is_pending) as count_eligible,
        count(*) filter (where not is_pending and is_rebooked) as count_rebooked,
        count(*) filter (where is_pending) as count_pending
    from classified
    group by dimension_value
),

final as (
    select *, count_rebooked / nullif(count_eligible, 0) as rebooking_rate
    from counts
    order by count_eligible + count_pending desc, dimension_value
)

select * from final
