-- load_warnings: rows loaded with a value read as `other` (SPEC §1 unknown enums).
with

warned as (
    select 'bookings' as entity, source_line, warning from stg_bookings_all
    where warning is not null and rejected is null
    union all
    select 'consumables', source_line, warning from stg_consumables_all
    where warning is not null and rejected is null
),

final as (
    select
        f.file_name,
        w.source_line as line,
        w.warning.column_name as column_name,
        w.warning.reason as reason
    from warned as w
    join load_sources as f using (entity)
    order by f.file_name, w.source_line
)

select * from final
