-- dim_filter_options: the values each sidebar filter offers, found once at load
-- (every page's sidebar asks; a union over every fact row per rerun is not needed).
with

sessions as (select * from fct_sessions),

bookings as (select * from fct_bookings),

options as (
    select 'locations' as filter_name, location as value from sessions
    union select 'locations', location from bookings
    union select 'practitioners', practitioner from sessions
    union select 'practitioners', practitioner from bookings
    union select 'treatments', treatment from sessions
    union select 'treatments', treatment from bookings
    union select 'body_areas', body_area from sessions
    union select 'concerns', concern from bookings
),

final as (
    select filter_name, value
    from options
    where value is not null
    order by filter_name, value
)

select * from final
