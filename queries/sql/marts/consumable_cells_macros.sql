-- Table macros over fct_consumable_cells, created once it exists (it is built with macros.sql's).

-- consumable_line_cells for the period, the same rows summed from fewer: each whole month's cells from
-- fct_consumable_cells, the days of a month the period covers in part from the lines. Its cells count
-- every complaint loaded, so a query that reads their complaints passes the last day one was reported
-- ($last_complaint_on): for an earlier as_of every month comes from the lines, with the complaints
-- known by then. A query that does not read them passes null.
create or replace macro consumable_cells_in_period(start_date, end_date, as_of,
                                                   locations, practitioners, treatments, body_areas, concerns,
                                                   last_complaint_on) as table
    select * from fct_consumable_cells
    where session_month between whole_months_from(start_date) and whole_months_to(end_date, as_of)
      and coalesce(as_of >= last_complaint_on, true)
      and matches(location, locations)
      and matches(practitioner, practitioners)
      and matches(treatment, treatments)
      and matches(body_area, body_areas)
      and matches(concern, concerns)
    union all
    select *
    from consumable_line_cells(start_date, end_date, as_of, locations, practitioners, treatments, body_areas, concerns,
                               coalesce(as_of >= last_complaint_on, true));
