-- Seasonality of demand (SPEC 2.6 by month of the year): bookings made in every complete calendar month
-- the export covers up to as_of (from the first month that starts on or after its first booking to the
-- last month that ends on or before as_of), whatever the period, per concern × month of the year,
-- with every total beside them (grouping sets: null means "all of them") and the distinct patients
-- behind each count for queries/privacy.py. months_covered: how many such months each row adds up;
-- average_per_month = bookings ÷ months_covered; seasonal_index = that month's average ÷ the concern's
-- average month (1.0 = an ordinary month).
with

bounds as (
    select
        date_trunc('month', first_day + interval 1 month - interval 1 day)::date as first_month,
        (date_trunc('month', $as_of + interval 1 day) - interval 1 month)::date as last_month
    from (select min(booked_date) as first_day from fct_bookings where booked_date <= $as_of)
),

months as (
    select month::date as month, month(month) as month_of_year
    from bounds, range(bounds.first_month, bounds.last_month + interval 1 day, interval 1 month) as r(month)
),

bookings as (
    select b.*, month(b.booked_date) as month_of_year
    from filtered_bookings($locations, $practitioners, $treatments, $concerns) as b, bounds
    where b.booked_date between bounds.first_month and last_day(bounds.last_month)
      and b.booked_date <= $as_of
),

-- Each concern × month of the year once over the bookings, its patients as bits; the totals are
-- rolled up from those few cells (bit_or) rather than from every booking again.
cells as (
    select
        concern,
        month_of_year,
        count(*) as count_bookings,
        patient_bits(patient_key, $patient_key_max) as patients
    from bookings
    group by concern, month_of_year
),

counted as (
    select
        concern,
        month_of_year,
        sum(count_bookings)::bigint as count_bookings,
        count_bits(bit_or(patients)) as count_patients
    from cells
    group by grouping sets ((concern, month_of_year), (concern), (month_of_year), ())
),

coverage as (
    select month_of_year, count(*) as months_covered
    from months
    group by grouping sets ((month_of_year), ())
),

-- Every concern booked in those months, in every month of the year covered: no bookings is a 0.
grid as (
    select c.concern, m.month_of_year, m.months_covered
    from (select distinct concern from counted) as c, coverage as m
),

filled as (
    select
        g.concern,
        g.month_of_year,
        coalesce(c.count_bookings, 0) as count_bookings,
        coalesce(c.count_patients, 0) as count_patients,
        g.months_covered
    from grid as g
    left join counted as c
        on c.concern is not distinct from g.concern
        and c.month_of_year is not distinct from g.month_of_year
),

final as (
    select
        f.*,
        f.count_bookings / nullif(f.months_covered, 0) as average_per_month,
        case when f.month_of_year is not null then
            (f.count_bookings / nullif(f.months_covered, 0))
            / nullif(max(f.count_bookings / nullif(f.months_covered, 0)) filter (where f.month_of_year is null)
                     over (partition by f.concern), 0)
        end as seasonal_index,
        b.first_month,
        b.last_month
    from filled as f, bounds as b
    order by f.concern nulls last, f.month_of_year nulls last
)

select * from final
