-- fct_sessions: one row per loaded session, with what the metrics need to know
-- about it: its booking's concern, consumables and what came next. (Complaints
-- depend on as_of: see the session_complaints macro.)
with

sessions as (select * from stg_sessions),

bookings as (select booking_id, concern from stg_bookings),

-- A booking that was not cancelled keeps the patient coming back (SPEC §2.3);
-- a no-show still shows the patient booked again.
live_appointments as (
    select patient_id, appointment_at::date as appointment_date
    from stg_bookings
    where status <> 'cancelled'
),

consumable_use as (
    select
        session_id,
        count(*) as count_consumable_lines,
        sum(quantity * unit_cost) as consumable_cost,
        count(*) filter (where unit_cost is null) as count_uncosted_lines,
        bool_or(category = 'needle_tip') as has_needle_tip
    from stg_consumables
    group by session_id
),

dated as (
    select
        *,
        performed_at::date as session_date,
        date_trunc('month', performed_at)::date as session_month,
        (performed_at::date + interval 6 month)::date as rebook_window_ends_on,
        regexp_matches(treatment, 'micro-?needling', 'i') as is_micro_needling,
        -- Needle-depth bands the Aftercare page compares complaint rates by; each upper edge is inside its band.
        case
            when needle_depth_mm is null then null
            when needle_depth_mm <= 0.5 then '≤ 0.5 mm'
            when needle_depth_mm <= 1.0 then '0.5–1.0 mm'
            when needle_depth_mm <= 1.5 then '1.0–1.5 mm'
            when needle_depth_mm <= 2.0 then '1.5–2.0 mm'
            else '> 2.0 mm'
        end as needle_depth_band,
        min(performed_at::date) over (partition by patient_id) as patient_first_session_date,
        -- Every session of the patient in the export, whatever its date (recall_list subtracts those after as_of).
        count(*) over (partition by patient_id) as patient_count_sessions,
        -- One session per patient, the first (ties by session_id): a period's new patients are counted
        -- as these flags when no list filter is set, without hashing patient ids (session_kpis).
        arg_min(session_id, (performed_at, session_id)) over (partition by patient_id) = session_id
            as is_first_session_of_patient
    from sessions
),

-- Apart from the other columns: the ASOF join sorts what it carries, and three columns sort faster
-- than thirty (fct_sessions built 15-20% faster at 1M sessions).
next_appointments as (
    select d.session_id, n.appointment_date
    from (select session_id, patient_id, session_date from dated) as d
    -- The first live appointment strictly after the session's day: a second area
    -- treated the same day is the same visit, not a rebooking.
    asof join live_appointments as n
        on n.patient_id = d.patient_id
        and n.appointment_date > d.session_date
),

final as (
    select
        d.*,
        -- dim_patients' integer for the patient: queries count patients by it, without reading the ids.
        p.patient_key,
        coalesce(b.concern, 'unknown') as concern,
        b.booking_id is not null as has_known_booking,
        coalesce(c.count_consumable_lines, 0) as count_consumable_lines,
        coalesce(c.consumable_cost, 0) as consumable_cost,
        coalesce(c.count_uncosted_lines, 0) as count_uncosted_lines,
        coalesce(c.has_needle_tip, false) as has_needle_tip,
        case when d.session_date = d.patient_first_session_date then 'first_visit' else 'returning' end
            as patient_type,
        n.appointment_date as next_appointment_date,
        coalesce(n.appointment_date <= d.rebook_window_ends_on, false) as is_rebooked
    from dated as d
    left join next_appointments as n using (session_id)
    left join bookings as b using (booking_id)
    left join consumable_use as c using (session_id)
    left join dim_patients as p using (patient_id)
),

-- By day: a period's queries then read only the row groups of its days (DuckDB's min/max per row
-- group); the joins above leave the rows in no useful order. At 1M sessions a 12-month Overview
-- read a third of the table instead of all of it, about a fifth faster; the sort costs about what
-- the narrower ASOF join saves. Sorted into a materialized CTE: the table is then written from it by
-- both threads, where straight from the sort one thread compressed and wrote it all (fct_sessions
-- 4.0-4.4 -> 3.2-3.3 s at 1M, stored in the same order).
by_day as materialized (
    select * from final order by session_date, session_id
)

select * from by_day
