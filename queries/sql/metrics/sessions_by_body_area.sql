-- SPEC §2.1: sessions performed in the period (and on or before as_of), per body area.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select body_area, count(*) as count_sessions
    from sessions
    group by body_area
    order by count_sessions desc, body_area
)

select * from final
