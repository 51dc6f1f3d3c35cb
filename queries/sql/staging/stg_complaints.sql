-- stg_complaints (built as stg_complaints_rows): every record of complaints.csv
-- typed and cleaned, with the first check it fails (failed_check, null when none).
-- Each value is cleaned and typed once; the checks read the typed values.
-- queries/load.py then numbers the rows by line and rejects the second and later
-- loadable rows of a complaint_id (stg_complaints_all, SPEC §1).
with

-- Extra columns stay in raw_complaints; naming the contract's keeps them out of the way.
source as (
    select
        _line, _is_blank, _parse_error,
        complaint_id, session_id, patient_id, reported_at, category, severity, resolved_at
    from raw_complaints
),

cleaned as (
    select
        _line as source_line,
        _is_blank,
        _parse_error,
        clean_text(complaint_id) as complaint_id,
        clean_text(session_id) as session_id,
        clean_text(patient_id) as patient_id,
        clean_text(reported_at) as reported_at_text,
        clean_text(category) as category_text,
        normalise_in(category, enum_values('complaints', 'category')) as category,
        clean_text(severity) as severity_text,
        normalise_in(severity, enum_values('complaints', 'severity')) as severity,
        clean_text(resolved_at) as resolved_at_text
    from source
),

typed as (
    select
        *,
        parse_timestamp_text(reported_at_text) as reported_at,
        parse_timestamp_text(resolved_at_text) as resolved_at
    from cleaned
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_present(complaint_id, 'complaint_id'),
            check_present(patient_id, 'patient_id'),
            check_present(reported_at_text, 'reported_at'),
            check_parsed(reported_at_text, reported_at, 'not a date/time', 'reported_at'),
            check_present(category_text, 'category'),
            check_known(category_text, category, enum_values('complaints', 'category'), 'category'),
            check_known(severity_text, severity, enum_values('complaints', 'severity'), 'severity'),
            check_parsed(resolved_at_text, resolved_at, 'not a date/time', 'resolved_at')
        ) as failed_check
    from typed
),

final as (
    select
        c.source_line, c._is_blank, c.complaint_id, c.session_id, c.patient_id, c.reported_at, c.category, c.severity,
        c.resolved_at,
        c.failed_check,
        null::struct(column_name varchar, reason varchar) as warning
    from checked as c
)

select * from final
