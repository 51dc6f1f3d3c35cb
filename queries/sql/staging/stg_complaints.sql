-- stg_complaints: every row of complaints.csv typed and cleaned, with the
-- first reason it cannot be loaded (null when it can).
with

source as (select * from raw_complaints),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_required(complaint_id, 'complaint_id'),
            check_required(patient_id, 'patient_id'),
            check_required(reported_at, 'reported_at'),
            check_timestamp(reported_at, 'reported_at'),
            check_required(category, 'category'),
            check_enum(category, 'category', enum_values('complaints', 'category')),
            check_enum(severity, 'severity', enum_values('complaints', 'severity')),
            check_timestamp(resolved_at, 'resolved_at')
        ) as failed_check
    from source
),

typed as (
    select
        _line as source_line,
        clean_text(complaint_id) as complaint_id,
        clean_text(session_id) as session_id,
        clean_text(patient_id) as patient_id,
        parse_timestamp(reported_at) as reported_at,
        normalise(category) as category,
        normalise(severity) as severity,
        parse_timestamp(resolved_at) as resolved_at,
        failed_check
    from checked
),

deduplicated as (
    select
        *,
        min(source_line) filter (where failed_check is null)
            over (partition by complaint_id) as first_line_of_id
    from typed
),

final as (
    select
        * exclude (failed_check, first_line_of_id),
        coalesce(
            failed_check,
            case when source_line > first_line_of_id
                then failed('complaint_id', 'duplicate complaint_id, first on line ' || first_line_of_id)
            end
        ) as rejected,
        null::struct(column_name varchar, reason varchar) as warning
    from deduplicated
)

select * from final
