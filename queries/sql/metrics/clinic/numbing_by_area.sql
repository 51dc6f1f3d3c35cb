-- Numbing (category `numbing`) per body area, over sessions in the period: how many sessions used
-- any, the amount per session that used it, per unit as recorded (ml or g: they do not add up).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- The period's cells (whole months summed at load: consumable_cells_in_period).
numbing as (
    select * from consumable_cells_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns, null)
    where category = 'numbing'
),

area_sessions as (
    select body_area, count(*) as count_sessions from sessions group by body_area
),

per_area_unit as (
    select
        body_area,
        unit,
        sum(count_category_unit_sessions)::bigint as count_sessions_with_numbing,
        fsum(quantity) as quantity  -- fsum: see consumable_line_cells
    from numbing
    group by all
),

final as (
    select
        n.body_area,
        n.unit,
        a.count_sessions,
        n.count_sessions_with_numbing,
        n.count_sessions_with_numbing / a.count_sessions as share_of_sessions,
        n.quantity,
        n.quantity / n.count_sessions_with_numbing as quantity_per_session
    from per_area_unit as n
    join area_sessions as a using (body_area)
    order by n.unit, quantity_per_session desc, n.body_area
)

select * from final
