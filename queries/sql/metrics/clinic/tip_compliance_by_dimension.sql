-- SPEC §2.5 sterile-tip compliance per month, location or practitioner ($dimension): micro-needling
-- sessions in the period with at least one needle_tip consumable, over all micro-needling sessions.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where is_micro_needling
),

final as (
    select
        session_dimension($dimension, s) as dimension_value,
        count(*) as count_micro_needling_sessions,
        count(*) filter (where s.has_needle_tip) as count_with_needle_tip,
        count(*) filter (where not s.has_needle_tip) as count_without_needle_tip,
        count(*) filter (where s.has_needle_tip) / count(*) as tip_compliance
    from sessions as s
    group by all
    order by dimension_value
)

select * from final
