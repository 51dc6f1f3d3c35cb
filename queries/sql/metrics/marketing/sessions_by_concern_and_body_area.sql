-- What people come for against what gets treated: sessions performed in the period (SPEC 2.1) per
-- concern of the booking they fulfilled (`unknown` without one) × body area, with every total beside
-- them (grouping sets: a null concern or body area means "all of them") and the distinct patients
-- behind each count for queries/privacy.py. share_of_concern: the area's part of that concern's sessions.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments,
                                     $body_areas, $concerns)
),

-- Each concern × body area once over the sessions, its patients as bits; the totals are rolled up
-- from those few cells (bit_or) rather than from every session again.
cells as (
    select
        concern,
        body_area,
        count(*) as count_sessions,
        patient_bits(patient_key, $patient_key_max) as patients
    from sessions
    group by concern, body_area
),

counted as (
    select
        concern,
        body_area,
        sum(count_sessions)::bigint as count_sessions,
        count_bits(bit_or(patients)) as count_patients
    from cells
    group by grouping sets ((concern, body_area), (concern), (body_area), ())
),

final as (
    select
        *,
        case when body_area is not null then count_sessions / sum(count_sessions) filter (where body_area is null)
            over (partition by concern) end as share_of_concern
    from counted
    order by concern nulls last, body_area nulls last
)

select * from final
