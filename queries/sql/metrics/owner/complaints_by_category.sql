-- Complaints per category. Linked complaints count by their session's day,
-- complaints with no known session by the day they were reported (SPEC §2.4:
-- they count in category totals, not in rates). Either way a complaint
-- reported after as_of is not counted yet.
with

in_period as (
    select * from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        category,
        count(*) as count_complaints,
        count(*) filter (where has_session) as count_with_session,
        count(*) filter (where not has_session) as count_without_session
    from in_period
    group by category
    order by count_complaints desc, category
)

select * from final
