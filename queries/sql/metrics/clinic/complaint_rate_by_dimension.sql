-- SPEC §2.4 per needle-depth band, body area, practitioner, treatment, location or concern
-- ($dimension): sessions performed in the period, complaints following them (reported on or
-- before as_of) and complaints per 100 sessions. Depth bands: ≤ 0.5, 0.5–1.0, 1.0–1.5, 1.5–2.0,
-- > 2.0 mm, each upper edge inside its band. By depth band only micro-needling sessions count (a
-- peel has no needle depth); those without a depth recorded read '(not recorded)'.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where $dimension <> 'depth_band' or is_micro_needling
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        session_dimension($dimension, s) as dimension_value,
        count(*) as count_sessions,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints,
        100.0 * coalesce(sum(c.count_complaints), 0) / count(*) as complaints_per_100_sessions
    from sessions as s
    left join complaints as c using (session_id)
    group by all
    -- Depth bands shallow to deep; anything else by name.
    order by case when $dimension = 'depth_band' then min(s.needle_depth_mm) end nulls last, dimension_value
)

select * from final
