-- Per export: read / loaded / rejected, and the dates each covers.
with

files as (select * from load_files),

spans as (
    select 'bookings' as entity, min(booked_date) as first_date, max(appointment_date) as last_date from fct_bookings
    union all select 'sessions', min(session_date), max(session_date) from fct_sessions
    union all select 'consumables', min(session_date), max(session_date) from fct_consumables
    union all select 'complaints', min(reported_date), max(reported_date) from fct_complaints
),

final as (
    select f.*, s.first_date, s.last_date
    from files as f
    left join spans as s using (entity)
    join load_sources as o using (entity)
    order by o.file_order  -- bookings, sessions, consumables, complaints, as the contract lists them
)

select * from final
