-- The micro-needling sessions in the period with no needle_tip consumable recorded (SPEC §2.5):
-- the gap in sterile-tip compliance, one row per session to follow up. $max_rows (the page: the rows
-- its table shows) keeps the first ones; count_sessions_missing_tip counts them all.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where is_micro_needling and not has_needle_tip
),

final as (
    select
        session_id,
        patient_id,
        performed_at,
        location,
        practitioner,
        treatment,
        body_area,
        count_consumable_lines,
        count(*) over () as count_sessions_missing_tip
    from sessions
    order by performed_at desc, session_id
    limit $max_rows
)

select * from final
