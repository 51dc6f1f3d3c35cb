-- SPEC §2.1 per body area and treatment, location or practitioner ($dimension).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select s.body_area, session_dimension($dimension, s) as dimension_value, count(*) as count_sessions
    from sessions as s
    group by all
    order by s.body_area, count_sessions desc, dimension_value
)

select * from final
