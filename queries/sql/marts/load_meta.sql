-- load_meta: one row describing the loaded data. default_as_of is the export's
-- date (SPEC §2): the latest booked_at or performed_at; future appointments do not move it.
with

final as (
    select
        i.schema_version,
        i.source,
        i.loaded_at,
        -- An export with no dated rows at all is computed as of today.
        coalesce(greatest(
            (select max(booked_date) from fct_bookings),
            (select max(session_date) from fct_sessions)
        ), current_date) as default_as_of,
        least(
            (select min(booked_date) from fct_bookings),
            (select min(session_date) from fct_sessions)
        ) as data_starts_on,
        (select max(appointment_date) from fct_bookings) as last_appointment_on,
        -- The largest patient_key (0 without patients): the bound distinct_patients counts up to.
        coalesce((select max(patient_key) from dim_patients), 0) as patient_key_max,
        -- The distinct lots of the loaded consumable lines: lot_trace holds a set of patient bits per
        -- lot when count_lots * patient_key_max bits stay under its bound.
        (select count(distinct lot) from stg_consumables) as count_lots,
        -- The last day a complaint with a loaded session was reported (null: none): fct_consumable_cells
        -- counts every complaint, right for an as_of on or after it (consumable_cells_in_period).
        (select max(reported_date) from fct_complaints where has_session) as last_complaint_on
    from load_info as i
)

select * from final
