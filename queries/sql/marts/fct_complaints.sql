-- fct_complaints: one row per loaded complaint, with the session it follows
-- when that session is loaded (SPEC §2.4: only those count in rates).
with

complaints as (select * from stg_complaints),

sessions as (
    select
        session_id, session_date, session_month, location, practitioner,
        treatment, body_area, concern, needle_depth_mm, is_micro_needling
    from fct_sessions
),

-- The lots used in each session a complaint follows, sorted: lot_complaints finds a lot's complaints
-- here rather than in the lines (3.7M at 1M sessions, for the 30k complained-of sessions).
session_lots as (
    select session_id, list(distinct lot order by lot) as session_lots
    from stg_consumables
    where lot is not null and session_id in (select session_id from complaints)
    group by session_id
),

final as (
    select
        c.*,
        s.session_id is not null as has_session,
        s.session_date,
        s.session_month,
        s.location,
        s.practitioner,
        s.treatment,
        s.body_area,
        s.concern,
        s.needle_depth_mm,
        s.is_micro_needling,
        c.reported_at::date as reported_date,
        date_trunc('month', c.reported_at)::date as reported_month,
        date_diff('day', c.reported_at, c.resolved_at) as days_to_resolve,
        l.session_lots
    from complaints as c
    left join sessions as s using (session_id)
    left join session_lots as l on l.session_id = c.session_id and s.session_id is not null
)

select * from final
