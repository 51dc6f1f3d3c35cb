-- stg_complaints: every row of complaints.csv typed and cleaned, with the
-- first reason it cannot be loaded (null when it can).
with

-- Extra columns stay in raw_complaints; naming the contract's keeps them out of the way.
source as (
    select
        _line, _parse_error,
        complaint_id, session_id, patient_id, reported_at, category, severity, resolved_at
    from raw_complaints
),

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
    select *, first_loadable_line(complaint_id, source_line, failed_check) as first_line_of_id
    from typed
),

final as (
    select
        * exclude (failed_check, first_line_of_id),
        coalesce(failed_check, check_duplicate(source_line, first_line_of_id, 'complaint_id')) as rejected,
        null::struct(column_name varchar, reason varchar) as warning
    from deduplicated
)

select * from final
