-- Explore › Sessions: one row per session performed in the period and on or before as_of, the
-- sidebar filters applied as on every page (sessions_in_period), with the complaints about it
-- reported on or before as_of.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        s.session_id,
        s.performed_at,
        s.patient_id,
        s.treatment,
        s.body_area,
        s.needle_depth_mm,
        s.duration_min,
        s.practitioner,
        s.location,
        s.price,
        s.concern,
        s.patient_type,
        s.count_consumable_lines,
        s.consumable_cost,
        s.has_needle_tip,
        coalesce(c.count_complaints, 0) as count_complaints,
        s.booking_id
    from sessions as s
    left join complaints as c using (session_id)
)

select * from final
