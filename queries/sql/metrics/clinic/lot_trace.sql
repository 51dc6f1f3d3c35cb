-- SPEC §2.10 lot trace, one row per lot (trimmed text; lines without a lot are not a lot) used in
-- sessions performed in the period: its item(s), the distinct sessions and patients that used it,
-- when and where, the complaints following those sessions (reported on or before as_of) per 100
-- sessions, and the same rate over the sessions that used the same item(s) with another lot.
-- Our choice: sessions with no lot recorded are in neither side of the comparison. A lot is
-- flagged when it has at least 3 complaints, its other lots have at least 20 sessions (fewer say
-- little about the usual rate: 0 complaints in 4 sessions is no evidence of a rate of 0), and so
-- many complaints would happen by chance less than once in 1,000 if the lot were like the others: the Poisson probability of at least c complaints in n
-- sessions at the other lots' rate u (expected u·n) is below 0.001. A clinic has hundreds of lots,
-- so a looser bar would flag several by chance alone.
with

complaints as (select * from session_complaints($as_of)),

-- The period's cells with a lot (consumable_cells_in_period: whole months summed at load, with the
-- complaints known on as_of), per lot, item and location. A session's first line of a lot (of an item)
-- is in one cell, so the lot's (the item's) sums over cells count each session once.
cells as (
    select
        lot,
        item,
        location,
        sum(count_lot_sessions) as count_lot_sessions,
        sum(count_lot_complaints) as count_lot_complaints,
        sum(count_item_sessions) as count_item_sessions,
        sum(count_item_complaints) as count_item_complaints,
        min(first_session_date) as first_used_on,
        max(last_session_date) as last_used_on
    from consumable_cells_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns,
                                    $last_complaint_on)
    where lot is not null
    group by lot, item, location
),

-- The lots' lines with their patient, for lot_patients: no complaints needed.
lot_uses as not materialized (
    select lot, patient_key, is_first_of_lot_in_session
    from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns)
    where lot is not null
),

-- Each lot's distinct patients: as bits over dim_patients' keys when the bits of every lot the export
-- has would take at most 256 MiB (patient_key_max bits a lot: 57 KB at 1M sessions, 515 KB at 10M),
-- else in two steps, lot and patient pairs then lots. The bits were 3x faster at 1M sessions and spare
-- the 13M pairs of 10M. DuckDB plans only the branch the parameters choose.
lot_patients as (
    select lot, count_bits(patient_bits(patient_key, $patient_key_max)) as count_patients
    from lot_uses
    where is_first_of_lot_in_session and $count_lots::bigint * $patient_key_max <= 2147483648
    group by lot
    union all
    select lot, count(*)
    from (
        select lot, patient_key from lot_uses
        where is_first_of_lot_in_session and $count_lots::bigint * $patient_key_max > 2147483648
        group by lot, patient_key
    )
    group by lot
),

per_lot as (
    select
        lot,
        sum(count_lot_sessions)::bigint as count_sessions,
        min(first_used_on) as first_used_on,
        max(last_used_on) as last_used_on,
        string_agg(distinct location, ', ' order by location) as locations,
        coalesce(sum(count_lot_complaints), 0)::bigint as count_complaints
    from cells
    group by lot
),

lot_items as (
    select distinct lot, item from cells
),

items as (
    select lot, string_agg(item, ', ' order by item) as items, count(*) as count_items from lot_items group by lot
),

-- Sessions that used an item with a lot (any lot): the lot's sessions are among them.
item_sessions as (
    select
        item,
        sum(count_item_sessions)::bigint as count_sessions,
        coalesce(sum(count_item_complaints), 0)::bigint as count_complaints
    from cells
    group by item
),

-- The same over all the items of a lot that has several: sessions using any of them, once each. The lines
-- are joined to those few items, which DuckDB builds its hash table on (since the cells feed multi_items;
-- before, it built one on the lines): with no such lot, as in the benchmark's data, no line is read at all
-- (the list tested in the scan that this replaced read the period's lines for nothing: 270 CPU-ms at 10M).
multi_items as (
    select li.lot, li.item
    from lot_items as li
    join items as i on i.lot = li.lot and i.count_items > 1
),

multi_item_sessions as (
    select s.lot, count(*) as count_sessions, coalesce(sum(k.count_complaints), 0)::bigint as count_complaints
    from (
        select distinct m.lot, c.session_id
        from consumables_in_period($start, $end, $as_of, $locations, $practitioners, $treatments, $body_areas, $concerns) as c
        join multi_items as m on m.item = c.item
        where c.lot is not null and c.is_first_of_item_in_session
    ) as s
    left join complaints as k using (session_id)
    group by s.lot
),

-- Sessions that used one of the lot's items with another lot, and not this lot: all the sessions
-- using its items with a lot, less its own (a subset of them).
comparison as (
    select
        i.lot,
        coalesce(m.count_sessions, s.count_sessions) - p.count_sessions as count_sessions_other_lots,
        coalesce(m.count_complaints, s.count_complaints) - p.count_complaints as count_complaints_other_lots
    from items as i
    join per_lot as p using (lot)
    left join multi_item_sessions as m using (lot)
    left join lot_items as single on single.lot = i.lot and i.count_items = 1
    left join item_sessions as s on s.item = single.item
),

rated as (
    select
        p.lot,
        p.count_sessions,
        n.count_patients,
        p.* exclude (lot, count_sessions),
        i.items,
        i.count_items,
        100.0 * p.count_complaints / p.count_sessions as complaints_per_100_sessions,
        o.count_sessions_other_lots,
        o.count_complaints_other_lots,
        o.count_complaints_other_lots / nullif(o.count_sessions_other_lots, 0) as other_lots_rate
    from per_lot as p
    join lot_patients as n using (lot)
    join items as i using (lot)
    join comparison as o using (lot)
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
        coalesce(count_complaints >= 3 and count_sessions_other_lots >= 20
                 and chance_if_like_other_lots < 0.001, false) as is_flagged
    from tested
    order by is_flagged desc, complaints_per_100_sessions desc, count_sessions desc, lot
)

select * from final
