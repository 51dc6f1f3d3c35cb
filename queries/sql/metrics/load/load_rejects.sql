-- Rows that were not loaded: file, line (header = line 1), column and reason.
select file_name, line, column_name, reason from load_rejects order by file_name, line
