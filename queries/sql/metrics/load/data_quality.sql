-- Orphans: loaded rows pointing at a booking or session that is not in the data.
select file_name, check_name, count_rows from data_quality order by file_name, check_name
