-- The complaints (reported on or before as_of) following the sessions in the period that used lot $lot.
-- $max_rows (the page: the rows its table shows) keeps the first ones; count_lot_complaints counts them all.
with

lot_sessions as (
    select distinct session_id
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where lot = $lot
),

final as (
    select
        c.complaint_id,
        c.session_id,
        c.patient_id,
        c.session_date,
        c.reported_at,
        date_diff('day', c.session_date, c.reported_date) as days_after_session,
        c.category,
        c.severity,
        c.resolved_at,
        count(*) over () as count_lot_complaints
    from fct_complaints as c
    semi join lot_sessions as l using (session_id)
    where c.reported_date <= $as_of
    order by c.reported_at, c.complaint_id
    limit $max_rows
)

select * from final
