-- SPEC 2.6 and 2.12 for the Demand page: the period's bookings (made on a day in the period, on or
-- before as_of, any status) per month × concern and per concern × channel, with every total beside
-- them (grouping sets: a null month, concern or channel means "all of them"). Each count comes with
-- the distinct patients behind it: queries/privacy.py hides the counts of fewer than k patients.
-- The concern totals (month and channel null) also carry the same dates one year earlier, and how
-- many of those days the export covers: a comparison year partly before the export is said so.
with

bookings as not materialized (
    select
        *,
        coalesce(channel, 'unknown') as channel_or_unknown,
        date_trunc('month', booked_date)::date as booked_month
    from filtered_bookings($locations, $practitioners, $treatments, $concerns)
    where booked_date <= $as_of
),

comparison as (
    select
        ($start - interval 1 year)::date as previous_start,
        ($end - interval 1 year)::date as previous_end,
        -- The export's first booking made, whatever the filters: before it nothing was recorded.
        coalesce((select min(booked_date) from fct_bookings where booked_date <= $as_of),
                 ($as_of + interval 1 day)::date) as data_starts_on
),

in_period as not materialized (
    select * from bookings
    where booked_date between $start and $end
),

-- The two kinds of cell, month × concern and concern × channel, each once over the bookings with
-- their patients as bits; the totals are rolled up from those few cells (bit_or) rather than from
-- every booking again.
month_cells as (
    select booked_month as month, concern, count(*) as count_bookings,
           patient_bits(patient_key, $patient_key_max) as patients
    from in_period
    group by booked_month, concern
),

channel_cells as (
    select concern, channel_or_unknown as channel, count(*) as count_bookings,
           patient_bits(patient_key, $patient_key_max) as patients
    from in_period
    group by concern, channel_or_unknown
),

counted as (
    select month, concern, null::varchar as channel,
           sum(count_bookings)::bigint as count_bookings, count_bits(bit_or(patients)) as count_patients
    from month_cells
    group by grouping sets ((month, concern), (month))
    union all
    select null::date, concern, channel,
           sum(count_bookings)::bigint, count_bits(bit_or(patients))
    from channel_cells
    group by grouping sets ((concern, channel), (concern), (channel), ())
),

previous_cells as (
    select b.concern, count(*) as count_bookings, patient_bits(b.patient_key, $patient_key_max) as patients
    from bookings as b, comparison as c
    where b.booked_date between c.previous_start and c.previous_end
    group by b.concern
),

previous as (
    select
        concern,
        sum(count_bookings)::bigint as count_bookings_previous,
        count_bits(bit_or(patients)) as count_patients_previous
    from previous_cells
    group by grouping sets ((concern), ())
),

-- The grand total always has a row (grouping set ()); a concern booked only a year earlier gets one too.
concern_totals as (
    select
        null::date as month,
        coalesce(t.concern, p.concern) as concern,
        null::varchar as channel,
        coalesce(t.count_bookings, 0) as count_bookings,
        coalesce(t.count_patients, 0) as count_patients,
        coalesce(p.count_bookings_previous, 0) as count_bookings_previous,
        coalesce(p.count_patients_previous, 0) as count_patients_previous
    from (select * from counted where month is null and channel is null) as t
    full join previous as p on t.concern is not distinct from p.concern
),

month_totals as (
    select month, count_bookings as count_bookings_month
    from counted
    where month is not null and concern is null
),

cells as (
    select
        c.month, c.concern, c.channel, c.count_bookings, c.count_patients,
        null::bigint as count_bookings_previous,
        null::bigint as count_patients_previous,
        case when c.month is not null and c.concern is not null
            then c.count_bookings / m.count_bookings_month end as share_of_month
    from counted as c
    left join month_totals as m using (month)
    where c.month is not null or c.channel is not null
),

final as (
    select
        r.month,
        r.concern,
        r.channel,
        r.count_bookings,
        r.count_patients,
        r.share_of_month,
        r.month is not null
            and (r.month < $start or last_day(r.month) > least($end, $as_of)) as is_partial_month,
        r.count_bookings_previous,
        r.count_patients_previous,
        r.count_bookings - r.count_bookings_previous as change_in_bookings,
        (r.count_bookings - r.count_bookings_previous) / nullif(r.count_bookings_previous, 0) as change_rate,
        c.previous_start,
        c.previous_end,
        datediff('day', c.previous_start, c.previous_end) + 1 as days_compared,
        greatest(0, datediff('day', greatest(c.previous_start, c.data_starts_on), c.previous_end) + 1)
            as days_compared_in_data,
        c.data_starts_on
    from (
        select * from cells
        union all by name
        select *, null::double as share_of_month from concern_totals
    ) as r, comparison as c
    order by r.month nulls last, r.channel nulls first, r.concern nulls last
)

select * from final
