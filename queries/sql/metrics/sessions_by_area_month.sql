-- SPEC §2.1 by month: sessions per body area per calendar month of performed_at.
with

sessions as (
    select * from filtered_sessions($locations, $practitioners, $treatments, $body_areas, $concerns)
    where session_date between $start and $end
      and session_date <= $as_of
),

final as (
    select session_month as month, body_area, count(*) as count_sessions
    from sessions
    group by all
    order by month, body_area
)

select * from final
