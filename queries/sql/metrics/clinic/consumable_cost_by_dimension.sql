-- SPEC §2.5 cost per session per treatment, body area, location, practitioner or concern
-- ($dimension): consumable cost over all sessions of the group in the period (as the Overview's
-- cost per session divides by all sessions, with or without consumables recorded).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        session_dimension($dimension, s) as dimension_value,
        count(*) as count_sessions,
        sum(s.consumable_cost) as cost,
        sum(s.consumable_cost) / count(*) as cost_per_session,
        sum(s.count_uncosted_lines)::bigint as count_uncosted_lines
    from sessions as s
    group by all
    order by cost_per_session desc, dimension_value
)

select * from final
