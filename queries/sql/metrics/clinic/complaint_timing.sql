-- Days from session to complaint, per category, for complaints linked to sessions performed in the
-- period and reported on or before as_of. Normal healing is 2-4 days of redness, so any complaint
-- reported after day 4 is past it (is_after_normal_healing); for redness, that is what makes it prolonged.
with

complaints as (
    select * from filtered_complaints($locations, $practitioners, $treatments, $body_areas, $concerns)
    where has_session
      and session_date between $start and $end
      and session_date <= $as_of
      and reported_date <= $as_of
),

final as (
    select
        category,
        date_diff('day', session_date, reported_date) as days_after_session,
        date_diff('day', session_date, reported_date) > 4 as is_after_normal_healing,
        count(*) as count_complaints
    from complaints
    group by all
    order by category, days_after_session
)

select * from final
