-- CSV import: the dialects of real exports.  Delimiters (detected or
-- given), quotes, byte-order marks, US and European dates, decimal commas
-- and digit grouping, words for true and false, NULL markers, header
-- names that differ from the columns, files without a header.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE d_item (
  id        int PRIMARY KEY,
  customer  text NOT NULL,
  amount    numeric(12,2),
  due       date,
  paid      boolean,
  note      text
);
CREATE VIEW d_last_run AS
SELECT status, rows_read, rows_loaded, rows_rejected, ignored_columns, delimiter, encoding
FROM pgcredit.import_run ORDER BY id DESC LIMIT 1;
CREATE VIEW d_last_rejects AS
SELECT line_number, column_name, raw_value, reason FROM pgcredit.import_reject
WHERE run_id = (SELECT max(id) FROM pgcredit.import_run) ORDER BY line_number;

-- Comma, the default; header names in any case and spacing.
SELECT rows_loaded, delimiter FROM pgcredit.load_csv('d_item',
E'ID,Customer,Amount,Due,Paid,Note\n1,ACME,10.50,2024-01-31,true,plain\n');
-- Semicolons and decimal commas with grouping, detected; European dates.
SELECT rows_loaded, delimiter FROM pgcredit.load_csv('d_item',
E'id;customer;amount;due;paid;note\n2;Bolt;1.234,56;31.01.2024;ja;"with; a semicolon"\n3;Bolt;-0,99;29/2/2024;nein;\n',
  decimal_comma => true, date_style => 'DMY', true_words => '{ja}', false_words => '{nein}');
-- Tabs, US dates, grouped thousands with a currency sign, Yes/No.
SELECT rows_loaded, delimiter FROM pgcredit.load_csv('d_item',
E'id\tcustomer\tamount\tdue\tpaid\tnote\n4\tCo, Inc.\t"$1,250.00"\t2/29/2024\tYes\t"two\nlines"\n5\tZed\t(12.50)\t12/31/2023\tNo\t \n',
  date_style => 'MDY');
-- Pipes, a quote character of choice, a UTF-8 byte-order mark, CRLF line ends.
SELECT rows_loaded, delimiter FROM pgcredit.load_csv('d_item',
convert_to(E'\uFEFFid|customer|amount|due|paid|note\r\n6|Émile|7|2024-03-01|y|''quoted | pipe''\r\n', 'UTF8'),
  quote => '''');
-- Latin-1 bytes, converted.
SELECT rows_loaded, encoding FROM pgcredit.load_csv('d_item',
convert_to(E'id,customer,amount\n7,Ångström,1\n', 'LATIN1'), encoding => 'LATIN1');
-- NULL markers, and an explicit mapping of header names to columns.
SELECT rows_loaded, ignored_columns FROM pgcredit.load_csv('d_item',
E'Nr,Kunde,Betrag,Extra\n8,Max,N/A,x\n9,Moritz,-,y\n',
  column_map => '{"Nr": "id", "Kunde": "customer", "Betrag": "amount"}', null_markers => '{"",N/A,-}');
-- No header: the columns in file order, or every column in table order.
SELECT rows_loaded FROM pgcredit.load_csv('d_item', E'10,Noel,5\n', header => false,
  columns => '{id,customer,amount}');
SELECT rows_loaded FROM pgcredit.load_csv('d_item', E'11,Olga,6,2024-05-05,f,last\n', header => false);
-- A currency sign after a whole number, with decimal commas.
SELECT rows_loaded FROM pgcredit.load_csv('d_item', E'id;customer;amount\n12;Eve;12 €\n13;Eve;1.234 €\n',
  decimal_comma => true);
-- A header only, and a header with a single empty line after it.
SELECT status, rows_read, rows_loaded FROM pgcredit.load_csv('d_item', E'id,customer\n');
SELECT status, rows_read, rows_loaded FROM pgcredit.load_csv('d_item', E'id,customer\n\n');

SELECT * FROM d_item ORDER BY id;
SELECT count(*) AS runs_with_rejects FROM pgcredit.import_run WHERE rows_rejected > 0;

-- A quoted empty string is a value; an unquoted empty field is NULL.
CREATE TABLE d_text (k int PRIMARY KEY, v text);
SELECT rows_loaded FROM pgcredit.load_csv('d_text', E'k,v\n1,""\n2,\n');
SELECT k, v IS NULL AS is_null, length(v) FROM d_text ORDER BY k;
DROP TABLE d_text;

-- Values a type refuses are rejected with the reason and the column.
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('d_item',
E'id,customer,amount,due,paid\n'
 '20,A,12x,2024-01-01,true\n'
 '21,A,NaN,2024-01-01,true\n'
 '22,A,1,2024-02-30,true\n'
 '23,A,1,13/01/2024,true\n'
 '24,A,1,2024-01-01,maybe\n'
 '2147483648,A,1,2024-01-01,true\n'
 '26,A,1,1/2/24,true\n'
 '27,A,"1,23,4",2024-01-01,true\n'
 '28,A,12345678901.00,2024-01-01,true\n'
 '29,A,Infinity,2024-01-01,true\n'
 '30,A,1e3,2023-02-29,true\n'
 '31,A,,2024-01-01,\n', date_style => 'MDY');
SELECT * FROM d_last_rejects;
SELECT id, amount, due, paid FROM d_item WHERE id >= 20 ORDER BY id;

-- Ragged rows: too few or too many fields.
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('d_item',
E'id,customer,amount\n40,A,1\n41,A\n42,A,1,extra\n43,A,2\n');
SELECT * FROM d_last_rejects;

-- all_or_nothing: one reject and nothing loads; the rejects are kept.
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('d_item',
E'id,customer,amount\n50,A,1\n51,A,x\n52,A,3\n', all_or_nothing => true);
SELECT count(*) AS rows_50_to_52 FROM d_item WHERE id BETWEEN 50 AND 52;
SELECT * FROM d_last_rejects;
-- max_rejects: reading stops once more rows than that are rejected; the
-- rows read by then are loaded or rejected.
SELECT status, rows_read, rows_loaded, rows_rejected FROM pgcredit.load_csv('d_item',
E'id,customer,amount\n60,A,x\n61,A,x\n62,A,1\n63,A,x\n64,A,1\n65,A,1\n', max_rejects => 1);
SELECT id FROM d_item WHERE id BETWEEN 60 AND 65 ORDER BY id;

-- Bad options and bad mappings are errors, and load nothing.
SELECT pgcredit.load_csv('d_item', E'id\n1\n', delimiter => ';;');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id\n1\n', delimiter => '"');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id\n1\n', date_style => 'YDM');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id\n1\n', max_rejects => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id\n1\n', encoding => 'LATIN1');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', convert_to(E'id\n1\n', 'UTF8'), encoding => 'klingon');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'a,b\n1,2\n');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id,amount\n1,2\n');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id,customer,cust\n1,2,3\n', column_map => '{"cust": "customer"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id,customer\n1,2\n', column_map => '{"client": "customer"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'id,client\n1,2\n', column_map => '{"client": "no_such_column"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', E'1,2\n', header => false, columns => '{id,nope}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_item', NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv(NULL, E'id\n1\n');
\echo :LAST_ERROR_SQLSTATE
-- a target given as a number that names no table
SELECT pgcredit.load_csv(0, E'id\n1\n');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv_file(0, '/nonexistent.csv');
\echo :LAST_ERROR_SQLSTATE
-- two column_map keys that match one header name as headers are matched
-- (case and characters other than letters and digits ignored)
SELECT pgcredit.load_csv('d_item', E'id,Customer No\n1,2\n',
                         column_map => '{"Customer No": "customer", "customer_no": "amount"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pgcredit.load_csv('d_last_run', E'id\n1\n');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS items FROM d_item;

DROP VIEW d_last_run, d_last_rejects;
DROP TABLE d_item;
