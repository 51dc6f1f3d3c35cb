-- What was loaded, from where, when, and the export's date (default as_of).
select * from load_meta
