-- SPEC §2.5 / §2.11 per item (trimmed), over sessions performed in the period: total quantity,
-- total cost (lines without a unit cost add nothing and are counted as uncosted) and the number of
-- distinct sessions using it. Our choice: an item recorded under two categories or units stays one
-- item (units listed; category the most common).
with

consumables as (
    select * from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        item,
        mode(category) as category,
        string_agg(distinct unit, ', ' order by unit) as unit,
        sum(quantity) as quantity,
        coalesce(sum(cost), 0) as cost,
        count(*) filter (where unit_cost is null) as count_uncosted_lines,
        count(*) filter (where is_first_of_item_in_session) as count_sessions,
        count(distinct lot) as count_lots
    from consumables
    group by item
    order by cost desc, item
)

select * from final
