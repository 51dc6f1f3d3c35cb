-- SPEC §2.5 over sessions performed in the period (on or before as_of): consumable
-- cost (quantity x unit cost) in total and per session, and sterile-tip
-- compliance: micro-needling sessions with a needle_tip item / all micro-needling sessions.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions.
-- $patients false (no small-cell rule to apply): every session falls in one group, so the same totals
-- without hashing patient ids, and the patient counts come back null.
per_patient as (
    select
        if($patients, patient_key, null) as patient_key,
        count(*) as count_sessions,
        sum(consumable_cost) as cost_total,
        sum(count_uncosted_lines) as count_uncosted_lines,
        count(*) filter (where is_micro_needling) as count_micro_needling_sessions,
        count(*) filter (where is_micro_needling and has_needle_tip) as count_with_needle_tip,
        count(*) filter (where is_micro_needling and not has_needle_tip) as count_without_needle_tip
    from sessions
    group by all
),

final as (
    select
        coalesce(sum(count_sessions), 0)::bigint as count_sessions,
        coalesce(sum(cost_total), 0) as cost_total,
        coalesce(sum(cost_total), 0) / nullif(sum(count_sessions), 0) as cost_per_session,
        coalesce(sum(count_uncosted_lines), 0)::bigint as count_uncosted_lines,
        coalesce(sum(count_micro_needling_sessions), 0)::bigint as count_micro_needling_sessions,
        coalesce(sum(count_with_needle_tip), 0)::bigint as count_with_needle_tip,
        coalesce(sum(count_without_needle_tip), 0)::bigint as count_without_needle_tip,
        if($patients, count(patient_key), null) as count_patients,
        if($patients, count(patient_key) filter (where count_uncosted_lines > 0), null) as count_patients_uncosted,
        if($patients, count(patient_key) filter (where count_micro_needling_sessions > 0), null) as count_patients_micro_needling,
        if($patients, count(patient_key) filter (where count_with_needle_tip > 0), null) as count_patients_with_needle_tip,
        if($patients, count(patient_key) filter (where count_without_needle_tip > 0), null) as count_patients_without_needle_tip,
        sum(count_with_needle_tip) / nullif(sum(count_micro_needling_sessions), 0) as tip_compliance
    from per_patient
)

select * from final
