-- The complaints (reported on or before as_of) following the sessions in the period that used lot $lot.
-- $max_rows (the page: the rows its table shows) keeps the first ones; count_lot_complaints counts them all.
-- A complaint carries its session's lots (fct_complaints.session_lots) and columns, so the period and the
-- list filters select it as they select its session's lines: no line is read.
with

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
    from filtered_complaints($locations, $practitioners, $treatments, $body_areas, $concerns) as c
    where c.session_date between $start and $end
      and c.session_date <= $as_of
      and c.reported_date <= $as_of
      and list_contains(c.session_lots, $lot)
    order by c.reported_at, c.complaint_id
    limit $max_rows
)

select * from final
