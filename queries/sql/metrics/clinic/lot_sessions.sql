-- The sessions in the period that used lot $lot (any item), with the complaints that followed each
-- (reported on or before as_of): the list a clinic works through after a bad batch. $max_rows (the
-- page: the rows its table shows) keeps the first ones; count_lot_sessions counts them all. At 10M
-- sessions a lot's list was 176,038 rows: all of them took 0.60-0.65 s, the first 1,000 0.38-0.39 s.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- joined_distinct: string_agg(distinct ...) was planned as an aggregate and a join of its own (at 10M
-- sessions 360 -> 315 ms for the whole query).
lot_lines as (
    select session_id, joined_distinct(list(item)) as items
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
        coalesce(c.count_complaints, 0) as count_complaints,
        count(*) over () as count_lot_sessions
    from lot_lines as l
    join sessions as s using (session_id)
    left join complaints as c using (session_id)
    order by s.performed_at, s.session_id
    limit $max_rows
)

select * from final
