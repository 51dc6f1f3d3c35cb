-- Explore › Consumables: one row per consumable line used in the sessions the period and the sidebar
-- filters select (consumables_in_period, SPEC §2.5). `line` is the line of consumables.csv it came from.
with

consumables as (
    select * from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

final as (
    select
        source_line as line,
        session_id,
        session_date,
        patient_id,
        item,
        category,
        lot,
        quantity,
        unit,
        unit_cost,
        cost,
        treatment,
        body_area,
        location,
        practitioner
    from consumables
)

select * from final
