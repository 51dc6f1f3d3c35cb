-- SPEC §2.5 over sessions performed in the period (on or before as_of): consumable
-- cost (quantity x unit cost) in total and per session, and sterile-tip
-- compliance: micro-needling sessions with a needle_tip item / all micro-needling sessions.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        count(*) as count_sessions,
        coalesce(sum(consumable_cost), 0) as cost_total,
        coalesce(sum(consumable_cost), 0) / nullif(count(*), 0) as cost_per_session,
        coalesce(sum(count_uncosted_lines), 0)::bigint as count_uncosted_lines,
        count(*) filter (where is_micro_needling) as count_micro_needling_sessions,
        count(*) filter (where is_micro_needling and has_needle_tip) as count_with_needle_tip,
        count(*) filter (where is_micro_needling and not has_needle_tip) as count_without_needle_tip,
        count(distinct patient_id) as count_patients,
        count(distinct patient_id) filter (where count_uncosted_lines > 0) as count_patients_uncosted,
        count(distinct patient_id) filter (where is_micro_needling) as count_patients_micro_needling,
        count(distinct patient_id) filter (where is_micro_needling and has_needle_tip)
            as count_patients_with_needle_tip,
        count(distinct patient_id) filter (where is_micro_needling and not has_needle_tip)
            as count_patients_without_needle_tip,
        count(*) filter (where is_micro_needling and has_needle_tip)
            / nullif(count(*) filter (where is_micro_needling), 0) as tip_compliance
    from sessions
)

select * from final
