-- Open and resolved complaints per category as they stood on as_of (resolved on or before it),
-- and the days taken to resolve. Counted as complaints_by_category counts them.
with

in_period as (
    select *, resolved_at is not null and resolved_at::date <= $as_of as is_resolved
    from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        category,
        count(*) as count_complaints,
        count(*) filter (where not is_resolved) as count_open,
        count(*) filter (where is_resolved) as count_resolved,
        median(date_diff('day', reported_at::date, resolved_at::date)) filter (where is_resolved)
            as median_days_to_resolve,
        max(date_diff('day', reported_at::date, resolved_at::date)) filter (where is_resolved)
            as max_days_to_resolve
    from in_period
    group by category
    order by count_complaints desc, category
)

select * from final
