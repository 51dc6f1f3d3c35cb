-- SPEC §2.10 lot trace, one row per lot (trimmed text; lines without a lot are not a lot) used in
-- sessions performed in the period: its item(s), the distinct sessions and patients that used it,
-- when and where, the complaints following those sessions (reported on or before as_of) per 100
-- sessions, and the same rate over the sessions that used the same item(s) with another lot.
-- Our choice: sessions with no lot recorded are in neither side of the comparison. A lot is
-- flagged when it has at least 3 complaints and so many would happen by chance less than once in
-- 1,000 if the lot were like the others: the Poisson probability of at least c complaints in n
-- sessions at the other lots' rate u (expected u·n) is below 0.001. A clinic has hundreds of lots,
-- so a looser bar would flag several by chance alone.
with

sessions as (
    select * from sessions_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
),

complaints as (select * from session_complaints($as_of)),

lines as (
    select distinct c.lot, c.item, c.session_id
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns) as c
    where c.lot is not null
),

lot_sessions as (
    select distinct lot, session_id from lines
),

item_sessions as (
    select distinct item, session_id from lines
),

lot_items as (
    select distinct lot, item from lines
),

per_lot as (
    select
        l.lot,
        count(*) as count_sessions,
        count(distinct s.patient_id) as count_patients,
        min(s.session_date) as first_used_on,
        max(s.session_date) as last_used_on,
        string_agg(distinct s.location, ', ' order by s.location) as locations,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints
    from lot_sessions as l
    join sessions as s using (session_id)
    left join complaints as c using (session_id)
    group by l.lot
),

-- Sessions that used one of the lot's items with another lot, and not this lot.
other_lot_sessions as (
    select distinct li.lot, i.session_id
    from lot_items as li
    join item_sessions as i using (item)
    anti join lot_sessions as same on same.lot = li.lot and same.session_id = i.session_id
),

comparison as (
    select
        o.lot,
        count(*) as count_sessions_other_lots,
        coalesce(sum(c.count_complaints), 0)::bigint as count_complaints_other_lots
    from other_lot_sessions as o
    left join complaints as c using (session_id)
    group by o.lot
),

items as (
    select lot, string_agg(item, ', ' order by item) as items, count(*) as count_items from lot_items group by lot
),

rated as (
    select
        p.*,
        i.items,
        i.count_items,
        100.0 * p.count_complaints / p.count_sessions as complaints_per_100_sessions,
        coalesce(o.count_sessions_other_lots, 0) as count_sessions_other_lots,
        coalesce(o.count_complaints_other_lots, 0) as count_complaints_other_lots,
        o.count_complaints_other_lots / o.count_sessions_other_lots as other_lots_rate
    from per_lot as p
    join items as i using (lot)
    left join comparison as o using (lot)
),

tested as (
    select
        *,
        other_lots_rate * count_sessions as expected_complaints,
        -- P(X >= c) for X ~ Poisson(expected): one minus the terms k = 0 .. c-1, in logs to stay finite.
        case
            when other_lots_rate is null then null
            when count_complaints = 0 then 1.0
            when other_lots_rate = 0 then 0.0
            else greatest(0.0, 1 - list_sum([
                exp(-expected_complaints + k * ln(expected_complaints) - lgamma(k + 1))
                for k in range(count_complaints)]))
        end as chance_if_like_other_lots
    from rated
),

final as (
    select
        * exclude (other_lots_rate, expected_complaints),
        100.0 * other_lots_rate as other_lots_complaints_per_100_sessions,
        coalesce(count_complaints >= 3 and chance_if_like_other_lots < 0.001, false) as is_flagged
    from tested
    order by is_flagged desc, complaints_per_100_sessions desc, count_sessions desc, lot
)

select * from final
