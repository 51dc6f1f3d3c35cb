-- stg_consumables: every row of consumables.csv typed and cleaned, with the
-- first reason it cannot be loaded (null when it can). Rows have no id of their
-- own, so there is no duplicate check.
with

-- Extra columns stay in raw_consumables; naming the contract's keeps them out of the way.
source as (
    select
        _line, _parse_error,
        session_id, item, category, lot, quantity, unit, unit_cost
    from raw_consumables
),

checked as (
    select
        *,
        coalesce(
            check_structure(_parse_error),
            check_required(session_id, 'session_id'),
            check_required(item, 'item'),
            check_required(quantity, 'quantity'),
            check_number(quantity, 'quantity', 0, 'infinity'::double),
            case when parse_number(quantity) = 0
                then failed('quantity', 'out of range, must be above 0: ''' || clean_text(quantity) || '''') end,
            check_required(unit, 'unit'),
            check_enum(unit, 'unit', enum_values('consumables', 'unit')),
            check_number(unit_cost, 'unit_cost', 0, 'infinity'::double)
        ) as failed_check
    from source
),

final as (
    select
        _line as source_line,
        clean_text(session_id) as session_id,
        clean_text(item) as item,
        enum_or_other(category, enum_values('consumables', 'category')) as category,
        clean_text(lot) as lot,
        parse_number(quantity) as quantity,
        normalise(unit) as unit,
        parse_number(unit_cost) as unit_cost,
        failed_check as rejected,
        case when enum_or_other(category, enum_values('consumables', 'category')) = 'other'
                  and normalise(category) <> 'other'
            then failed('category', 'unknown value ''' || clean_text(category) || ''' read as other')
        end as warning
    from checked
)

select * from final
