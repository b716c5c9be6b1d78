-- shape_big.sql: one very large table, to show how a single table is split across workers.
--
-- psql -v scale=N -f shape_big.sql: SCALE x 300,000 rows of about 90 bytes each (SCALE 30
-- gives a table of about 1 GB with its key). Deterministic (setseed).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT setseed(0.5);

CREATE TABLE big (
  id bigint PRIMARY KEY,
  account int NOT NULL,
  amount numeric(12,2) NOT NULL,
  label text,
  booked_at timestamptz NOT NULL
);
INSERT INTO big
SELECT g,
       (random() * 1e6)::int,
       round((random() * 1e6)::numeric, 2),
       left(md5(random()::text) || md5(random()::text), (random() * 48)::int),
       timestamptz '2022-01-01 00:00:00+00' + (random() * 86400 * 730)::int * interval '1 second'
FROM generate_series(1, :scale * 300000) AS g;
