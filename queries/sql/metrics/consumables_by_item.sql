-- SPEC §2.5 per item: quantity used and cost, over sessions performed in the period.
-- Lines without a unit cost are not in `cost`; count_uncosted_lines says how many.
with

consumables as (
    select * from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        item,
        category,
        unit,
        sum(quantity) as quantity,
        coalesce(sum(cost), 0) as cost,
        count(*) filter (where unit_cost is null) as count_uncosted_lines,
        count(distinct session_id) as count_sessions,
        count(distinct lot) as count_lots
    from consumables
    group by all
    order by cost desc, item
)

select * from final
