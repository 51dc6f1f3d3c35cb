-- The values each sidebar filter offers, from the loaded data (collected at load: dim_filter_options).
with

final as (
    select filter_name, value
    from dim_filter_options
    order by filter_name, value
)

select * from final
