-- SPEC §2.1: sessions performed in the period (and on or before as_of), per body area, with each
-- area's share of the period's sessions and its count in the comparison period
-- [$previous_start, $previous_end] (null when there is none: "All dates").
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

previous_sessions as (
    select * from sessions_in_period($previous_start, $previous_end, $as_of,
                                     $locations, $practitioners, $treatments, $body_areas, $concerns)
    where $previous_start is not null
),

current_counts as (
    select body_area, count(*) as count_sessions from sessions group by body_area
),

previous_counts as (
    select body_area, count(*) as count_sessions_previous from previous_sessions group by body_area
),

-- An area treated only in the comparison period stays in the list with 0 sessions now.
final as (
    select
        body_area,
        coalesce(c.count_sessions, 0) as count_sessions,
        coalesce(c.count_sessions, 0) / sum(c.count_sessions) over () as share_of_sessions,
        -- Null when there is no comparison period; 0 when the area had no sessions in it.
        case when $previous_start is not null then coalesce(p.count_sessions_previous, 0) end
            as count_sessions_previous,
        -- Spelled out: `count_sessions_previous` alone would name p's column (null where the area had none).
        coalesce(c.count_sessions, 0)
            - case when $previous_start is not null then coalesce(p.count_sessions_previous, 0) end
            as change_in_sessions
    from current_counts as c
    full join previous_counts as p using (body_area)
    order by count_sessions desc, body_area
)

select * from final
