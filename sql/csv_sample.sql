-- CSV import of the IBM accounts-receivable sample: US dates, Yes/No
-- flags, and a variant with gaps.  The file is passed as text from a psql
-- variable and read as a server file; every row and every cent arrive,
-- and the rows with gaps are rejected one by one, with their lines.

-- The sample lives outside the repository, in the directory SHARED_DATA
-- names (the Makefile looks beside the checkout).  Without it this file
-- stops here, and expected/csv_sample_1.out is the output that matches.
\set have_sample `if [ -r "${SHARED_DATA:-/nonexistent}/accounts-receivable.csv" ]; then echo true; else echo false; fi`
\if :have_sample
\else
\echo 'skipped: no sample ledger in SHARED_DATA'
\quit
\endif

\set SHOW_CONTEXT never
SET client_min_messages = warning;
\set ar `cat "$SHARED_DATA/accounts-receivable.csv"`
\set ar_missing `cat "$SHARED_DATA/accounts-receivable-with-missing.csv"`
\set ar_path `realpath "$SHARED_DATA/accounts-receivable.csv"`

CREATE TABLE ar_invoice (
  invoice_number  bigint PRIMARY KEY,
  country_code    int NOT NULL,
  customer_id     text NOT NULL,
  paperless_date  date NOT NULL,
  invoice_date    date NOT NULL,
  due_date        date NOT NULL,
  invoice_amount  numeric(12,2) NOT NULL,
  disputed        boolean NOT NULL,
  settled_date    date,
  paperless_bill  text NOT NULL,
  days_to_settle  int,
  days_late       int
);

-- The reference: the same file through COPY into text columns, summed
-- in SQL, without pgcredit.
CREATE TABLE ar_raw (country text, customer text, paperless text, invoice text, invoice_date text,
                     due text, amount text, disputed text, settled text, bill text, to_settle text, late text);
\copy ar_raw FROM PROGRAM 'cat "$SHARED_DATA/accounts-receivable.csv"' WITH (FORMAT csv, HEADER true)

-- The header names match the columns once case and underscores are set aside.
SELECT status, rows_read, rows_loaded, rows_rejected, ignored_columns, delimiter
FROM pgcredit.load_csv('ar_invoice', :'ar', date_style => 'MDY');
SELECT (SELECT count(*) FROM ar_invoice) = (SELECT count(*) FROM ar_raw) AS every_row,
       (SELECT sum(invoice_amount) FROM ar_invoice) AS loaded_sum,
       (SELECT sum(amount::numeric) FROM ar_raw) AS file_sum;
-- every row equal to the file, field by field
SELECT count(*) AS differing_rows
FROM ar_raw r FULL JOIN ar_invoice i ON i.invoice_number = r.invoice::bigint
WHERE i.invoice_number IS NULL OR r.invoice IS NULL
   OR (i.country_code::text, i.customer_id, to_char(i.paperless_date, 'FMMM/FMDD/YYYY'),
       to_char(i.invoice_date, 'FMMM/FMDD/YYYY'), to_char(i.due_date, 'FMMM/FMDD/YYYY'),
       i.invoice_amount, CASE WHEN i.disputed THEN 'Yes' ELSE 'No' END,
       to_char(i.settled_date, 'FMMM/FMDD/YYYY'), i.paperless_bill, i.days_to_settle::text, i.days_late::text)
      IS DISTINCT FROM
      (r.country, r.customer, r.paperless, r.invoice_date, r.due, r.amount::numeric, r.disputed,
       r.settled, r.bill, r.to_settle, r.late);

-- Loading the same file again: every row collides with its primary key
-- and is rejected with PostgreSQL's message; nothing is lost.
SELECT status, rows_read, rows_loaded, rows_rejected
FROM pgcredit.load_csv('ar_invoice', :'ar', date_style => 'MDY');
SELECT column_name, reason, count(*) FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run)
GROUP BY 1, 2;

-- The same file read on the server, in pieces.
TRUNCATE ar_invoice;
SELECT status, rows_read, rows_loaded, rows_rejected, source = 'file ' || :'ar_path' AS from_file
FROM pgcredit.load_csv_file('ar_invoice', :'ar_path', date_style => 'MDY');
SELECT sum(invoice_amount) AS loaded_sum FROM ar_invoice;

-- The variant with gaps: PaperlessDate and PaperlessBill are required
-- here, so the rows without them are rejected, each with its line.
TRUNCATE ar_invoice;
CREATE TABLE ar_raw_missing (LIKE ar_raw);
\copy ar_raw_missing FROM PROGRAM 'cat "$SHARED_DATA/accounts-receivable-with-missing.csv"' WITH (FORMAT csv, HEADER true)
SELECT status, rows_read, rows_loaded, rows_rejected, rows_read = rows_loaded + rows_rejected AS none_lost
FROM pgcredit.load_csv('ar_invoice', :'ar_missing', date_style => 'MDY');
SELECT column_name, reason, raw_value, count(*) FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run)
GROUP BY 1, 2, 3;
-- The rejected lines are exactly the lines of the file with a gap (line 1
-- is the header): numbered from the file with ordinality, not by pgcredit.
WITH lines AS (
  SELECT n, line FROM regexp_split_to_table(:'ar_missing', E'\n') WITH ORDINALITY AS l(line, n)
), gaps AS (
  SELECT n FROM lines WHERE n > 1 AND split_part(line, ',', 3) = ''
)
SELECT (SELECT count(*) FROM gaps) AS lines_with_gaps,
       (SELECT count(*) FROM gaps g
        WHERE EXISTS (SELECT FROM pgcredit.import_reject j
                      WHERE j.run_id = (SELECT max(id) FROM pgcredit.import_run) AND j.line_number = g.n)) AS rejected_on_their_line;
SELECT (SELECT count(*) FROM ar_invoice) AS loaded,
       (SELECT count(*) FROM ar_raw_missing WHERE paperless <> '' AND bill <> '') AS complete_in_file,
       (SELECT sum(invoice_amount) FROM ar_invoice) =
       (SELECT sum(amount::numeric) FROM ar_raw_missing WHERE paperless <> '' AND bill <> '') AS sums_match;

DROP TABLE ar_invoice, ar_raw, ar_raw_missing;
