-- load_files: per export, rows read, loaded and rejected (read = loaded + rejected).
with

checked as (
    select 'bookings' as entity, rejected from stg_bookings_all
    union all select 'sessions', rejected from stg_sessions_all
    union all select 'consumables', rejected from stg_consumables_all
    union all select 'complaints', rejected from stg_complaints_all
),

counts as (
    select
        entity,
        count(*) as count_read,
        count(*) filter (where rejected is null) as count_loaded,
        count(*) filter (where rejected is not null) as count_rejected
    from checked
    group by entity
),

final as (
    select
        s.entity,
        s.file_name,
        s.is_present,
        coalesce(c.count_read, 0) as count_read,
        coalesce(c.count_loaded, 0) as count_loaded,
        coalesce(c.count_rejected, 0) as count_rejected
    from load_sources as s
    left join counts as c using (entity)
)

select * from final
