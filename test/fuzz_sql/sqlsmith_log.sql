-- The tables sqlsmith --log-to=... writes to (the Debian package does not
-- ship them): one row an sqlsmith run, one a failed statement with its
-- SQLSTATE and text, and the run's statistics.  Written by sqlsmith over a
-- superuser's connection to a database of its own, never by the role it
-- fuzzes as.
\set ON_ERROR_STOP on
\i test/scratch_db.sql
CREATE TABLE instance (
  id        bigserial PRIMARY KEY,
  rev       text,
  target    text,
  hostname  text,
  version   text,
  seed      text,
  t         timestamptz DEFAULT now()
);
CREATE TABLE error (
  errid     bigserial PRIMARY KEY,
  id        bigint REFERENCES instance (id),
  msg       text,
  query     text,
  sqlstate  text,
  t         timestamptz DEFAULT now()
);
CREATE TABLE stat (
  id         bigint REFERENCES instance (id),
  generated  bigint,
  level      float8,
  nodes      float8,
  retries    float8,
  updated    timestamptz,
  impedance  text
);
