-- Explore › a patient's history: every booking, session, consumable line and complaint of one
-- patient, as known on as_of (bookings made, sessions performed and complaints reported on or
-- before it; a booking made by then for a later day shows as upcoming). The period and the sidebar
-- filters do not apply: this is the whole story of the patient selected.
with

bookings as (
    select
        'booking' as kind,
        appointment_at as event_at,
        booking_id as record_id,
        treatment as what,
        case when appointment_date > $as_of and status = 'scheduled' then 'upcoming' else status end as detail,
        location,
        practitioner,
        cast(null as double) as amount,
        source_line
    from fct_bookings
    where patient_id = $patient_id
      and booked_date <= $as_of
),

patient_sessions as (
    select * from fct_sessions
    where patient_id = $patient_id
      and session_date <= $as_of
),

sessions as (
    select
        'session' as kind,
        performed_at as event_at,
        session_id as record_id,
        treatment as what,
        body_area,
        case when needle_depth_mm is not null then needle_depth_mm::decimal(4, 2) || ' mm' end as detail,
        location,
        practitioner,
        price as amount,
        source_line
    from patient_sessions
),

consumables as (
    select
        'consumable' as kind,
        s.performed_at as event_at,
        c.session_id as record_id,
        c.item as what,
        s.body_area,
        c.quantity || ' ' || c.unit || coalesce(' · lot ' || c.lot, '') as detail,
        c.location,
        c.practitioner,
        c.cost as amount,
        c.source_line
    from fct_consumables as c
    join patient_sessions as s using (session_id)
),

complaints as (
    select
        'complaint' as kind,
        reported_at as event_at,
        complaint_id as record_id,
        category as what,
        body_area,
        concat_ws(' · ', severity,
                  case when resolved_at::date <= $as_of then 'resolved ' || strftime(resolved_at, '%Y-%m-%d') else 'open' end)
            as detail,
        location,
        practitioner,
        cast(null as double) as amount,
        source_line
    from fct_complaints
    where patient_id = $patient_id
      and reported_date <= $as_of
),

events as (
    select * from bookings
    union all by name select * from sessions
    union all by name select * from consumables
    union all by name select * from complaints
),

final as (
    select kind, event_at, record_id, what, body_area, detail, location, practitioner, amount
    from events
    order by event_at,
             case kind when 'booking' then 1 when 'session' then 2 when 'consumable' then 3 else 4 end,
             record_id, source_line
)

select * from final
