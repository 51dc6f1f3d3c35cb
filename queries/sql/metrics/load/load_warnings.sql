-- Rows loaded with an unknown value read as `other`.
select file_name, line, column_name, reason from load_warnings order by file_name, line
