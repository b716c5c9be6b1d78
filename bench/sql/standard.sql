-- standard.sql: the standard benchmark tables, beside pgbench's (pgbench -i -s SCALE).
--
-- psql -v scale=N -f standard.sql. Deterministic: setseed() fixes random(), and every value
-- is computed from random() and generate_series() in one backend, in order, so the same SCALE
-- gives the same rows. SCALE 30 (with pgbench's tables) makes about 1.3 GB.
--
--   wide   SCALE x 66,666 rows: bigint key, numeric(18,4), timestamptz, text of 0-128 chars,
--          jsonb, bytea, float8, uuid; a few NULLs
--   nopk   the same row count without any key: int, text, timestamptz (duplicates included)
--   uuidt  SCALE x 33,333 rows: uuid key, int, text of 0-99 chars
--   skew   SCALE x 30,000 dense bigint keys, then SCALE x 300 keys spread far past 2^32
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT setseed(0.3);

CREATE TABLE wide (
  id bigint PRIMARY KEY,
  amount numeric(18,4) NOT NULL,
  created_at timestamptz NOT NULL,
  note text,
  attrs jsonb,
  payload bytea,
  score float8,
  ref uuid
);
INSERT INTO wide
SELECT g,
       round((random() * 1e10 - 5e9)::numeric, 4),
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '1500 days',
       CASE WHEN random() < 0.03 THEN NULL
            ELSE left(repeat(md5(random()::text), 4), (random() * 128)::int) END,
       CASE WHEN random() < 0.03 THEN NULL
            ELSE jsonb_build_object('id', g, 'kind', (ARRAY['order', 'refund', 'payment', 'note'])[1 + (random() * 3)::int],
                                    'tags', jsonb_build_array(left(md5(random()::text), 8), (random() * 100)::int),
                                    'ok', random() < 0.5) END,
       decode(left(md5(random()::text) || md5(random()::text), 2 * (8 + (random() * 24)::int)), 'hex'),
       CASE WHEN random() < 0.03 THEN NULL ELSE random() * 1e6 - 5e5 END,
       md5(random()::text)::uuid
FROM generate_series(1, :scale * 66666) AS g;

CREATE TABLE nopk (
  n int,
  label text,
  seen_at timestamptz
);
INSERT INTO nopk
SELECT (random() * 100000)::int,
       left(md5(random()::text), 4 + (random() * 28)::int),
       timestamptz '2021-06-01 00:00:00+00' + (random() * 86400 * 365)::int * interval '1 second'
FROM generate_series(1, :scale * 66666) AS g;
-- some rows twice: a table without a key may hold duplicates, and they must be copied too
INSERT INTO nopk SELECT * FROM nopk LIMIT :scale * 100;

CREATE TABLE uuidt (
  id uuid PRIMARY KEY,
  n int NOT NULL,
  label text NOT NULL
);
INSERT INTO uuidt
SELECT md5(random()::text || g)::uuid,
       (random() * 1e9)::int,
       left(repeat(md5(random()::text), 4), (random() * 99)::int)
FROM generate_series(1, :scale * 33333) AS g;

CREATE TABLE skew (
  id bigint PRIMARY KEY,
  n int NOT NULL,
  label text
);
INSERT INTO skew
SELECT g, (random() * 1e6)::int, left(md5(random()::text), (random() * 24)::int)
FROM generate_series(1, :scale * 30000) AS g;
-- sparse keys, each in its own 2^32-wide band, so far past 2^32 and far apart
INSERT INTO skew
SELECT g * 4294967296 + (random() * 1e9)::bigint, (random() * 1e6)::int, left(md5(random()::text), (random() * 24)::int)
FROM generate_series(1, :scale * 300) AS g;
