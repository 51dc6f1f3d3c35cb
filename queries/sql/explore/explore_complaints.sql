-- Explore › Complaints: the complaints the complaint pages count in the period (SPEC §2.4): a linked
-- one by its session's day, one with no known session by the day it was reported; reported on or
-- before as_of either way. A resolution after as_of was not known yet: it shows as open.
with

complaints as (
    select * from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        complaint_id,
        reported_at,
        patient_id,
        session_id,
        session_date,
        date_diff('day', session_date, reported_date) as days_after_session,
        category,
        severity,
        case when resolved_at::date <= $as_of then resolved_at end as resolved_at,
        case when resolved_at::date <= $as_of then days_to_resolve end as days_to_resolve,
        treatment,
        body_area,
        needle_depth_mm,
        location,
        practitioner
    from complaints
)

select * from final
