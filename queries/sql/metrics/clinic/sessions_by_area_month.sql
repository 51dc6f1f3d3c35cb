-- SPEC §2.1 over time: sessions per body area per calendar month (or ISO week, $grain) of performed_at.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select date_trunc($grain, session_date)::date as period_start, body_area, count(*) as count_sessions
    from sessions
    group by all
    order by period_start, body_area
)

select * from final
