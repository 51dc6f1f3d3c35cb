-- stg_consumables (built as stg_consumables_rows): every record of consumables.csv
-- typed and cleaned, with the first check it fails (failed_check, null when none).
-- queries/load.py then numbers the rows by line (stg_consumables_all). Rows have
-- no id of their own, so there is no duplicate check.
with

-- Extra columns stay in raw_consumables; naming the contract's keeps them out of the way.
source as (
    select
        _line, _is_blank, _parse_error,
        session_id, item, category, lot, quantity, unit, unit_cost
    from raw_consumables
),

cleaned as (
    select
        _line as source_line,
        _is_blank,
        _parse_error,
        clean_text(session_id) as session_id,
        clean_text(item) as item,
        clean_text(category) as category_text,
        normalise_in(category, enum_values('consumables', 'category')) as category_normalised,
        clean_text(lot) as lot,
        clean_text(quantity) as quantity_text,
        clean_text(unit) as unit_text,
        normalise_in(unit, enum_values('consumables', 'unit')) as unit,
        clean_text(unit_cost) as unit_cost_text
    from source
),

typed as (
    select
        *,
        parse_number_text(quantity_text) as quantity,
        parse_number_text(unit_cost_text) as unit_cost,
        enum_or_other_value(category_normalised, enum_values('consumables', 'category')) as category
    from cleaned
),

final as (
    select
        source_line, _is_blank, session_id, item, category, lot, quantity, unit, unit_cost,
        coalesce(
            check_structure(_parse_error),
            check_present(session_id, 'session_id'),
            check_present(item, 'item'),
            check_present(quantity_text, 'quantity'),
            check_range(quantity_text, quantity, 'quantity', 0, 'infinity'::double),
            case when quantity = 0
                then failed('quantity', 'out of range, must be above 0: ''' || quantity_text || '''') end,
            check_present(unit_text, 'unit'),
            check_known(unit_text, unit, enum_values('consumables', 'unit'), 'unit'),
            check_range(unit_cost_text, unit_cost, 'unit_cost', 0, 'infinity'::double)
        ) as failed_check,
        case when category = 'other' and category_normalised <> 'other'
            then failed('category', 'unknown value ''' || category_text || ''' read as other')
        end as warning
    from typed
)

select * from final
