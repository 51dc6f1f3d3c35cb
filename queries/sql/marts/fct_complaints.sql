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
        date_diff('day', c.reported_at, c.resolved_at) as days_to_resolve
    from complaints as c
    left join sessions as s using (session_id)
)

select * from final
