-- The sessions in the period that used lot $lot (any item), with the complaints that followed each
-- (reported on or before as_of): the list a clinic works through after a bad batch. $max_rows (the
-- page: the rows its table shows) keeps the first ones; count_lot_sessions counts them all. At 10M
-- sessions a lot had 176,038 sessions: all of them took 0.60-0.65 s, the first 1,000 0.38-0.39 s.
with

-- The lot's lines carry their session's columns: grouped by session, no join to fct_sessions.
lot_sessions as (
    select
        session_id,
        any_value(patient_id) as patient_id,
        any_value(performed_at) as performed_at,
        any_value(location) as location,
        any_value(practitioner) as practitioner,
        any_value(treatment) as treatment,
        any_value(body_area) as body_area,
        joined_distinct(list(item)) as items
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where lot = $lot
    group by session_id
),

complaints as (select * from session_complaints($as_of)),

final as (
    select
        l.* exclude (items),
        l.items,
        coalesce(c.count_complaints, 0) as count_complaints,
        count(*) over () as count_lot_sessions
    from lot_sessions as l
    left join complaints as c using (session_id)
    order by l.performed_at, l.session_id
    limit $max_rows
)

select * from final
