-- Per calendar month of the session: sessions, revenue, patients and the
-- complaints following those sessions (SPEC §2.4: month of the session).
with

sessions as (
    select * from filtered_sessions($locations, $practitioners, $treatments, $body_areas, $concerns)
    where session_date between $start and $end
      and session_date <= $as_of
),

final as (
    select
        session_month as month,
        count(*) as count_sessions,
        coalesce(sum(price), 0) as revenue,
        count(distinct patient_id) as count_patients,
        sum(count_complaints)::bigint as count_complaints,
        100.0 * sum(count_complaints) / count(*) as complaints_per_100_sessions
    from sessions
    group by session_month
    order by month
)

select * from final
