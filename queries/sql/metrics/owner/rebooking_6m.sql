-- SPEC §2.3 six-month rebooking, over sessions performed in the period.
-- Eligible: the window (session day + 6 calendar months) closed on or before as_of.
-- Pending: still open at as_of; never counted as not rebooked.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

classified as (
    select
        rebook_window_ends_on > $as_of as is_pending,
        is_rebooked
    from sessions
),

counts as (
    select
        count(*) filter (where not is_pending) as count_eligible,
        count(*) filter (where not is_pending and is_rebooked) as count_rebooked,
        count(*) filter (where is_pending) as count_pending
    from classified
),

final as (
    select *, count_rebooked / nullif(count_eligible, 0) as rebooking_rate
    from counts
)

select * from final
