-- SPEC §2.1 by month: sessions per body area per calendar month of performed_at.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select session_month as month, body_area, count(*) as count_sessions
    from sessions
    group by all
    order by month, body_area
)

select * from final
