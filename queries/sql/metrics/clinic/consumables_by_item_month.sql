-- SPEC §2.5 per item and calendar month (or ISO week, $grain) of the session: quantity, cost and
-- lines without a unit cost.
with

consumables as (
    select * from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        date_trunc($grain, session_date)::date as period_start,
        item,
        sum(quantity) as quantity,
        coalesce(sum(cost), 0) as cost,
        count(*) filter (where unit_cost is null) as count_uncosted_lines
    from consumables
    group by all
    order by period_start, item
)

select * from final
