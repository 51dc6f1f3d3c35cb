-- SPEC §2.5 over sessions performed in the period (on or before as_of): consumable
-- cost (quantity x unit cost) in total and per session, and sterile-tip
-- compliance: micro-needling sessions with a needle_tip item / all micro-needling sessions.
-- count_patients*: the distinct patients behind the counts (SPEC 2.14, queries/privacy.py).
-- One row per period: 'current', and 'previous' when $previous_start/$previous_end are given.
with

periods as (select * from overview_periods($start, $end, $previous_start, $previous_end)),

sessions as (
    select * from sessions_in_periods($start, $end, $previous_start, $previous_end, $as_of,
                                      $locations, $practitioners, $treatments, $body_areas, $concerns)
),

-- Per patient first, then over patients: one aggregate instead of a count(distinct) per column
-- (a hash table of patient ids each), several times faster at a million sessions.
-- $patients false (no small-cell rule to apply): every session falls in one group, so the same totals
-- without hashing patient ids, and the patient counts come back null.
per_patient as (
    select
        period,
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

per_period as (
    select
        period,
        sum(count_sessions) as count_sessions,
        sum(cost_total) as cost_total,
        sum(count_uncosted_lines) as count_uncosted_lines,
        sum(count_micro_needling_sessions) as count_micro_needling_sessions,
        sum(count_with_needle_tip) as count_with_needle_tip,
        sum(count_without_needle_tip) as count_without_needle_tip,
        count(patient_key) as count_patients,
        count(patient_key) filter (where count_uncosted_lines > 0) as count_patients_uncosted,
        count(patient_key) filter (where count_micro_needling_sessions > 0) as count_patients_micro_needling,
        count(patient_key) filter (where count_with_needle_tip > 0) as count_patients_with_needle_tip,
        count(patient_key) filter (where count_without_needle_tip > 0) as count_patients_without_needle_tip
    from per_patient
    group by period
),

-- A period with no sessions still has its row, of zeros (the ratios null).
final as (
    select
        p.period,
        coalesce(c.count_sessions, 0)::bigint as count_sessions,
        coalesce(c.cost_total, 0) as cost_total,
        coalesce(c.cost_total, 0) / nullif(c.count_sessions, 0) as cost_per_session,
        coalesce(c.count_uncosted_lines, 0)::bigint as count_uncosted_lines,
        coalesce(c.count_micro_needling_sessions, 0)::bigint as count_micro_needling_sessions,
        coalesce(c.count_with_needle_tip, 0)::bigint as count_with_needle_tip,
        coalesce(c.count_without_needle_tip, 0)::bigint as count_without_needle_tip,
        if($patients, coalesce(c.count_patients, 0), null) as count_patients,
        if($patients, coalesce(c.count_patients_uncosted, 0), null) as count_patients_uncosted,
        if($patients, coalesce(c.count_patients_micro_needling, 0), null) as count_patients_micro_needling,
        if($patients, coalesce(c.count_patients_with_needle_tip, 0), null) as count_patients_with_needle_tip,
        if($patients, coalesce(c.count_patients_without_needle_tip, 0), null) as count_patients_without_needle_tip,
        c.count_with_needle_tip / nullif(c.count_micro_needling_sessions, 0) as tip_compliance
    from periods as p
    left join per_period as c using (period)
    order by p.period = 'previous'
)

select * from final
