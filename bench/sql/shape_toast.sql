-- shape_toast.sql: large TOASTed values, to show the cost of out-of-line storage.
--
-- psql -v scale=N -f shape_toast.sql: SCALE x 200 rows, each with a compressible text of
-- 20-180 kB (a repeated sentence) and an incompressible bytea of 8-192 kB (random bytes):
-- about 1.2 GB as COPY binary at SCALE 30. Deterministic (setseed).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT setseed(0.9);

CREATE TABLE toasty (
  id bigint PRIMARY KEY,
  title text NOT NULL,
  doc text,
  blob bytea
);
INSERT INTO toasty
SELECT g,
       'document ' || g,
       repeat('The quick brown fox ' || g || ' jumps over the lazy dog. ', 500 + (random() * 4000)::int),
       -- correlated with g, so that the subquery runs once per row
       (SELECT decode(string_agg(md5(random()::text), ''), 'hex')
        FROM generate_series(1, 512 + (random() * 11776)::int + 0 * g))
FROM generate_series(1, :scale * 200) AS g;
