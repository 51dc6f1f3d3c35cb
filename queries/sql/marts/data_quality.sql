-- data_quality: loaded rows that point at something not in the data (orphans).
with

sessions_without_booking as (
    select count(*) as n from fct_sessions
    where booking_id is not null and not has_known_booking
),

consumables_without_session as (
    select count(*) as n from fct_consumables where not has_session
),

complaints_without_session as (
    select
        count(*) filter (where session_id is not null and not has_session) as n_unknown,
        count(*) filter (where session_id is null) as n_blank
    from fct_complaints
),

final as (
    select 'sessions.csv' as file_name, 'Sessions whose booking is not in bookings.csv' as check_name,
        n as count_rows from sessions_without_booking
    union all
    select 'consumables.csv', 'Consumables whose session is not in sessions.csv', n from consumables_without_session
    union all
    select 'complaints.csv', 'Complaints whose session is not in sessions.csv', n_unknown from complaints_without_session
    union all
    select 'complaints.csv', 'Complaints with no session given', n_blank from complaints_without_session
)

select * from final
