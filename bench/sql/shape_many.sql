-- shape_many.sql: many small tables, to show the cost per table (catalog, planning, schema
-- steps, one COPY and one index each).
--
-- psql -v scale=N -v tables=T -f shape_many.sql: T tables (the benchmark uses 10,000), each
-- with a key and SCALE x 10 rows. A commit every 500 tables keeps the lock table small.
-- Deterministic (setseed).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(0.7);
CREATE TEMP TABLE shape_many_args AS SELECT :tables::int AS tables, :scale::int AS scale;

DO $$
DECLARE
  ntables int := (SELECT tables FROM shape_many_args);
  nrows int := 10 * (SELECT scale FROM shape_many_args);
BEGIN
  FOR i IN 1 .. ntables LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, n int NOT NULL, label text)',
                   'small_' || lpad(i::text, 5, '0'));
    EXECUTE format('INSERT INTO %I SELECT g, (random() * 1e6)::int, md5(random()::text) '
                   'FROM generate_series(1, %s) AS g', 'small_' || lpad(i::text, 5, '0'), nrows);
    IF i % 500 = 0 THEN
      COMMIT;
    END IF;
  END LOOP;
END
$$;
