-- The sessions in the period that used lot $lot (any item), with the complaints that followed each
-- (reported on or before as_of): the list a clinic works through after a bad batch.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

lot_lines as (
    select session_id, string_agg(distinct item, ', ' order by item) as items
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where lot = $lot
    group by session_id
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        s.session_id,
        s.patient_id,
        s.performed_at,
        s.location,
        s.practitioner,
        s.treatment,
        s.body_area,
        l.items,
        coalesce(c.count_complaints, 0) as count_complaints
    from lot_lines as l
    join sessions as s using (session_id)
    left join complaints as c using (session_id)
    order by s.performed_at, s.session_id
)

select * from final
