-- Complaints per category and severity, counted as complaints_by_category counts them (linked
-- complaints by their session's day, the rest by the day reported; reported on or before as_of).
-- A complaint without a severity reads 'not_recorded'.
with

in_period as (
    select * from complaints_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select category, coalesce(severity, 'not_recorded') as severity, count(*) as count_complaints
    from in_period
    group by all
    order by category, severity
)

select * from final
