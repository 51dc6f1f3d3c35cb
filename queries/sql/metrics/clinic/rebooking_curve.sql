-- Cumulative six-month rebooking by day after the session (Kaplan-Meier), per group of $dimension
-- ('all' for one curve; $groups picks values, null for all). A session is followed until its
-- window closes or until as_of, whichever comes first: a session performed 30 days before as_of
-- counts for days 0-30 only (censored), so recent sessions do not drag the curve down.
-- Rebooked on day t: the patient's next live appointment (SPEC §2.3) is t days after the
-- session, within the window and on or before as_of. Days run 0-184, the longest 6-month window.
-- With every window closed the last value is close to rebooked / eligible, and equal to it unless a
-- rebooking falls after the shortest window (181 days) has closed: then fewer sessions are followed.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

grouped as (
    select
        session_dimension($dimension, s) as group_value,
        s.session_date,
        least(s.rebook_window_ends_on, $as_of) as observed_until,
        s.next_appointment_date
    from sessions as s
    where $groups is null or list_contains($groups, session_dimension($dimension, s))
),

durations as (
    select
        group_value,
        case when next_appointment_date <= observed_until
             then date_diff('day', session_date, next_appointment_date)
             else date_diff('day', session_date, observed_until) end as days_followed,
        coalesce(next_appointment_date <= observed_until, false) as is_rebooked
    from grouped
),

per_day as (
    select group_value, days_followed as day, count(*) as count_ending, count(*) filter (where is_rebooked) as count_rebooked
    from durations
    group by all
),

grid as (
    select g.group_value, d.day
    from (select distinct group_value from durations) as g
    cross join (select unnest(range(0, 185)) as day) as d
),

at_risk as (
    select
        grid.group_value,
        grid.day,
        -- Followed at least this many days: still in the window and not yet rebooked before it.
        coalesce(sum(p.count_ending) over (partition by grid.group_value order by grid.day desc), 0)::bigint
            as count_at_risk,
        coalesce(p.count_rebooked, 0) as count_rebooked_on_day
    from grid
    left join per_day as p on p.group_value = grid.group_value and p.day = grid.day
),

survival as (
    select
        *,
        product(case when count_at_risk > 0 then 1 - count_rebooked_on_day / count_at_risk else 1 end)
            over (partition by group_value order by day rows between unbounded preceding and current row)
            as share_not_rebooked
    from at_risk
),

final as (
    select
        group_value,
        day,
        count_at_risk,
        count_rebooked_on_day,
        -- Nothing is known past the last day any session of the group was followed.
        case when count_at_risk > 0 then 1 - share_not_rebooked end as cumulative_rebooking_rate,
        (sum(count_rebooked_on_day) over (partition by group_value))::bigint as count_rebooked,
        max(count_at_risk) over (partition by group_value) as count_sessions
    from survival
    order by group_value, day
)

select * from final
