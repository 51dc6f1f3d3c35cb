-- Complaints per calendar month they were reported, per category: the
-- "when did the phone ring" view, separate from the rate by session month.
with

complaints as (
    select * from filtered_complaints($locations, $practitioners, $treatments, $body_areas, $concerns)
    where reported_date between $start and $end
      and reported_date <= $as_of
),

final as (
    select reported_month as month, category, count(*) as count_complaints
    from complaints
    group by all
    order by month, category
)

select * from final
