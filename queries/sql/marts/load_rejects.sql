-- load_rejects: every row that was not loaded, where it is and why.
with

rejected as (
    select 'bookings' as entity, source_line, rejected from stg_bookings_all where rejected is not null
    union all select 'sessions', source_line, rejected from stg_sessions_all where rejected is not null
    union all select 'consumables', source_line, rejected from stg_consumables_all where rejected is not null
    union all select 'complaints', source_line, rejected from stg_complaints_all where rejected is not null
),

final as (
    select
        f.file_name,
        r.source_line as line,
        r.rejected.column_name as column_name,
        r.rejected.reason as reason
    from rejected as r
    join load_sources as f using (entity)
    order by f.file_name, r.source_line
)

select * from final
