-- SPEC §2.9 complaint control chart (u-chart) per month of session date in the period: n sessions,
-- c complaints linked to them and reported on or before as_of (2.4), the centre u = Σc / Σn over
-- the chart's months, and per month UCL = u + 3·sqrt(u / n), LCL = max(0, u − 3·sqrt(u / n)).
-- A month signals when c / n > UCL. Shown per 100 sessions. A month ending fewer than 14 days
-- before as_of is still collecting complaints.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

monthly as (
    select
        s.session_month as month,
        count(*) as count_sessions,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints
    from sessions as s
    left join complaints as c using (session_id)
    group by s.session_month
),

centre as (
    select sum(count_complaints) / sum(count_sessions) as u from monthly
),

limits as (
    select
        m.*,
        centre.u,
        centre.u + 3 * sqrt(centre.u / m.count_sessions) as upper_limit,
        greatest(0, centre.u - 3 * sqrt(centre.u / m.count_sessions)) as lower_limit
    from monthly as m
    cross join centre
),

final as (
    select
        month,
        count_sessions,
        count_complaints,
        100.0 * count_complaints / count_sessions as complaints_per_100,
        100.0 * u as centre_per_100,
        100.0 * upper_limit as upper_limit_per_100,
        100.0 * lower_limit as lower_limit_per_100,
        count_complaints / count_sessions > upper_limit as is_signal,
        date_diff('day', last_day(month), $as_of) < 14 as is_collecting
    from limits
    order by month
)

select * from final
