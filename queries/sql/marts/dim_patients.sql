-- dim_patients: one row per patient with a loaded booking or session, and patient_key, the integer
-- that stands for patient_id in the fact tables (fct_sessions, fct_bookings, and fct_consumables by
-- its session): 1, 2, ... in patient_id order. The metric queries count distinct patients as bits
-- over it (distinct_patients in functions.sql), which needs keys from 1 to a known maximum
-- (load_meta.patient_key_max), and compare integers where they would compare ids. Keys are not kept
-- from one load to the next: nothing outside the database may store them.
with

patients as (
    select patient_id from stg_bookings
    union
    select patient_id from stg_sessions
),

final as (
    select
        patient_id,
        (row_number() over (order by patient_id))::integer as patient_key
    from patients
)

select * from final
