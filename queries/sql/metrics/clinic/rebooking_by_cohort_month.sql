-- SPEC §2.3 per cohort month (the calendar month of the session), over sessions performed in the
-- period. window_status: 'closed' when every window has closed by as_of, 'open' when none has
-- (no rate yet: pending, never zero), 'closing' when some have.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

classified as (
    select session_month, rebook_window_ends_on > $as_of as is_pending, is_rebooked
    from sessions
),

counts as (
    select
        session_month as month,
        count(*) as count_sessions,
        count(*) filter (where not is_pending) as count_eligible,
        count(*) filter (where not is_pending and is_rebooked) as count_rebooked,
        count(*) filter (where is_pending) as count_pending
    from classified
    group by session_month
),

final as (
    select
        *,
        count_rebooked / nullif(count_eligible, 0) as rebooking_rate,
        case when count_pending = 0 then 'closed' when count_eligible = 0 then 'open' else 'closing' end
            as window_status
    from counts
    order by month
)

select * from final
