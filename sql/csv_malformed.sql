-- CSV import of malformed input: it never crashes or hangs, and each case
-- gives a clear error or a reject.  Unbalanced quotes, NUL bytes, bytes
-- that are not valid UTF-8, ragged rows, a field of several megabytes,
-- empty content, a header only, UTF-16.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE m_row (id int PRIMARY KEY, v text);
CREATE VIEW m_last_rejects AS
SELECT line_number, column_name, left(raw_value, 40) AS raw_value, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run) ORDER BY line_number;

-- A quote opened and never closed: the rows before it load; the rest of
-- the input is one bad record, rejected with the line it starts on.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', E'id,v\n1,a\n2,"b\n3,c\n4,d\n');
SELECT * FROM m_last_rejects;
-- The line it starts on counts back over the newlines of the fields
-- before the open one too: the record of 41 starts on line 3.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', E'id,v\n40,a\n"41\n","c\nd\n42,e\n');
SELECT * FROM m_last_rejects;
-- A quoted field may hold newlines: the lines between the quotes are its
-- value.  When that leaves the record with the wrong number of fields, it
-- is rejected with the lines it spans.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', E'id,v\n5,"e\n6,f"\n7,g\n');
SELECT v FROM m_row WHERE id = 5;
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', E'id,v\n9,"e\n10,f",x\n11,g\n');
SELECT * FROM m_last_rejects;
-- A stray quote inside an unquoted field is kept as a character.
SELECT rows_loaded FROM pgcredit.load_csv('m_row', E'id,v\n8,12" pipe\n');
SELECT v FROM m_row WHERE id = 8;

-- NUL bytes and invalid UTF-8 in bytea content: the row is rejected.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', '\x69642c760a392c610062630a31302c80ff0a31312c6f6b0a'::bytea);
SELECT * FROM m_last_rejects;
-- A header that is not valid in the encoding given is an error.
SELECT pgcredit.load_csv('m_row', '\x80ff0a310a'::bytea);
\echo :LAST_ERROR_SQLSTATE
-- UTF-16 is refused as a whole.
SELECT pgcredit.load_csv('m_row', '\xfffe690064000a00'::bytea);
\echo :LAST_ERROR_SQLSTATE

-- A field of several megabytes loads; beyond max_field_size it is an error.
SELECT rows_loaded FROM pgcredit.load_csv('m_row', E'id,v\n20,' || repeat('x', 5000000) || E'\n');
SELECT length(v) FROM m_row WHERE id = 20;
SELECT pgcredit.load_csv('m_row', E'id,v\n21,"' || repeat('y', 300000) || E'\n', max_field_size => 100000);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS row_21 FROM m_row WHERE id = 21;
-- The record of 22 starts on line 2, two lines before the field grows too long.
SELECT pgcredit.load_csv('m_row', E'id,v\n"22\n","y\n' || repeat('y', 300000) || E'\n', max_field_size => 100000);
SELECT pgcredit.load_csv('m_row', E'id,v\n1,2\n', max_field_size => 0);
\echo :LAST_ERROR_SQLSTATE

-- Empty content is an error (a header was expected); a header alone loads
-- nothing; without a header empty content is simply empty.
SELECT pgcredit.load_csv('m_row', '');
\echo :LAST_ERROR_SQLSTATE
SELECT status, rows_read FROM pgcredit.load_csv('m_row', 'id,v');
SELECT status, rows_read FROM pgcredit.load_csv('m_row', '', header => false);

-- Rows of every length around the header's, and blank lines between.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', E'id,v\n\n30\n31,a,b,c\n\n32,ok\n,\n');
SELECT * FROM m_last_rejects;

-- A bad row in a large file: the rows around it all load (the batch is
-- split until the bad row is alone).
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('m_row', 'id,v' || E'\n' ||
  (SELECT string_agg(CASE WHEN g = 7777 THEN '100,duplicate' ELSE g::text || ',r' END, E'\n')
   FROM generate_series(100, 10099) g));
SELECT * FROM m_last_rejects;
SELECT count(*) AS loaded_of_10000 FROM m_row WHERE id BETWEEN 100 AND 10099;

-- Many rejects are kept on disk past work_mem, and survive the rollback
-- of an all-or-nothing load.
SET work_mem = '64kB';
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('m_row',
  'id,v' || E'\n' || (SELECT string_agg('x' || g || ',' || repeat('y', 100), E'\n') FROM generate_series(1, 20000) g),
  all_or_nothing => true);
SELECT count(*) AS rejects_kept, count(DISTINCT line_number) AS lines
FROM pgcredit.import_reject WHERE run_id = (SELECT max(id) FROM pgcredit.import_run);
RESET work_mem;

DROP VIEW m_last_rejects;
DROP TABLE m_row;
