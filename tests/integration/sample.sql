-- sample.sql: the database that the clone must copy exactly.
--
-- Every object here stands for an acceptance criterion of `pgsluice clone`: every common
-- built-in type with its edge values, arrays, enums, composites, domains, ranges and
-- multiranges, values of more than 10 MB, generated and identity columns, a dropped column,
-- keyless tables with duplicate rows, a nullable unique key full of NULLs, skewed and gappy
-- keys of many types, partitions and sub-partitions across schemas, inheritance, a table with
-- no columns, an empty table, an unlogged table, row level security, hostile identifiers,
-- sequences in every state, views, a materialized view, a foreign key, indexes, a CHECK
-- constraint and a trigger. The keyed and keyless tables hold a few MB each, so that a chunk
-- size of 1MB splits them into several chunks.
--
-- Load into an existing, empty database:  psql -X -v ON_ERROR_STOP=1 -d DB -f sample.sql
-- Deterministic: random() is seeded, and parallel query is off so that rows are generated
-- in one process, in order.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET client_encoding = 'UTF8';
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SELECT setseed(0.4242);

CREATE SCHEMA part_other;
CREATE SCHEMA "select";
CREATE SCHEMA "Sché ""ma""
  zwei";

---------------------------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------------------------

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
-- Labels added later, one before the others: sort order differs from OID order.
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
ALTER TYPE mood ADD VALUE 'with space, "quote"' AFTER 'happy';
ALTER TYPE mood ADD VALUE '😀';

CREATE TYPE pair AS (a int, b text);
CREATE TYPE nested AS (name text, items pair[], m mood);
-- A composite with a dropped attribute.
CREATE TYPE triple AS (a int, b int, c text);
ALTER TYPE triple DROP ATTRIBUTE b;

CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN pair_d AS pair CHECK ((VALUE).a IS NULL OR (VALUE).a >= 0);
CREATE DOMAIN intarr_d AS int[] CHECK (cardinality(VALUE) < 10);
CREATE DOMAIN short_text AS varchar(40) DEFAULT '' NOT NULL;

-- A user-defined range type; PostgreSQL also makes floatrange_multi for it.
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi,
                                 multirange_type_name = floatrange_multi);

---------------------------------------------------------------------------------------------
-- Every common built-in type, with its edge values
---------------------------------------------------------------------------------------------

CREATE TABLE types_all (
  id              serial PRIMARY KEY,
  c_smallint      smallint,
  c_int           int,
  c_bigint        bigint,
  c_numeric       numeric,
  c_numeric_typed numeric(20, 5),
  c_real          real,
  c_double        double precision,
  c_date          date,
  c_timestamp     timestamp,
  c_timestamp3    timestamp(3),
  c_timestamptz   timestamptz,
  c_interval      interval,
  c_time          time,
  c_timetz        timetz,
  c_text          text,
  c_varchar       varchar(20),
  c_char          char(5),
  c_bytea         bytea,
  c_bool          boolean,
  c_uuid          uuid,
  c_inet          inet,
  c_cidr          cidr,
  c_macaddr       macaddr,
  c_macaddr8      macaddr8,
  c_json          json,
  c_jsonb         jsonb,
  c_bit           bit(8),
  c_varbit        varbit(64),
  c_money         money,
  c_point         point,
  c_box           box,
  c_polygon       polygon,
  c_line          line,
  c_lseg          lseg,
  c_path          path,
  c_circle        circle,
  c_tsvector      tsvector,
  c_tsquery       tsquery,
  c_oid           oid,
  c_char1         "char",
  c_name          name,
  c_pg_lsn        pg_lsn
);

-- Minimum values.
INSERT INTO types_all (c_smallint, c_int, c_bigint, c_numeric, c_numeric_typed, c_real, c_double,
    c_date, c_timestamp, c_timestamp3, c_timestamptz, c_interval, c_time, c_timetz, c_text,
    c_varchar, c_char, c_bytea, c_bool, c_uuid, c_inet, c_cidr, c_macaddr, c_macaddr8, c_json,
    c_jsonb, c_bit, c_varbit, c_money, c_point, c_box, c_polygon, c_line, c_lseg, c_path,
    c_circle, c_tsvector, c_tsquery, c_oid, c_char1, c_name, c_pg_lsn)
VALUES (-32768, -2147483648, -9223372036854775808,
    ('-1' || repeat('0', 131071))::numeric, -999999999999999.99999,
    '-3.4028235e+38', '-1.7976931348623157e+308',
    '4714-11-24 BC', '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00+00 BC',
    '-178000000 years -2147483647 days -2562047788:00:54.775807', '00:00:00', '00:00:00+15:59',
    'a', '', ' ', '\x00', false, '00000000-0000-0000-0000-000000000000',
    '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',
    '[]', '{}', B'00000000', B'', '-92233720368547758.08',
    '(-1.7976931348623157e+308,-1.7976931348623157e+308)', '((0,0),(0,0))', '((0,0))',
    '{1,-1,0}', '[(0,0),(0,0)]', '[(0,0)]', '<(0,0),0>',
    '', '!a', 0, '', '', '0/0');

-- Maximum values.
INSERT INTO types_all (c_smallint, c_int, c_bigint, c_numeric, c_numeric_typed, c_real, c_double,
    c_date, c_timestamp, c_timestamp3, c_timestamptz, c_interval, c_time, c_timetz, c_text,
    c_varchar, c_char, c_bytea, c_bool, c_uuid, c_inet, c_cidr, c_macaddr, c_macaddr8, c_json,
    c_jsonb, c_bit, c_varbit, c_money, c_point, c_box, c_polygon, c_line, c_lseg, c_path,
    c_circle, c_tsvector, c_tsquery, c_oid, c_char1, c_name, c_pg_lsn)
VALUES (32767, 2147483647, 9223372036854775807,
    ('0.' || repeat('0', 16382) || '1')::numeric, 999999999999999.99999,
    '3.4028235e+38', '1.7976931348623157e+308',
    '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999',
    '294276-12-31 23:59:59.999999+00',
    '178000000 years 2147483647 days 2562047788:00:54.775807', '24:00:00', '24:00:00-15:59',
    repeat('z', 1000), repeat('é', 20), 'zzzzz', '\xffffffffffffffff', true,
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
    'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff',
    '{"deep": [[[[[[[[[[1]]]]]]]]]], "big": 1e400}', '{"big": 1e400, "small": -1e-400}',
    B'11111111', B'1111111111111111111111111111111111111111111111111111111111111111',
    '92233720368547758.07',
    '(1.7976931348623157e+308,1.7976931348623157e+308)', '((1e300,1e300),(-1e300,-1e300))',
    '((0,0),(1e300,0),(1e300,1e300),(0,1e300))', '{1e300,1e-300,-1e300}',
    '[(1e300,1e300),(-1e300,-1e300)]', '((0,0),(1,1),(2,0))', '<(1e300,1e300),1e300>',
    'a:1A fat:2B,4C cat:5D rat:16383', '(fat & rat) | !cat <-> mouse', 4294967295, 'z',
    repeat('n', 63), 'FFFFFFFF/FFFFFFFF');

-- Special values: NaN, infinities, negative zero, tiny floats, BC dates, odd text.
INSERT INTO types_all (c_smallint, c_int, c_bigint, c_numeric, c_numeric_typed, c_real, c_double,
    c_date, c_timestamp, c_timestamp3, c_timestamptz, c_interval, c_time, c_timetz, c_text,
    c_varchar, c_char, c_bytea, c_bool, c_uuid, c_inet, c_cidr, c_macaddr, c_macaddr8, c_json,
    c_jsonb, c_bit, c_varbit, c_money, c_point, c_box, c_polygon, c_line, c_lseg, c_path,
    c_circle, c_tsvector, c_tsquery, c_oid, c_char1, c_name, c_pg_lsn)
VALUES
  (0, 0, 0, 'NaN', 'NaN', 'NaN', 'NaN',
   'infinity', 'infinity', 'infinity', 'infinity', '0', '12:34:56.789012', '12:34:56.789012+05:30',
   E'emoji 😀🐘👩‍👩‍👧 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 cjk 漢字 rtl שלום', 'ünïcödé', 'ab', '\x000000', NULL,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '192.168.0.0/24', '08:00:2b:01:02:03',
   '08:00:2b:01:02:03:04:05', '{"a": 1, "a": 2,   "spaces" :  true, "u": "\u00e9\ud83d\ude00"}',
   '{"emoji": "😀", "nested": {"k": [1, 2.50, null, true, false, "x"]}}',
   B'10101010', B'1', '0.00', '(NaN,NaN)', '((1,2),(3,4))', '((0,0),(1,0),(0,1))', '{0,1,0}',
   '[(1,2),(3,4)]', '[(0,0),(1,1)]', '<(0,0),0.5>', E'''don''''t'' stop:1', 'x & y', 1, 'a',
   'name with space', '16/B374D848'),
  (-1, -1, -1, 'Infinity', 0.00001, 'Infinity', 'Infinity',
   '-infinity', '-infinity', '-infinity', '-infinity', '-1 day +23:59:59.999999', '23:59:59.999999',
   '23:59:59.999999-12', E'tab\there\nnewline\rcr\\backslash', E'\\N', E'a\\b', '\x5c4e', true,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '::1', '::/0', '01:23:45:67:89:ab',
   '01:23:45:67:89:ab:cd:ef', '"\u0000 is allowed in json, not jsonb"', 'null',
   B'00000001', B'0101', '-0.01', '(-0,0)', '((-1,-1),(1,1))', '((0,0),(0,0),(0,0))', '{-1,0,5}',
   '[(0,0),(0,0)]', '((1,1))', '<(0,0),0>', 'a b c', '!!a', 2, '~', 'ß', '0/1'),
  (1, 1, 1, '-Infinity', -0.00001, '-Infinity', '-Infinity',
   '2000-02-29', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999',
   '0001-01-01 00:00:00+00 BC', '1 mon -1 day 00:00:00.000001', '00:00:00.000001', '00:00:00+00',
   E'quote '' double " comma , brace { } paren ( )', '"', '"', '\xdeadbeef00ff00', false,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', '2001:db8::1/64', '2001:db8::/32', 'ff:00:00:00:00:01',
   'ff:00:00:00:00:00:00:01', 'null', '""', B'11110000', B'10', '1.00', '(1e-300,-1e-300)',
   '((1e-300,1e-300),(0,0))', '((1,1),(2,2),(3,1))', '{1,1,1}', '[(0,0),(1e-300,1e-300)]',
   '[(1,2),(3,4),(5,6)]', '<(1,1),1e-300>', 'the:1 quick:2 brown:3 fox:4', 'a:* & b:AB', 3, 'Z',
   'ünïcödé name', '1/0'),
  (2, 2, 2, '-0.000', '0', '-0', '-0',
   '0001-01-01 BC', '0001-01-01 00:00:00 BC', '0001-12-31 23:59:59.999 BC',
   '1970-01-01 00:00:00+00', '-178000000 years', '12:00', '12:00-00:01',
   'NULL', 'null', 'NULL', '\x', NULL,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', '10.1.2.3', '10.0.0.0/8', '00:00:00:00:00:01',
   '00:00:00:00:00:00:00:01', '{}', '{"": ""}', B'00000000', B'0', '0', '(0,-0)',
   '((0,0),(0,0))', '((0,0),(0,0))', '{0,-1,0}', '[(0,0),(0,0)]', '[(0,0)]', '<(0,0),0>',
   'a:1,2,3,4,5', 'a <2> b', 4, '0', '', '0/0'),
  (3, 3, 3, '1.401298464324817e-45', '3', '1.4e-45', '4.9406564584124654e-324',
   '2024-02-29', '2024-02-29 12:00:00', '2024-02-29 12:00:00', '2024-02-29 12:00:00+14',
   '2 years 3 mons 4 days 05:06:07.080910', '01:02:03', '01:02:03+01:02:03', repeat('long ', 2000),
   '', '', decode(repeat('00', 3000), 'hex'), true,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a15', '10.1.2.3/32', '10.1.2.3/32', 'aa:bb:cc:dd:ee:ff',
   'aa:bb:cc:dd:ee:ff:00:11', '[1, 2.500, -0, 1e-7]', '[1, 2.500, -0, 1e-7]', B'01010101', B'1111',
   '123.45', '(1.17549435e-38,2.2250738585072014e-308)', '((1.5,2.5),(-1.5,-2.5))',
   '((1,2),(3,4),(5,6),(7,8))', '{2,3,4}', '[(1.5,2.5),(3.5,4.5)]', '((0,0),(0,1))', '<(1,2),3>',
   'ü:1 ß:2 😀:3', 'ü | ß', 5, 'é', 'emoji 😀', '1/FF');

-- All NULL, and all empty where empty exists.
INSERT INTO types_all (id) VALUES (DEFAULT);
INSERT INTO types_all (c_text, c_varchar, c_char, c_bytea, c_json, c_jsonb, c_varbit, c_tsvector,
    c_name, c_char1)
VALUES ('', '', '', '', '""', '""', B'', '', '', '');

-- xml, where the server is built with libxml.
DO $$
BEGIN
  PERFORM '<a/>'::xml;
  ALTER TABLE types_all ADD COLUMN c_xml xml;
  UPDATE types_all SET c_xml = CASE id % 4
      WHEN 0 THEN '<a b="ü">😀 &amp; &lt;tag&gt;</a>'::xml
      WHEN 1 THEN 'plain text <b>fragment</b> tail'::xml
      WHEN 2 THEN '<?xml version="1.0"?><root><x/></root>'::xml
      ELSE NULL END
    WHERE id > 1;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'xml is not available on this server: no xml column';
END
$$;

-- Many ordinary rows, so that the table (moved to text format for its tsvector) spans chunks.
INSERT INTO types_all (c_smallint, c_int, c_bigint, c_numeric, c_numeric_typed, c_real, c_double,
    c_date, c_timestamp, c_timestamp3, c_timestamptz, c_interval, c_time, c_timetz, c_text,
    c_varchar, c_char, c_bytea, c_bool, c_uuid, c_inet, c_cidr, c_macaddr, c_macaddr8, c_json,
    c_jsonb, c_bit, c_varbit, c_money, c_point, c_box, c_polygon, c_line, c_lseg, c_path,
    c_circle, c_tsvector, c_tsquery, c_oid, c_char1, c_name, c_pg_lsn)
SELECT (i % 32000)::smallint, i * 7919, i::bigint * 1000000007,
    round((random() * 1e12)::numeric, (i % 20)), round((random() * 1e9)::numeric, 5),
    (random() * 1000)::real, random() * 1e100,
    date '2000-01-01' + (i % 20000), timestamp '2000-01-01' + i * interval '37 min 11.123456 s',
    timestamp '2000-01-01' + i * interval '37 min 11.123 s',
    timestamptz '2000-01-01 00:00:00+00' + i * interval '1 hour 0.000001 s',
    make_interval(months => i % 25, days => i % 31, secs => i * 0.5::float8), time '00:00' + i * interval '1 s',
    (time '00:00' + i * interval '1 s')::timetz,
    md5(i::text) || ' ' || repeat(chr(913 + i % 20), i % 7) || CASE WHEN i % 97 = 0 THEN ' 😀' ELSE '' END,
    left(md5(random()::text), i % 21), left(md5(i::text), 5),
    decode(md5(i::text) || CASE WHEN i % 3 = 0 THEN '00' ELSE '' END, 'hex'), i % 3 = 0,
    md5('uuid' || i)::uuid, ('10.' || i % 256 || '.' || (i / 256) % 256 || '.1')::inet,
    ('10.' || i % 256 || '.0.0/16')::cidr, ('08:00:2b:' || lpad(to_hex(i % 256), 2, '0') || ':00:01')::macaddr,
    ('08:00:2b:01:02:03:04:' || lpad(to_hex(i % 256), 2, '0'))::macaddr8,
    json_build_object('i', i, 'r', round(random()::numeric, 6), 't', md5(i::text)),
    jsonb_build_object('i', i, 'arr', jsonb_build_array(i, i * 2, NULL, 'x')),
    (i % 256)::bit(8), (i::bit(32))::varbit, (i * 1.25)::numeric::money,
    point(i, -i), box(point(i, i), point(-i, 0)), polygon(box(point(0, 0), point(i, i))),
    line(point(0, 0), point(1, i + 1)), lseg(point(0, i), point(i, 0)),
    path(polygon(box(point(0, 0), point(i, 1)))), circle(point(i, i), i),
    to_tsvector('english', 'the quick brown fox ' || md5(i::text) || ' jumps ' || i),
    plainto_tsquery('english', 'fox ' || i), i, chr(65 + i % 26), 'n' || i,
    ('0/' || to_hex(i * 4096))::pg_lsn
FROM generate_series(1, 12000) AS i;

---------------------------------------------------------------------------------------------
-- Arrays, enums, composites, domains, ranges and multiranges
---------------------------------------------------------------------------------------------

CREATE TABLE arrays_t (
  id     int PRIMARY KEY,
  ia     int[],
  ia2    int[][],
  ia3    int[][][],
  ta     text[],
  ba     bytea[],
  na     numeric[],
  fa     float8[],
  tsa    timestamptz[],
  ea     mood[],
  ca     pair[],
  tra    triple[],
  da     posint[],
  ra     int4range[],
  ja     jsonb[],
  ua     uuid[]
);
INSERT INTO arrays_t VALUES
  (1, '{1,2,3}', '{{1,2},{3,NULL}}', '{{{1,2},{3,4}},{{5,6},{7,8}}}',
   '{NULL,"NULL","","a,b","quote\"d","back\\slash","😀","{brace}"," spaced "}',
   '{"\\x00","\\x","\\xff00",NULL}', '{NaN,Infinity,-Infinity,0.000,1e-100,NULL}',
   '{NaN,Infinity,-Infinity,-0,1e-320,NULL}', '{infinity,-infinity,"2000-01-01 00:00:00+00",NULL}',
   '{sad,happy,😀,"with space, \"quote\"",NULL}', ARRAY[ROW(1, 'one'), ROW(NULL, NULL), NULL]::pair[],
   ARRAY[ROW(1, 'x')::triple, ROW(NULL, '')::triple], '{1,2,2147483647}', '{"[1,5)",empty,"(,)",NULL}',
   ARRAY['{"a": 1}', 'null', '[]']::jsonb[], '{00000000-0000-0000-0000-000000000000,NULL}'),
  (2, '[0:2]={10,20,30}', '[0:1][-5:-4]={{1,2},{3,4}}', '[-1:-1][1:1][2:3]={{{9,8}}}',
   '[5:6]={x,y}', '[-2:-2]={"\\xdead"}', '[1:1]={1.10}', '[3:3]={1.5}',
   '[0:0]={"1999-12-31 23:59:59.999999+00"}', '[-10:-9]={ok,meh}', '[2:2]={"(2,two)"}', '[9:9]={"(9,nine)"}',
   '[0:0]={5}', '[7:7]={"[-10,10]"}', '[100:100]={"{\"k\": [1, 2]}"}', '[2:2]={ffffffff-ffff-ffff-ffff-ffffffffffff}'),
  (3, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '{NULL}', '{{NULL,NULL},{NULL,NULL}}', '{{{NULL}}}', '{NULL,NULL}', '{NULL}', '{NULL}', '{NULL}',
   '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}');
INSERT INTO arrays_t
SELECT 100 + i, ARRAY[i, -i, NULL], ARRAY[[i, i + 1], [i + 2, NULL]], ARRAY[[[i]], [[-i]]],
    ARRAY[md5(i::text), NULL, ''], ARRAY[decode(md5(i::text), 'hex')], ARRAY[i / 7.0, 'NaN'],
    ARRAY[i / 3.0, 'Infinity'], ARRAY[timestamptz '2020-01-01 00:00+00' + i * interval '1 min'],
    ARRAY[(enum_range(NULL::mood))[1 + i % 6], NULL], ARRAY[ROW(i, md5(i::text))::pair, NULL],
    ARRAY[ROW(i, 't' || i)::triple], ARRAY[1 + i]::posint[], ARRAY[int4range(i, i + 10), 'empty'],
    ARRAY[jsonb_build_object('i', i)], ARRAY[md5('a' || i)::uuid]
FROM generate_series(1, 3000) AS i;

CREATE TABLE enums_t (
  id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  m  mood NOT NULL,
  ms mood[],
  note short_text
);
INSERT INTO enums_t (m, ms, note)
SELECT (enum_range(NULL::mood))[1 + i % 6], enum_range(NULL::mood), 'row ' || i
FROM generate_series(1, 600) AS i;

CREATE TABLE composites_t (
  id  int PRIMARY KEY,
  p   pair,
  n   nested,
  nn  nested[],
  t   triple,
  pd  pair_d,
  iad intarr_d,
  pdd pair_d[]
);
INSERT INTO composites_t VALUES
  (1, ROW(1, 'one'), ROW('outer', ARRAY[ROW(1, 'a'), ROW(2, NULL), NULL]::pair[], 'happy'),
   ARRAY[ROW('x', ARRAY[ROW(3, 'c')]::pair[], 'sad')::nested, NULL], ROW(7, 'seven'),
   ROW(1, 'd'), '{1,2,3}', ARRAY[ROW(5, 'five')::pair_d]),
  (2, ROW(NULL, NULL), ROW(NULL, NULL, NULL), '{}', ROW(NULL, NULL), ROW(0, ''), '{}', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, ROW(-1, E'quote " comma , paren ( ) backslash \\ 😀'),
   ROW(E'name\nwith newline', '[0:0]={"(1,x)"}'::pair[], '😀'),
   ARRAY[ROW('', '{}'::pair[], 'with space, "quote"')::nested],
   ROW(-2147483648, ''), ROW(2147483647, NULL), '[-1:0]={7,NULL}', '[3:3]={"(3,c)"}');
INSERT INTO composites_t
SELECT 100 + i, ROW(i, md5(i::text))::pair,
    ROW('n' || i, ARRAY[ROW(i, 'a'), ROW(-i, NULL)]::pair[], (enum_range(NULL::mood))[1 + i % 6])::nested,
    ARRAY[ROW('m' || i, ARRAY[ROW(i, 'b')]::pair[], 'ok')::nested],
    ROW(i, 't' || i)::triple, ROW(i, 'pd')::pair::pair_d, ARRAY[i, i + 1]::intarr_d,
    ARRAY[ROW(i, 'q')::pair::pair_d]
FROM generate_series(1, 3000) AS i;

CREATE TABLE ranges_t (
  id  int PRIMARY KEY,
  r4  int4range,
  r8  int8range,
  rn  numrange,
  rd  daterange,
  rts tsrange,
  rtz tstzrange,
  rf  floatrange,
  mr4 int4multirange,
  mrn nummultirange,
  mrz tstzmultirange,
  mrf floatrange_multi
);
INSERT INTO ranges_t VALUES
  (1, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', '{}', '{}', '{}', '{}'),
  (2, '(,)', '(,)', '(,)', '(,)', '(,)', '(,)', '(,)', '{(,)}', '{(,)}', '{(,)}', '{(,)}'),
  (3, '[-2147483648,2147483647)', '[-9223372036854775808,9223372036854775807)', '[NaN,NaN]',
   '[-infinity,infinity]', '[-infinity,infinity)', '[2000-01-01 00:00+00,infinity)',
   '[-Infinity,Infinity]', '{[1,3),[5,8),[10,11)}', '{[1.5,2.5],(3,)}',
   '{[2000-01-01 00:00+00,2001-01-01 00:00+00),[2002-01-01 00:00+00,infinity)}',
   '{[0,0.5),(0.75,1]}'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '[5,)', '(,0]', '(0.000,1.10]', '[4714-11-24 BC,2000-01-01)', '(,2000-01-01 00:00]',
   '["4714-11-24 00:00:00+00 BC",)', '[-0,1e-300]', '{(,0),[10,)}', '{[1,1]}',
   '{[-infinity,-infinity]}', '{[NaN,NaN]}');
INSERT INTO ranges_t
SELECT 100 + i, int4range(i, i + i % 17), int8range(i::bigint << 33, (i::bigint << 33) + 5),
    numrange(i / 3.0, i / 2.0, '(]'), daterange(date '2000-01-01' + i, date '2000-01-01' + 2 * i),
    tsrange(timestamp '2000-01-01' + i * interval '1 h', NULL),
    tstzrange(timestamptz '2000-01-01 00:00+00', timestamptz '2000-01-01 00:00+00' + i * interval '1 d'),
    floatrange(i * 0.1, i * 0.2), int4multirange(int4range(i, i + 1), int4range(i + 5, i + 9)),
    nummultirange(numrange(i, NULL)), tstzmultirange(), floatrange_multi(floatrange(-i, i))
FROM generate_series(1, 3000) AS i;

---------------------------------------------------------------------------------------------
-- Large values: a text and a bytea of more than 10 MB, a few rows
---------------------------------------------------------------------------------------------

CREATE TABLE big_values (
  id   int PRIMARY KEY,
  note text,
  t    text,
  b    bytea
);
-- Random, so that TOAST cannot compress it much: 10.5 MB of text and of bytea.
INSERT INTO big_values
SELECT 1, 'random', string_agg(md5(random()::text), '' ORDER BY g),
       decode(string_agg(md5(random()::text), '' ORDER BY g), 'hex')
FROM generate_series(1, 344064) AS g;
UPDATE big_values SET b = b || b WHERE id = 1;   -- 11 MB of random bytea
-- Compressible, with 4-byte characters and zero bytes: 12 MB of text, 11 MB of bytea.
INSERT INTO big_values
VALUES (2, 'repeated', repeat('🐘 elephant 😀 ', 750000),
        decode(repeat('00ff00', 3800000), 'hex'));
INSERT INTO big_values VALUES (3, 'small', 'x', '\x00'), (4, 'nulls', NULL, NULL), (5, 'empty', '', '');

-- Medium TOASTed values, for chunks measured in bytes rather than rows.
CREATE TABLE toasty (
  id  bigint PRIMARY KEY,
  doc text
);
INSERT INTO toasty
SELECT i, (SELECT string_agg(md5(random()::text || g || i), '' ORDER BY g) FROM generate_series(1, 100 + i % 200) AS g)
FROM generate_series(1, 600) AS i;

---------------------------------------------------------------------------------------------
-- Generated, identity and dropped columns
---------------------------------------------------------------------------------------------

CREATE TABLE gen_ident (
  id       bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 7) PRIMARY KEY,
  id2      int GENERATED BY DEFAULT AS IDENTITY,
  a        int NOT NULL,
  b        text,
  a_double int GENERATED ALWAYS AS (a * 2) STORED,
  b_upper  text GENERATED ALWAYS AS (upper(b) || '!') STORED
);
INSERT INTO gen_ident (a, b) SELECT i, 'row ' || md5(i::text) FROM generate_series(1, 20000) AS i;
-- Identity values that the sequence did not hand out must be copied as they are.
INSERT INTO gen_ident (id, id2, a, b) OVERRIDING SYSTEM VALUE
VALUES (-5, -5, 5, 'overridden'), (9000000000000, 2147483647, 6, 'far');
INSERT INTO gen_ident (id2, a, b) VALUES (-1, 7, 'explicit by default');

CREATE TABLE dropped_col (
  id    int PRIMARY KEY,
  a     text,
  gone  text,
  b     int
);
INSERT INTO dropped_col (id, a, b) SELECT i, 'a' || i, i * 3 FROM generate_series(1, 8000) AS i;
ALTER TABLE dropped_col ADD COLUMN later text;
UPDATE dropped_col SET gone = repeat('x', 50) || id, later = 'later ' || id;
ALTER TABLE dropped_col DROP COLUMN gone;
ALTER TABLE dropped_col ADD COLUMN after_drop int DEFAULT 42;
ALTER TABLE dropped_col ADD COLUMN after_drop_volatile double precision;
UPDATE dropped_col SET after_drop_volatile = id / 7.0 WHERE id % 2 = 0;

---------------------------------------------------------------------------------------------
-- Keyless tables, nullable unique keys
---------------------------------------------------------------------------------------------

-- Each row three times, exactly; NULL rows and all-NULL rows duplicated too.
CREATE TABLE nokey (
  a int,
  b text,
  c numeric
);
INSERT INTO nokey
SELECT i % 20000, 'dup ' || md5((i % 20000)::text) || repeat('.', i % 40), (i % 20000) / 3.0
FROM generate_series(1, 60000) AS i;
INSERT INTO nokey VALUES (NULL, NULL, NULL), (NULL, NULL, NULL), (NULL, NULL, NULL),
                         (1, NULL, NULL), (1, NULL, NULL), (NULL, '', NULL), (NULL, '', NULL);
-- Updated rows move: ctid order is no longer insertion order.
UPDATE nokey SET c = c + 1 WHERE a % 97 = 0;

CREATE TABLE nokey_wide (
  payload text,
  n       bigint
);
INSERT INTO nokey_wide
SELECT repeat(md5((i % 500)::text), 8), i % 500 FROM generate_series(1, 6000) AS i;

CREATE TABLE nullable_unique (
  u    int UNIQUE,
  v    text NOT NULL,
  pad  text
);
INSERT INTO nullable_unique
SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE i END, 'v' || i, md5(i::text) || md5((-i)::text)
FROM generate_series(1, 25000) AS i;
INSERT INTO nullable_unique VALUES (NULL, 'null again', NULL), (NULL, 'null again', NULL);

---------------------------------------------------------------------------------------------
-- Keyed tables: skewed and gappy bigint, text with a collation, uuid, numeric, timestamptz,
-- composite
---------------------------------------------------------------------------------------------

CREATE TABLE k_bigint (
  id      bigint PRIMARY KEY,
  n       int NOT NULL,
  payload text
);
-- 50,000 dense keys, then a few hundred spread far up to 2^62 and down to -2^62.
INSERT INTO k_bigint
SELECT i, i % 1000, md5(i::text) || md5((i * 2)::text) FROM generate_series(1, 50000) AS i;
INSERT INTO k_bigint
SELECT (4611686018427387904::numeric * (i / 300.0) ^ 3)::bigint + i, i, 'far up ' || i
FROM generate_series(1, 300) AS i;
INSERT INTO k_bigint
SELECT -(4611686018427387904::numeric * (i / 200.0) ^ 2)::bigint - i, -i, 'far down ' || i
FROM generate_series(1, 200) AS i;
INSERT INTO k_bigint VALUES (4294967296, 0, '2^32'), (4294967295, 0, '2^32-1'), (0, 0, 'zero'),
  (9223372036854775807, 0, 'max'), (-9223372036854775808, 0, 'min');
DELETE FROM k_bigint WHERE id BETWEEN 20000 AND 24999;   -- a gap inside the dense part

-- Text keys under a non-C collation where the server has one (ICU, else C.UTF-8 from libc).
DO $$
DECLARE
  coll text;
BEGIN
  SELECT collname INTO coll FROM pg_collation
  WHERE collname IN ('en-x-icu', 'und-x-icu', 'C.utf8', 'C.UTF-8')
    AND collencoding IN (-1, pg_char_to_encoding('UTF8'))
  ORDER BY array_position(ARRAY['en-x-icu', 'und-x-icu', 'C.utf8', 'C.UTF-8'], collname::text)
  LIMIT 1;
  IF coll IS NULL THEN
    coll := 'default';
  END IF;
  EXECUTE format('CREATE TABLE k_text (k text COLLATE %I PRIMARY KEY, v text, c_key text COLLATE "C" UNIQUE)', coll);
END
$$;
INSERT INTO k_text
SELECT 'key ' || md5(i::text) || CASE i % 3 WHEN 0 THEN ' Ä' WHEN 1 THEN ' a' ELSE ' Z' END,
       repeat(md5((-i)::text), 2), 'c' || i
FROM generate_series(1, 30000) AS i;
INSERT INTO k_text VALUES ('', 'empty key', 'c-empty'), (' ', 'space', 'c-space'),
  ('a', 'lower', 'c-a'), ('A', 'upper', 'c-A'), ('ä', 'umlaut', 'c-ä'), ('Ä', 'Umlaut', 'c-Ä'),
  ('z', 'z', 'c-z'), ('😀', 'emoji', 'c-😀'), ('trailing ', 'trailing space', 'c-t'),
  (E'new\nline', 'newline', 'c-nl'), ('~~~~', 'tilde', 'c-tilde'), ('0', 'zero', 'c-0'),
  ('-1', 'minus one', 'c--1'), ('Æble', 'ligature', 'c-ae'), ('ﬃ', 'ffi ligature', 'c-ffi');

CREATE TABLE k_uuid (
  id uuid PRIMARY KEY,
  v  text
);
INSERT INTO k_uuid SELECT md5('k_uuid' || i)::uuid, repeat(md5(i::text), 2) FROM generate_series(1, 30000) AS i;
INSERT INTO k_uuid VALUES ('00000000-0000-0000-0000-000000000000', 'nil'),
                          ('ffffffff-ffff-ffff-ffff-ffffffffffff', 'max');

CREATE TABLE k_numeric (
  id numeric PRIMARY KEY,
  v  text
);
INSERT INTO k_numeric
SELECT (i - 10000) * 1.000001 + CASE WHEN i % 2 = 0 THEN 0.5 ELSE 0 END, md5(i::text) || md5((i + 1)::text)
FROM generate_series(1, 20000) AS i;
INSERT INTO k_numeric VALUES ('NaN', 'not a number'), ('Infinity', 'inf'), ('-Infinity', '-inf'),
  (1e100, 'huge'), (-1e100, '-huge'), (1e-100, 'tiny'), (-1e-100, '-tiny'),
  (0.00000000000000000001, 'scale 20'), (123456789012345678901234567890.123456789, 'wide');

CREATE TABLE k_tstz (
  ts timestamptz PRIMARY KEY,
  v  text
);
INSERT INTO k_tstz
SELECT timestamptz '1990-01-01 00:00+00' + i * interval '3 h 17 min 0.000123 s', md5(i::text) || md5((i + 7)::text)
FROM generate_series(1, 20000) AS i;
INSERT INTO k_tstz VALUES ('infinity', 'infinity'), ('-infinity', '-infinity'),
  ('4714-11-24 00:00:00+00 BC', 'min'), ('294276-12-31 23:59:59.999999+00', 'max'),
  ('0001-06-01 12:00:00+00 BC', 'BC');

CREATE TABLE k_composite (
  a   int,
  b   text,
  v   text,
  PRIMARY KEY (a, b)
);
INSERT INTO k_composite
SELECT i % 600, 'b' || (i / 600) || repeat('_', i % 5), md5(i::text) || md5((i * 3)::text)
FROM generate_series(1, 30000) AS i;
INSERT INTO k_composite VALUES (-1, '', 'empty b'), (2147483647, 'max', 'max a'), (0, '😀', 'emoji b');

---------------------------------------------------------------------------------------------
-- Partitions: range, sub-partitioned by list, some in another schema; inheritance
---------------------------------------------------------------------------------------------

CREATE TABLE measurement (
  id       bigint NOT NULL,
  city_id  int NOT NULL,
  logdate  date NOT NULL,
  reading  numeric(10, 2),
  note     text,
  PRIMARY KEY (id, logdate, city_id)
) PARTITION BY RANGE (logdate);
CREATE TABLE measurement_old PARTITION OF measurement FOR VALUES FROM (MINVALUE) TO ('2022-01-01');
CREATE TABLE measurement_2022 PARTITION OF measurement
  FOR VALUES FROM ('2022-01-01') TO ('2023-01-01') PARTITION BY LIST (city_id);
CREATE TABLE measurement_2022_c12 PARTITION OF measurement_2022 FOR VALUES IN (1, 2);
CREATE TABLE part_other.measurement_2022_c34 PARTITION OF measurement_2022 FOR VALUES IN (3, 4);
CREATE TABLE measurement_2022_other PARTITION OF measurement_2022 DEFAULT;
CREATE TABLE part_other.measurement_2023 PARTITION OF measurement
  FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') PARTITION BY LIST (city_id);
CREATE TABLE part_other.measurement_2023_c1 PARTITION OF part_other.measurement_2023 FOR VALUES IN (1);
CREATE TABLE part_other."measurement 2023 rest" PARTITION OF part_other.measurement_2023 DEFAULT;
CREATE TABLE measurement_empty PARTITION OF measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measurement_later PARTITION OF measurement DEFAULT;
INSERT INTO measurement
SELECT i, 1 + i % 6, date '2021-07-01' + (i % 900), (random() * 100)::numeric(10, 2), 'm' || md5(i::text)
FROM generate_series(1, 40000) AS i;
INSERT INTO measurement VALUES (40001, 1, '2030-01-01', 1.5, 'into the default partition'),
                               (40002, 9, '2030-01-01', NULL, NULL);

CREATE TABLE inh_parent (
  id   int PRIMARY KEY,
  name text
);
CREATE TABLE inh_child1 (
  extra int
) INHERITS (inh_parent);
CREATE TABLE inh_child2 () INHERITS (inh_parent);
INSERT INTO inh_parent SELECT i, 'parent ' || i FROM generate_series(1, 500) AS i;
INSERT INTO inh_child1 SELECT i, 'child1 ' || i, i * 10 FROM generate_series(1, 700) AS i;
INSERT INTO inh_child2 SELECT i, 'child2 ' || i FROM generate_series(1, 300) AS i;

---------------------------------------------------------------------------------------------
-- Tables with no columns, no rows, no WAL, row level security
---------------------------------------------------------------------------------------------

CREATE TABLE z ();
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;
INSERT INTO z DEFAULT VALUES;

CREATE TABLE empty_t (
  id int PRIMARY KEY,
  v  text
);
CREATE TABLE empty_nokey (
  v text
);

CREATE UNLOGGED TABLE unlogged_t (
  id int PRIMARY KEY,
  v  text
);
INSERT INTO unlogged_t SELECT i, md5(i::text) FROM generate_series(1, 5000) AS i;

CREATE TABLE rls_t (
  id         int PRIMARY KEY,
  owner_name text NOT NULL,
  secret     text
);
INSERT INTO rls_t SELECT i, CASE WHEN i % 2 = 0 THEN 'alice' ELSE 'bob' END, 'secret ' || i
FROM generate_series(1, 1000) AS i;
ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_t FORCE ROW LEVEL SECURITY;
CREATE POLICY rls_t_read ON rls_t FOR SELECT USING (true);
CREATE POLICY rls_t_only_own ON rls_t AS RESTRICTIVE USING (owner_name = current_user);

---------------------------------------------------------------------------------------------
-- Hostile identifiers: quotes, spaces, newlines, non-ASCII letters, reserved words
---------------------------------------------------------------------------------------------

CREATE TABLE "select"."from" (
  "order"   int PRIMARY KEY,
  "group"   text,
  "user"    text,
  "Ünïcødé" text,
  "a""b"    int,
  "with
newline"  text,
  " "       text
);
INSERT INTO "select"."from"
SELECT i, 'g' || i % 10, 'u' || i, 'ü' || i, i * 2, E'line1\nline2 ' || i, 'blank'
FROM generate_series(1, 2000) AS i;

CREATE TABLE "Sché ""ma""
  zwei"."Tab ""le"" ✓
two" (
  "ID"      bigint PRIMARY KEY,
  "Wert €"  numeric,
  "table"   text
);
INSERT INTO "Sché ""ma""
  zwei"."Tab ""le"" ✓
two" SELECT i, i / 3.0, 't' || i FROM generate_series(1, 3000) AS i;

CREATE TABLE "Sché ""ma""
  zwei"."keyless ""dup""" (
  "x y" int,
  "ÄÖÜ" text
);
INSERT INTO "Sché ""ma""
  zwei"."keyless ""dup""" SELECT i % 10, 'ü' FROM generate_series(1, 100) AS i;

CREATE TABLE "CamelCase" (
  "Id" int PRIMARY KEY,
  "camelcase" text,
  "CamelCase" text
);
INSERT INTO "CamelCase" VALUES (1, 'lower', 'Upper'), (2, NULL, '');

---------------------------------------------------------------------------------------------
-- Sequences in every state
---------------------------------------------------------------------------------------------

CREATE SEQUENCE seq_advanced;
SELECT nextval('seq_advanced') FROM generate_series(1, 5);
CREATE SEQUENCE seq_never_called START 77;
CREATE SEQUENCE seq_not_called;
SELECT setval('seq_not_called', 42, false);
CREATE SEQUENCE seq_small AS smallint START 100 MAXVALUE 32767;
SELECT setval('seq_small', 32000);
SELECT nextval('seq_small');
CREATE SEQUENCE seq_desc INCREMENT BY -3 START WITH -10 MINVALUE -1000000 MAXVALUE -1;
SELECT nextval('seq_desc') FROM generate_series(1, 4);
CREATE SEQUENCE seq_big START WITH 4611686018427387904 MAXVALUE 9223372036854775807 CACHE 20;
SELECT nextval('seq_big');
CREATE SEQUENCE seq_cycle MINVALUE 1 MAXVALUE 3 CYCLE;
SELECT nextval('seq_cycle') FROM generate_series(1, 4);
CREATE SEQUENCE "select"."seq ""quoted"" ✓";
SELECT nextval('"select"."seq ""quoted"" ✓"') FROM generate_series(1, 3);
CREATE SEQUENCE part_other.seq_other START 1000;
SELECT setval('part_other.seq_other', 123456789, true);

---------------------------------------------------------------------------------------------
-- Foreign key, CHECK constraint, indexes, trigger, views
---------------------------------------------------------------------------------------------

CREATE TABLE fk_parent (
  id   serial PRIMARY KEY,
  name text NOT NULL UNIQUE
);
CREATE TABLE fk_child (
  id        bigserial PRIMARY KEY,
  parent_id int NOT NULL REFERENCES fk_parent (id) ON DELETE CASCADE,
  qty       int NOT NULL CHECK (qty >= 0),
  code      text,
  CONSTRAINT fk_child_code_lower CHECK (code = lower(code))
);
INSERT INTO fk_parent (name) SELECT 'parent ' || i FROM generate_series(1, 300) AS i;
INSERT INTO fk_child (parent_id, qty, code)
SELECT 1 + i % 300, i % 50, 'c' || md5(i::text) FROM generate_series(1, 15000) AS i;
CREATE INDEX fk_child_parent_idx ON fk_child (parent_id);
CREATE INDEX fk_child_code_expr_idx ON fk_child (upper(code));
CREATE INDEX fk_child_partial_idx ON fk_child (qty) WHERE qty > 40;
CREATE INDEX k_bigint_n_idx ON k_bigint (n, id);
CREATE INDEX types_all_jsonb_idx ON types_all USING gin (c_jsonb);
CREATE INDEX types_all_tsv_idx ON types_all USING gin (c_tsvector);
CREATE INDEX measurement_city_idx ON measurement (city_id);
CREATE UNIQUE INDEX k_text_lower_v_idx ON k_text (k, v);

-- The trigger counts writes: a row loaded with the trigger firing on the target would differ.
CREATE TABLE trig_t (
  id          int PRIMARY KEY,
  v           text,
  write_count int NOT NULL DEFAULT 0
);
CREATE FUNCTION trig_t_count_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.write_count := NEW.write_count + 1;
  RETURN NEW;
END
$$;
CREATE TRIGGER trig_t_count BEFORE INSERT OR UPDATE ON trig_t
  FOR EACH ROW EXECUTE FUNCTION trig_t_count_writes();
INSERT INTO trig_t (id, v) SELECT i, 'v' || i FROM generate_series(1, 2000) AS i;
UPDATE trig_t SET v = v || '+' WHERE id % 10 = 0;

CREATE VIEW v_k_bigint_far AS
  SELECT id, payload FROM k_bigint WHERE id > 4294967296 OR id < 0;
CREATE MATERIALIZED VIEW mv_k_bigint_buckets AS
  SELECT n % 10 AS bucket, count(*) AS row_count, sum(id) AS id_sum, min(payload) AS first_payload
  FROM k_bigint GROUP BY 1;
CREATE UNIQUE INDEX mv_k_bigint_buckets_idx ON mv_k_bigint_buckets (bucket);
-- Never refreshed: it has no data, and must still have none on the target.
CREATE MATERIALIZED VIEW mv_not_populated AS SELECT id, v FROM k_uuid WITH NO DATA;

COMMENT ON TABLE k_bigint IS 'dense, gappy and skewed bigint keys';

VACUUM ANALYZE;
