-- Micro-needling depth per body area: how deep the practice needles each area (0.1-3.0 mm),
-- over micro-needling sessions in the period that have a depth recorded.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where is_micro_needling
),

final as (
    select
        body_area,
        count(needle_depth_mm) as count_sessions,
        count(*) - count(needle_depth_mm) as count_without_depth,
        min(needle_depth_mm) as depth_min_mm,
        quantile_cont(needle_depth_mm, 0.25) as depth_q1_mm,
        median(needle_depth_mm) as depth_median_mm,
        quantile_cont(needle_depth_mm, 0.75) as depth_q3_mm,
        max(needle_depth_mm) as depth_max_mm,
        avg(needle_depth_mm) as depth_mean_mm
    from sessions
    group by body_area
    order by depth_median_mm desc nulls last, body_area
)

select * from final
