-- Sessions and revenue per treatment, location, practitioner, body area or
-- concern ($dimension), over sessions performed in the period.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

labelled as (
    select session_dimension($dimension, s) as dimension_value, price
    from sessions as s
),

final as (
    select
        dimension_value,
        count(*) as count_sessions,
        coalesce(sum(price), 0) as revenue
    from labelled
    group by all
    order by count_sessions desc, dimension_value
)

select * from final
