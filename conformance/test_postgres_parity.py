"""Floe and a real PostgreSQL 15 side by side: savepoints (SAVEPOINT, RELEASE,
ROLLBACK TO, nested and repeated names, failed transactions, parameters set
inside them, every error) give the same tags, rows and SQLSTATEs, with lake
tables on three workers; version() and the session-user keywords read as
PostgreSQL's; SQLAlchemy connects, introspects and nests transactions."""

import psycopg
import psycopg.types.string
import pytest
import sqlalchemy as sa

from conftest import Server, fails, script_outcomes

SAVEPOINT_SCRIPT = [
    "SAVEPOINT x",
    "RELEASE SAVEPOINT x",
    "ROLLBACK TO SAVEPOINT x",
    "BEGIN",
    "INSERT INTO shop.t VALUES (1)",
    "SAVEPOINT s1",
    "INSERT INTO shop.t VALUES (2)",
    "SAVEPOINT s2",
    "INSERT INTO shop.t VALUES (3)",
    "SELECT a FROM shop.t ORDER BY a",
    "ROLLBACK TO SAVEPOINT s2",
    "SELECT a FROM shop.t ORDER BY a",
    "SELECT 1/0",
    "SELECT 1",
    "RELEASE SAVEPOINT s2",
    "ROLLBACK TO s1",
    "SELECT a FROM shop.t ORDER BY a",
    "SAVEPOINT s1",
    "INSERT INTO shop.t VALUES (4)",
    "ROLLBACK TO s1",
    "SELECT a FROM shop.t ORDER BY a",
    "RELEASE s1",
    "ROLLBACK TO s1",
    "RELEASE s1",
    "RELEASE s1",
    "ROLLBACK TO nope",
    "ROLLBACK",
    "SELECT a FROM shop.t ORDER BY a",
    "BEGIN",
    "SET application_name = 'before'",
    "SAVEPOINT p",
    "SET application_name = 'inside'",
    "SHOW application_name",
    "ROLLBACK TO p",
    "SHOW application_name",
    "INSERT INTO shop.t VALUES (5)",
    "SAVEPOINT q",
    "INSERT INTO shop.t VALUES (6)",
    "RELEASE q",
    "SAVEPOINT \"Mixed\"",
    "INSERT INTO shop.t VALUES (7)",
    "ROLLBACK TO mixed",
    "ROLLBACK TO \"Mixed\"",
    "COMMIT",
    "SELECT a FROM shop.t ORDER BY a",
]

def results(postgres, server, statements, read, setup=None, errors=False):
    """{"pg": [...], "floe": [...]}: READ(cursor) after each of STATEMENTS on
    PostgreSQL and on Floe, each session after SETUP; with ERRORS, a failing
    statement gives its SQLSTATE and message instead."""
    got = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        with psycopg.connect(dsn, autocommit=True) as c:
            if setup:
                c.execute(setup)
            got[name] = []
            for sql in statements:
                try:
                    got[name].append(read(c.execute(sql)))
                except psycopg.Error as e:
                    if not errors:
                        raise
                    got[name].append((e.sqlstate, e.diag.message_primary))
    return got


def assert_same_results(postgres, server, statements, describe, setup=None):
    """Both give the same columns (as DESCRIBE shows a column) and rows."""
    read = lambda cur: ([describe(d) for d in cur.description], cur.fetchall())
    got = results(postgres, server, statements, read, setup)
    assert got["floe"] == got["pg"]


@pytest.fixture(scope="module")
def three_workers():
    s = Server('[workers]\ncount = 3\n[admin]\nlisten = ""\n')
    yield s
    s.stop()


def test_savepoints_as_postgres(postgres, three_workers):
    setup = ["CREATE SCHEMA shop", "CREATE TABLE shop.t (a int)"]
    want = script_outcomes(postgres.dsn(), setup, SAVEPOINT_SCRIPT)
    got = script_outcomes(three_workers.dsn(), setup, SAVEPOINT_SCRIPT)
    for w, g in zip(want, got):
        assert g == w
    assert want[-1][3] == [(5,), (6,)]
    # What the transaction committed, every session on every worker sees.
    for _ in range(4):
        with psycopg.connect(three_workers.dsn()) as c:
            assert c.execute("SELECT a FROM shop.t ORDER BY a").fetchall() == [(5,), (6,)]


def test_a_savepoint_cannot_half_undo_session_tables(three_workers):
    with psycopg.connect(three_workers.dsn(), autocommit=True) as c:
        c.execute("BEGIN")
        c.execute("CREATE TEMP TABLE scratch (a int)")
        c.execute("SAVEPOINT a")
        c.execute("INSERT INTO scratch VALUES (1)")
        fails(c, "ROLLBACK TO a", psycopg.errors.FeatureNotSupported)
        c.execute("ROLLBACK")
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_version_and_session_user_read_as_postgres(postgres, server):
    with psycopg.connect(postgres.dsn()) as c:
        pg_version = c.execute("SELECT version()").fetchone()[0]
        pg_cols = [d.name for d in c.execute(
            "SELECT current_user, session_user, user, current_role").description]
    with psycopg.connect(server.dsn()) as c:
        version = c.execute("SELECT version()").fetchone()[0]
        cur = c.execute("SELECT current_user, session_user, user, current_role")
        assert cur.fetchone() == ("floe",) * 4
        assert [d.name for d in cur.description] == pg_cols
        assert c.execute("SELECT \"user\" FROM (SELECT 1 AS \"user\") t").fetchone() == (1,)
    # Same product word and major version, the shape clients parse.
    assert pg_version.startswith("PostgreSQL 15.")
    assert version.startswith("PostgreSQL 15.") and version.endswith("64-bit")


def test_sqlalchemy_connects_introspects_and_nests(server):
    engine = sa.create_engine(f"postgresql+psycopg://floe@{server.host}:{server.port}/floe")
    try:
        with engine.connect() as conn:
            assert conn.dialect.server_version_info[:1] == (15,)
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS alchemy"))
            conn.execute(sa.text("CREATE TABLE alchemy.items (id int NOT NULL, name text)"))
            conn.commit()
            inspector = sa.inspect(conn)
            assert "alchemy" in inspector.get_schema_names()
            assert inspector.get_table_names(schema="alchemy") == ["items"]
            conn.commit()
            with conn.begin():
                conn.execute(sa.text("INSERT INTO alchemy.items VALUES (1, 'kept')"))
                nested = conn.begin_nested()
                conn.execute(sa.text("INSERT INTO alchemy.items VALUES (2, 'undone')"))
                nested.rollback()
            rows = conn.execute(sa.text("SELECT id, name FROM alchemy.items")).all()
            assert [tuple(r) for r in rows] == [(1, "kept")]
    finally:
        engine.dispose()


def test_startup_options_set_parameters_as_postgres(postgres, server):
    opts = r"-c search_path=shop,\ public --statement-timeout=7s -c application_name=from_options"
    quoted = "'" + opts.replace("\\", "\\\\") + "'"  # conninfo unescapes once
    shown = {}
    for name, dsn in (("pg", postgres.dsn(options=quoted)),
                      ("floe", server.dsn(options=quoted, application_name="direct"))):
        with psycopg.connect(dsn) as c:
            shown[name] = [c.execute(f"SHOW {p}").fetchone()[0]
                           for p in ("search_path", "statement_timeout")]
            if name == "floe":  # a parameter sent on its own wins over options
                assert c.execute("SHOW application_name").fetchone()[0] == "direct"
    assert shown["floe"] == shown["pg"] == ["shop, public", "7s"]


PSQL_COMMANDS = [r"\l", r"\du", r"\dn", r"\df", r"\dx", r"\dT"]


def psql_output(host, port, user, dbname, command):
    import subprocess

    r = subprocess.run(
        ["psql", "-X", "-h", host, "-p", str(port), "-U", user, "-d", dbname,
         "-v", "ON_ERROR_STOP=1", "-c", command],
        capture_output=True, text=True, timeout=60,
    )
    return r.returncode, r.stdout, r.stderr


def test_psql_meta_commands_run_with_postgres_columns(postgres, server):
    for command in PSQL_COMMANDS:
        code, out, err = psql_output(server.host, server.port, "floe", "floe", command)
        assert code == 0 and "ERROR" not in err, f"{command}: {err}"
        _, pg_out, _ = psql_output(postgres.host, postgres.port, "postgres", "postgres", command)
        # Title and column headings are what psql prints for PostgreSQL 15.
        def shape(text):
            lines = text.splitlines()
            return [lines[0].strip(), [h.strip() for h in lines[1].split("|")]]
        assert shape(out) == shape(pg_out), command


EXPLAINS = [
    "EXPLAIN SELECT * FROM ex.t WHERE a > 1",
    "EXPLAIN ANALYZE SELECT count(*) FROM ex.t",
    "EXPLAIN (ANALYZE, COSTS OFF, FORMAT TEXT) SELECT a FROM ex.t ORDER BY a",
    "EXPLAIN VERBOSE SELECT 1",
]


def test_explain_is_shaped_as_postgres(postgres, server):
    shapes = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE SCHEMA ex")
            c.execute("CREATE TABLE ex.t (a int)")
            c.execute("INSERT INTO ex.t VALUES (1), (2), (3)")
            got = []
            for sql in EXPLAINS:
                cur = c.execute(sql)
                rows = cur.fetchall()
                assert rows and all(isinstance(r[0], str) for r in rows), sql
                got.append((cur.statusmessage, [(d.name, d.type_code) for d in cur.description]))
            fails(c, "EXPLAIN (NOSUCHOPTION) SELECT 1", psycopg.errors.SyntaxError)
            assert c.execute("SELECT 1").fetchone() == (1,)
        shapes[name] = got
    assert shapes["floe"] == shapes["pg"]
    assert shapes["pg"][0] == ("EXPLAIN", [("QUERY PLAN", 25)])


SET_RETURNING = [
    "SELECT generate_series(1, 3)",
    "SELECT 'a' AS x, generate_series(2, 6, 2) AS g",
    "SELECT x FROM (SELECT DISTINCT generate_series(1, 2) AS x) s ORDER BY x",
    "SELECT n, generate_series(1, n) FROM (VALUES (1), (3)) v(n) ORDER BY 1, 2",
]


def test_set_returning_functions_in_select_lists_give_rows(postgres, server):
    assert_same_results(postgres, server, SET_RETURNING, lambda d: d.name)


def answers(dsn, statements, binary=False, setup=(), text_dates=False):
    """What a client reads for each statement: (column names and types, rows
    as text), or the SQLSTATE it fails with."""
    with psycopg.connect(dsn, autocommit=True) as c:
        if text_dates:
            # Python's dates end at year 1: compare the text each server sends.
            for type_name in ("date", "timestamp", "timestamptz"):
                c.adapters.register_loader(type_name, psycopg.types.string.TextLoader)
        for sql in setup:
            c.execute(sql)
        out = []
        for sql in statements:
            try:
                cur = c.cursor(binary=binary).execute(sql)
            except psycopg.Error as e:
                out.append(("error", e.sqlstate))
                continue
            out.append(([(d.name, d.type_code) for d in cur.description],
                        [tuple(str(v) for v in r) for r in cur.fetchall()]))
        return out


def assert_answered_as_postgres(postgres, server, statements, **how):
    for binary in ((False, True) if how.pop("both_formats", False) else (False,)):
        want = answers(postgres.dsn(), statements, binary=binary, **how)
        assert answers(server.dsn(), statements, binary=binary, **how) == want


NUMERIC_LITERALS = [
    "SELECT 2::numeric, 1.5::numeric, '1.25'::numeric, CAST(2.50 AS numeric), "
    "1.5::numeric(10, 2), -3.10::numeric",
    "SELECT 123456789012345678901234.5::numeric, '0.000'::pg_catalog.numeric",
]


def test_numeric_literals_keep_the_scale_they_were_written_with(postgres, server):
    """PostgreSQL's unconstrained numeric keeps each value's own scale: 2
    prints 2, 2.50 prints 2.50 (text and binary)."""
    assert_answered_as_postgres(postgres, server, NUMERIC_LITERALS, both_formats=True)


INTEGER_AGGREGATES = [
    "SELECT sum(i), sum(s), sum(b), avg(i), avg(s), avg(b), sum(n), avg(f), sum(f), "
    "pg_catalog.sum(i), count(i) FROM (VALUES (1, 1::smallint, 10::bigint, 1.50::numeric(6, 2), "
    "0.5::float8), (2, 2::smallint, 20::bigint, 2.25, 1.5), (4, 4::smallint, 40::bigint, NULL, "
    "NULL)) t(i, s, b, n, f)",
    "SELECT g, sum(i) AS total, avg(i) AS mean FROM (VALUES (1, 7), (1, 8), (2, -5), (2, -6), "
    "(3, 9000), (4, 0), (4, 1), (5, 10000), (5, 20001)) t(g, i) GROUP BY g ORDER BY g",
    "SELECT x, sum(x) OVER (ORDER BY x) AS running FROM (VALUES (1), (2), (3)) t(x) ORDER BY x",
    "SELECT sum(i), avg(i) FROM (VALUES (1)) t(i) WHERE false",
    "SELECT sum(i) FROM (VALUES (2147483647), (2147483647), (2147483646)) t(i)",
    "SELECT x % 2 AS g, count(*), sum(count(*)) OVER (), "
    "count(*) * 100.0 / sum(count(*)) OVER () AS pct FROM (VALUES (1), (2), (3), (4), (5)) t(x) "
    "GROUP BY 1 ORDER BY 1",
]


def test_integer_sums_and_averages_are_typed_as_postgres_types_them(postgres, server):
    """sum of smallint and integer is a bigint, avg of any integer a numeric
    with PostgreSQL's scale for its size, in text and binary."""
    assert_answered_as_postgres(postgres, server, INTEGER_AGGREGATES, both_formats=True)


DIVISIONS = [
    "SELECT 1.0/3, 10.0/3, 2/3::numeric, 1.2/1.3, 12000/12345.67, 100000.0/3, 7.0/2, "
    "1.50::numeric(10,2) / 3, 123456789012.5 / 7, 3 / 3.0",
    "SELECT 7/2, -7/2, 7::smallint / 2::smallint, 7::bigint / 2, 7 / 2::bigint, 7.5::float8 / 2, "
    "7::real / 2::real, 7 / 2.5::real, 2 * 10.0 / 4, 10 / 4 * 2",
    "SELECT a / b AS q, a * 2 / b, -a / b, a / -b FROM (VALUES (1.0, 3), (2.0, 0.5), (100, 7.0), "
    "(0, 4), (3, 3.0), (-5, 9)) t(a, b) ORDER BY q",
    "SELECT sum(n) / count(*) AS mean, avg(n), max(n) / min(n), sum(i) / count(*) "
    "FROM (VALUES (1.5, 1), (2.25, 2), (4, 10001)) t(n, i)",
    "SELECT round(1.0/3, 4), (1.0/3) * 3, 1.0/3 + 1, CAST(10.0/4 AS numeric(10,2)), "
    "CASE WHEN true THEN 1.0/3 END, ARRAY[1.0/3, 2.0/3]",
    "SELECT interval '1 day' / 2, interval '1 mon 1 day' / 7, "
    "interval '1 year 5 days 3 hours' / -4, interval '1 hour' / 1.5",
    "SELECT 1/0",
    "SELECT 1.0/0",
    "SELECT 1.5::float8 / 0",
    "SELECT (-32768)::smallint / (-1)::smallint",
    "SELECT date '2024-01-01' / 2",
    "SELECT interval '1 day' / 0",
]


JSON_BUILDERS = [
    "SELECT json_build_object('a', 1, 'b', 'x, y : z', 'c', NULL, 'd', true), "
    "json_build_array(1, 'x', NULL, 2.5), json_build_object(), row_to_json(t), to_json(t.name) "
    "FROM (VALUES (1, 'a')) t(id, name)",
    "SELECT json_agg(x), json_agg(x ORDER BY x DESC), json_agg(x) FILTER (WHERE x > 1) "
    "FROM (VALUES (1), (2), (3)) t(x)",
    "SELECT json_agg(t), json_agg(json_build_object('id', id)), json_agg(row_to_json(t)), "
    "json_object_agg(name, id) FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)",
    "SELECT json_agg(x), json_object_agg(x, x), jsonb_agg(x) FROM (VALUES (1)) t(x) WHERE false",
    "SELECT jsonb_build_object('b', 1, 'a', 'x', 'aa', jsonb_build_array(2, 1)), to_jsonb('q'::text), "
    "'{\"b\":1, \"a\":[1, 2e1], \"a\":{\"z\":1,\"y\":null}}'::jsonb",
    "SELECT jsonb_agg(t ORDER BY id DESC), jsonb_object_agg(name, id) "
    "FROM (VALUES (1, 'b'), (2, 'a')) t(id, name)",
    "SELECT j -> 'x', j -> 'x' ->> 'a', '{\"a\": {\"c\": 1, \"b\": 2}}'::jsonb -> 'a' "
    "FROM (SELECT '{\"x\": {\"b\": 1, \"a\": 2}}'::jsonb AS j) s",
]


def test_json_builders_write_as_postgres_writes(postgres, server):
    """json_build_object, json_build_array, json_agg and json_object_agg lay
    their values out as PostgreSQL does (json_agg with ORDER BY and FILTER,
    rows on new lines), aggregates of no rows are NULL, and jsonb values are
    written canonically (keys ordered, the last of a repeated key kept), in
    text and binary."""
    assert_answered_as_postgres(postgres, server, JSON_BUILDERS, both_formats=True)


def test_division_answers_as_postgres_divides(postgres, server):
    """A numeric quotient has PostgreSQL's digits, scale and type (1.0/3
    has twenty decimals, 10.0/3 sixteen), integers divide as integers of
    PostgreSQL's type, floats as floats, intervals by numbers; division by
    zero and out-of-range quotients fail with PostgreSQL's SQLSTATEs."""
    assert_answered_as_postgres(postgres, server, DIVISIONS, both_formats=True)


ERAS = [
    "SELECT timestamp '0044-03-15 BC', '0044-03-15 bc'::date, date '0001-01-01 BC' + 1, "
    "CAST('0044-03-15 10:30 BC' AS timestamp without time zone), '2024-01-01 AD'::date",
    "SELECT '0044-03-15 10:00:00 BC'::timestamptz, extract(year FROM date '0044-03-15 BC')",
    "SELECT make_date(-44, 3, 15), make_timestamp(-44, 3, 15, 1, 2, 3.5), make_date(2024, 2, 29)",
    "SELECT to_date('0044-03-15 BC', 'YYYY-MM-DD BC'), to_timestamp('0044-03-15 B.C.', "
    "'YYYY-MM-DD B.C.'), to_date('2024-03-15 AD', 'YYYY-MM-DD AD')",
    "SELECT to_char(date '0044-03-15 BC', 'YYYY-MM-DD BC Y,YYY YYY YY Y IYYY CC'), "
    "to_char(date '0001-01-01 BC', 'YYYY bc CC'), to_char(date '2024-01-01', 'YYYY A.D. CC FMCC'), "
    "to_char(date '0601-01-01 BC', 'CC FMCC')",
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_dates_before_christ_read_and_write_as_postgres(postgres, server, zone):
    """Literals written with their era, make_date of a negative year,
    to_date and to_char with BC: the dates PostgreSQL reads and writes."""
    assert_answered_as_postgres(postgres, server, ERAS, text_dates=True,
                                setup=[f"SET TimeZone = '{zone}'"])


FUNCTIONS_WITH_POSTGRES_TYPES = [
    "SELECT length('héllo'), char_length('ab'), character_length(x), octet_length('é'), "
    "strpos('abc', 'c'), array_length(ARRAY[1, 2], 1) FROM (VALUES ('xyz')) t(x)",
    "SELECT initcap('hello wORLD o''neil-smith x2y'), every(x > 0) FROM (VALUES (1), (2)) t(x)",
    "SELECT make_interval(days => 1, hours => 2), make_interval(1, 2), "
    "make_interval(secs => 1.5), make_interval(weeks => 2, mins => 90)",
    "SELECT encode('abc'::bytea, 'base64'), encode('\\x01ff'::bytea, 'hex'), "
    "encode(repeat('x', 100)::bytea, 'base64')",
    "SELECT encode('\\x01ff005c41'::bytea, 'escape'), encode('abc'::bytea, 'escape')",
]


def test_functions_answer_with_postgres_names_types_and_values(postgres, server):
    """Functions the engine lacks (initcap, every, make_interval, encode of
    bytea) or types differently (lengths and positions are integers)."""
    assert_answered_as_postgres(postgres, server, FUNCTIONS_WITH_POSTGRES_TYPES)


NESTED_COLUMN_NAMES = [
    "SELECT count, max FROM (SELECT count(*), max(x) FROM (VALUES (1), (2)) v(x)) s",
    "WITH w AS (SELECT x, count(1) FROM (VALUES (1), (1), (2)) v(x) GROUP BY x) "
    "SELECT x FROM w ORDER BY Count DESC, x",
    "SELECT s.row_number FROM (SELECT row_number() OVER (ORDER BY x) FROM (VALUES (5), (6)) v(x)) s "
    "ORDER BY 1",
]


def test_columns_of_subqueries_have_postgres_names(postgres, server):
    """An outer query names a subquery's unaliased `count(*)` as `count`, as
    PostgreSQL names it."""
    assert_same_results(postgres, server, NESTED_COLUMN_NAMES, lambda d: d.name)


ZONED_LITERALS = (
    "SELECT '2024-01-01 12:00'::timestamptz, timestamptz '2024-06-01 12:00:00.25', "
    "CAST('2024-03-31 02:30' AS timestamp with time zone), '2024-10-27 02:30'::timestamptz, "
    "'2024-01-01'::timestamptz, '2024-01-01 12:00+05'::timestamptz"
)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"])
def test_timestamptz_literals_are_read_in_the_session_zone(postgres, server, zone):
    """A timestamptz written without a zone names that wall-clock time in the
    session's TimeZone (DST gaps and overlaps included), as literal and as a
    text parameter."""
    got = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"SET TimeZone = '{zone}'")
            literal = c.execute(ZONED_LITERALS).fetchone()
            text = [str(v) for v in c.execute(ZONED_LITERALS).fetchone()]
            param = c.execute("SELECT %s::timestamptz", ["2024-07-01 08:15"]).fetchone()
            got[name] = (literal, text, param)
    assert got["floe"] == got["pg"]


AT_TIME_ZONE = (
    "SELECT '2024-01-01 12:00+00'::timestamptz AT TIME ZONE 'Europe/Paris', "
    "timestamp '2024-07-01 12:00' AT TIME ZONE 'America/New_York', "
    "'2024-01-01 12:00+00'::timestamptz AT TIME ZONE 'UTC' AS utc, "
    "'2024-01-01 12:00+00'::timestamptz AT TIME ZONE '+05' AS posix, "
    "timestamp '2024-03-31 02:30' AT TIME ZONE 'Europe/Paris' AS gap, "
    "NULL::timestamptz AT TIME ZONE 'UTC' AS nothing"
)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_at_time_zone_converts_as_postgres_does(postgres, server, zone):
    """timestamptz AT TIME ZONE z is the wall-clock time in z; timestamp AT
    TIME ZONE z the instant it names there; an unknown zone is 22023."""
    got = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"SET TimeZone = '{zone}'")
            cur = c.execute(AT_TIME_ZONE)
            shape = [(d.name, d.type_code) for d in cur.description]
            row = [str(v) for v in cur.fetchone()]
            try:
                c.execute("SELECT now() AT TIME ZONE 'Mars/Olympus'")
                error = None
            except psycopg.Error as e:
                error = e.sqlstate
            got[name] = (shape, row, error)
    assert got["floe"] == got["pg"]


ZONED_FUNCTIONS = (
    "SELECT date_trunc('day', t), date_trunc('hour', t), date_trunc('month', t), "
    "date_trunc('week', t), date_trunc('quarter', t), date_trunc('year', t), "
    "extract(hour FROM t)::int, extract(day FROM t)::int, extract(dow FROM t)::int, "
    "extract(epoch FROM t)::bigint, date_part('minute', t)::int "
    "FROM (VALUES ('2024-03-31 00:30:00+00'::timestamptz), ('2024-10-27 01:30:00+00'::timestamptz), "
    "('2023-12-31 23:59:59.5+00'::timestamptz), (NULL::timestamptz)) v(t) ORDER BY t"
)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
def test_date_functions_on_timestamptz_follow_the_session_zone(postgres, server, zone):
    """date_trunc and EXTRACT of a timestamptz work on its wall-clock time in
    the session's TimeZone, across DST changes, as in PostgreSQL."""
    got = results(postgres, server, [ZONED_FUNCTIONS], lambda cur: cur.fetchall(),
                  setup=f"SET TimeZone = '{zone}'")
    assert got["floe"] == got["pg"]


ZONED_CALENDAR = [
    "SELECT age(a, b), age(b, a), date_trunc('day', a, 'America/New_York'), "
    "date_trunc('hour', b, 'Asia/Kolkata') FROM (VALUES "
    "('2024-03-31 12:00:00+00'::timestamptz, '2023-01-15 08:00:00+00'::timestamptz), "
    "('2024-03-31 01:30:00+00', '2024-03-30 01:30:00+00'), "
    "('2024-10-27 00:30:00.25+00', '2024-02-29 23:59:59.5+00')) v(a, b) ORDER BY a",
    "SELECT age(timestamp '2024-03-31 12:00', timestamp '2023-01-15 08:00'), "
    "age(date '2024-03-01', date '2024-01-31'), age(timestamp '2024-01-01', timestamp '2024-01-31')",
    "SELECT make_timestamptz(2024, 3, 31, 2, 30, 1.5), "
    "make_timestamptz(2024, 3, 31, 12, 30, 0, 'America/New_York'), "
    "make_timestamptz(2024, 1, 1, 24, 0, 0), make_timestamptz(2024, 6, 1, 0, 0, 0, '+05')",
    "SELECT make_timestamptz(2024, 2, 30, 0, 0, 0)",
    "SELECT date_trunc('day', now(), 'Nowhere/Else')",
    "SELECT generate_series(timestamptz '2024-03-30', timestamptz '2024-04-01', interval '1 day')",
    "SELECT g, g::date FROM generate_series(date '2024-01-31', date '2024-05-01', "
    "interval '1 month') g",
    "SELECT * FROM generate_series(timestamptz '2024-10-26 12:00+00', "
    "timestamptz '2024-10-28 00:00+00', interval '12 hours') AS s(moment)",
    "SELECT generate_series(timestamptz '2024-01-01', timestamptz '2024-01-02', interval '0 days')",
]


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC"])
def test_age_make_timestamptz_and_zoned_date_trunc_as_postgres(postgres, server, zone):
    """age of timestamptz values differs their wall-clock times in the
    session's zone (the engine had no such age), make_timestamptz reads its
    fields in the session's or the named zone, date_trunc takes a zone, and
    generate_series of timestamptz (and date) bounds steps on the session's
    wall clock, in select lists and FROM."""
    setup = (f"SET TimeZone = '{zone}'",)
    assert_answered_as_postgres(postgres, server, ZONED_CALENDAR, setup=setup, text_dates=True)


TO_CHAR = (
    "SELECT to_char(t, 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(t, 'Month DD, YYYY HH12:MI AM'), "
    "to_char(t, 'FMMonth FMDDth, Dy Q IYYY-IW DDD'), to_char(t, 'YYYY-MM-DD HH24:MI TZ OF'), "
    "to_char(timestamp '2024-02-29 07:05:00', 'YYYY-MM-DD\"T\"HH24:MI:SS'), "
    "to_char(date '2024-02-29', 'DD/MM/YYYY Day'), "
    "to_char(t, '\\\\YYYY \\\\\" RM W WW J') "
    "FROM (VALUES ('2024-03-31 00:30:00.25+00'::timestamptz), ('2024-12-30 23:59:59+00'::timestamptz), "
    "(NULL::timestamptz)) v(t) ORDER BY t"
)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_to_char_writes_dates_as_postgres_does(postgres, server, zone):
    """to_char of timestamptz (in the session's zone), timestamp and date,
    with PostgreSQL's padding, fill mode, ordinals, quoted text and zone."""
    assert_same_results(postgres, server, [TO_CHAR], lambda d: d.name,
                        setup=f"SET TimeZone = '{zone}'")


TEXT_TO_DATES = [
    "SELECT to_date('2024-03-05', 'YYYY-MM-DD'), to_date('05 Mar 2024', 'DD Mon YYYY'), "
    "to_date('20240305', 'YYYYMMDD'), to_date('March 5, 2024', 'Month DD, YYYY'), "
    "to_date('5/3/24', 'DD/MM/YY'), to_date('2024-065', 'YYYY-DDD'), to_date(NULL, 'YYYY')",
    "SELECT to_timestamp('2024-03-31 02:30:00', 'YYYY-MM-DD HH24:MI:SS'), "
    "to_timestamp('2024-03-05 02:30:00.25 PM', 'YYYY-MM-DD HH:MI:SS.MS AM'), "
    "to_timestamp('05/03/2024 14h30', 'DD/MM/YYYY HH24\"h\"MI'), "
    "to_timestamp('2024-03-05 14:30 -05:30', 'YYYY-MM-DD HH24:MI TZH:TZM'), to_timestamp(1700000000)",
    "SELECT to_date('2024-13-01', 'YYYY-MM-DD')",
    "SELECT to_date('2024-02-30', 'YYYY-MM-DD')",
    "SELECT to_date('abc', 'YYYY-MM-DD')",
    "SELECT to_timestamp('2024-03-05 25:00', 'YYYY-MM-DD HH24:MI')",
]


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC"])
def test_text_reads_as_dates_by_template_as_postgres_reads_it(postgres, server, zone):
    """to_date and to_timestamp read text by a template (names, 12-hour
    clock, fractions, quoted text, offsets; the wall-clock time in the
    session's zone) and refuse what has no date with PostgreSQL's SQLSTATE."""
    got = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        out = []
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"SET TimeZone = '{zone}'")
            for sql in TEXT_TO_DATES:
                try:
                    cur = c.execute(sql)
                    out.append(([d.type_code for d in cur.description], cur.fetchall()))
                except psycopg.Error as e:
                    out.append(e.sqlstate)
        got[name] = out
    assert got["floe"] == got["pg"]


NUMBERS_AND_INTERVALS = (
    "SELECT to_char(x, '9999.99'), to_char(x, 'FM9,999.00'), to_char(x, 'S0000.0'), "
    "to_char(x, '999PR'), to_char(x, '9.99EEEE'), to_char(x::int, '999th'), "
    "to_char(x::float8, 'FM99990.0'), to_char(x::int, 'RN') "
    "FROM (VALUES (0::numeric), (1234.5), (-42.125), (0.5), (NULL)) v(x) ORDER BY x",
    "SELECT justify_days(interval '35 days'), justify_hours(interval '27 hours'), "
    "justify_interval(interval '1 mon -1 hour'), justify_interval(interval '-35 days 2 hours')",
)


def test_numbers_and_intervals_are_written_as_postgres_writes_them(postgres, server):
    """to_char of numerics, integers and doubles by a template (padding, fill
    mode, signs, brackets, exponents, ordinals, Roman numerals) and the
    justify_* functions give PostgreSQL's text."""
    got = results(postgres, server, NUMBERS_AND_INTERVALS, lambda cur: cur.fetchall())
    assert got["floe"] == got["pg"]


ZONED_CASTS = (
    "SELECT t::date, t::timestamp, CAST(t AS date), date_trunc('day', t)::date, "
    "ts::timestamptz, d::timestamptz, CAST(ts AS timestamp with time zone), ts::date, "
    "d::timestamp, (SELECT max(t) FROM (VALUES (t)) w(t))::date AS latest "
    "FROM (VALUES ('2024-03-05 02:30:00+00'::timestamptz, '2024-03-05 02:30:00'::timestamp, "
    "'2024-03-05'::date), ('2024-11-03 05:30:00+00'::timestamptz, '2024-03-31 02:30:00'::timestamp, "
    "'2024-07-01'::date), (NULL, NULL, NULL)) v(t, ts, d) ORDER BY 1"
)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Paris", "Asia/Kolkata"])
def test_casts_between_zoned_and_zone_less_types_use_the_session_zone(postgres, server, zone):
    """timestamptz to date and timestamp gives the wall-clock date and time in
    the session's zone, timestamp and date to timestamptz read the wall-clock
    time there (across DST changes), with PostgreSQL's column names."""
    assert_same_results(postgres, server, [ZONED_CASTS], lambda d: (d.name, d.type_code),
                        setup=f"SET TimeZone = '{zone}'")


# The engine takes `1 day` and `24 hours` for the same constant, so one
# statement holding both would compute one of them twice: each its own.
ZONED_ARITHMETIC = [
    f"SELECT {items} FROM (VALUES ('2024-03-09 17:00:00+00'::timestamptz), "
    "('2024-01-31 15:00:00+00'::timestamptz), ('2024-10-27 00:30:00+00'::timestamptz), "
    "(NULL)) v(t) ORDER BY t"
    for items in [
        "t + interval '1 day', t - interval '1 mon 2 days 03:00', interval '1 month' + t, "
        "t - '2024-03-01 00:00+00'::timestamptz, t - interval '7 days' < t, "
        "now() - interval '30 days' < now()",
        "t + interval '24 hours', t - interval '36 hours'",
    ]
]


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Paris", "UTC"])
def test_timestamptz_arithmetic_follows_the_session_zone(postgres, server, zone):
    """timestamptz ± interval moves days and months on the session's wall
    clock (a day across a DST change is 23 or 25 hours, a month keeps the
    day, clamped) and time on the instant; the difference of two instants
    splits out whole days — as in PostgreSQL, relative date filters work."""
    assert_same_results(postgres, server, ZONED_ARITHMETIC, lambda d: d.type_code,
                        setup=f"SET TimeZone = '{zone}'")


CURRENT_TIME_KEYWORDS = (
    "SELECT current_date = (now() AT TIME ZONE current_setting('TimeZone'))::date, "
    "localtimestamp = now() AT TIME ZONE current_setting('TimeZone'), "
    "localtime = (now() AT TIME ZONE current_setting('TimeZone'))::time, "
    "statement_timestamp() >= now(), current_date - 1 < current_date, "
    "pg_typeof(current_date)::text, "
    "timestamp '2024-03-05 10:00'::timestamptz, timestamptz '2024-03-05 02:00+00'::date"
)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_current_date_and_local_time_are_the_session_zones(postgres, server, zone):
    """current_date, localtimestamp and localtime are the transaction's start
    on the session's wall clock; typed literals cast across zones there too."""
    got = results(postgres, server, [CURRENT_TIME_KEYWORDS], lambda cur: cur.fetchall(),
                  setup=f"SET TimeZone = '{zone}'")
    assert got["floe"] == got["pg"]


DATE_FIELD_VALUES = (
    "(VALUES (1, date '2024-03-05', timestamp '2024-03-05 01:02:03.5', "
    "timestamptz '2024-03-10 01:59:59.123456+00', time '13:02:03.25', "
    "interval '1 year 14 months 40 days 02:03:04.5'), "
    "(2, date '1999-12-31', timestamp '1969-12-31 23:59:59.999999', "
    "timestamptz '2024-10-27 00:30:00+00', time '00:00', interval '-3 days -00:00:01.000001'), "
    "(3, NULL, NULL, NULL, NULL, NULL)) v(k, d, ts, tz, tm, iv)"
)

DATE_FIELD_STATEMENTS = [
    "SELECT k, " + ", ".join(f"extract({unit} FROM {col})" for col, units in columns
                             for unit in units)
    + f" FROM {DATE_FIELD_VALUES} ORDER BY k"
    for columns in [
        [("d", ["year", "month", "day", "dow", "isodow", "doy", "week", "isoyear", "quarter",
                "decade", "century", "millennium", "epoch", "julian"])],
        [("ts", ["second", "milliseconds", "microseconds", "minute", "hour", "epoch", "julian",
                 "year", "century"])],
        [("tz", ["hour", "timezone", "timezone_hour", "epoch", "day", "second"])],
        [("tm", ["hour", "minute", "second", "milliseconds", "epoch"]),
         ("iv", ["epoch", "year", "month", "day", "hour", "second", "microseconds"])],
    ]
] + [
    "SELECT date_part('second', ts), date_part('epoch', d), date_part('year', d), "
    f"date_part('dow', tz), date_part('day', iv), \"date_part\"('hour', tm) FROM {DATE_FIELD_VALUES} "
    "ORDER BY k",
    f"SELECT d - date '2024-01-01', date_trunc('month', d), date_trunc('week', d) "
    f"FROM {DATE_FIELD_VALUES} ORDER BY k",
    "SELECT pg_typeof(extract(year FROM d))::text, pg_typeof(date_part('year', d))::text, "
    "pg_typeof(d - d)::text, pg_typeof(date_trunc('day', d))::text, pg_typeof(null)::text, "
    "pg_typeof(1.5::numeric(10,2))::text, pg_typeof(ts)::text, pg_typeof(array[k])::text "
    f"FROM {DATE_FIELD_VALUES} WHERE k = 1",
    "SELECT extract(hour FROM date '2024-03-05')",
    "SELECT extract(foo FROM timestamp '2024-03-05')",
    "SELECT date_part('timezone', timestamp '2024-03-05')",
    "SELECT extract(years FROM interval '1 year')",
]


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_date_fields_are_numbers_of_postgres_scale(postgres, server, zone):
    """extract answers numeric with PostgreSQL's scale per unit (seconds 6,
    epoch of a date 0), date_part double precision, in the session's zone for
    timestamptz; date - date is an integer, date_trunc of a date a
    timestamptz; pg_typeof names PostgreSQL's types; units a type has not
    fail with PostgreSQL's SQLSTATE and message."""
    read = lambda cur: ([d.type_code for d in cur.description],
                        [[str(v) for v in row] for row in cur.fetchall()])
    got = results(postgres, server, DATE_FIELD_STATEMENTS, read,
                  setup=f"SET TimeZone = '{zone}'", errors=True)
    for sql, floe, pg in zip(DATE_FIELD_STATEMENTS, got["floe"], got["pg"]):
        assert floe == pg, sql


TEXT_CASTS = [
    "SELECT v.t::text, CAST(v.t AS text), v.i::text, v.d::text, v.b::text, v.ts::text, "
    "(v.t + interval '1 hour')::text, v.a::text, (v.a)::text, v.k::text, "
    "'at ' || v.t, v.t || '!' "
    "FROM (VALUES (timestamptz '2024-03-05 10:00:00.5+00', "
    "interval '1 year 2 mons 3 days 04:05:06', date '2024-03-05', '\\x0102'::bytea, "
    "timestamp '2024-03-05 01:02:03', ARRAY[1, NULL], 1), "
    "(timestamptz '2024-10-27 01:30:00+00', interval '-1 day 00:00:01', date 'infinity', "
    "'\\x'::bytea, timestamp '1999-12-31 23:59:59.999', ARRAY[]::int[], NULL)) v(t, i, d, b, ts, a, k)",
    "SELECT s.x::timestamptz, CAST(s.x AS timestamptz), s.y::timestamptz, s.z::timestamptz "
    "FROM (VALUES ('2024-07-01 12:00', '2024-07-01 12:00+00', '2024-01-01'), "
    "('2024-03-31 02:30', '2024-03-31 02:30 UTC', NULL)) s(x, y, z)",
    "SELECT now()::text = now()::text, length(now()::text) > 20",
]


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Kolkata"])
def test_casts_to_and_from_text_write_as_postgres(postgres, server, zone):
    """x::text of a timestamptz is written in the session's zone, of an
    interval in PostgreSQL's words, of bytea in hex, of an array in braces
    (and text || timestamptz as the cast); zone-less text cast to
    timestamptz names the session's wall clock."""
    assert_same_results(postgres, server, TEXT_CASTS, lambda d: (d.name, d.type_code),
                        setup=f"SET TimeZone = '{zone}'")


CLOCK_FUNCTIONS = (
    "SELECT pg_typeof(current_time)::text, pg_typeof(clock_timestamp())::text, "
    "pg_typeof(current_timestamp(0))::text, pg_typeof(localtime(2))::text, "
    "pg_typeof(localtimestamp(2))::text, pg_typeof(current_time(3))::text, "
    "pg_typeof(timeofday())::text, extract(timezone FROM current_time), "
    "extract(microseconds FROM current_timestamp(0))::int % 1000000, "
    "extract(microseconds FROM localtimestamp(1))::int % 100000, "
    "clock_timestamp() >= now(), current_timestamp(6) = now(), "
    "length(current_time::text) > 10, length(timeofday()) > 20"
)

INTERVAL_TEMPLATES = [
    "HH24:MI:SS", "HH:MI:SS AM", "YYYY-MM-DD", "Y,YYY YYY YY Y", "DDD DD W WW Q",
    "SSSS MS US", "CC J IW IDDD IYYY", "RM", "FMHH24 \"h\" FMMIth", "DDth SSTH",
]


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_clock_functions_and_interval_to_char_as_postgres(postgres, server, zone):
    """current_time is a time with time zone in the session's zone,
    clock_timestamp() the instant of the call, the precision forms round to
    their digits; to_char writes intervals part by part and refuses calendar
    patterns (22007)."""
    values = ("(VALUES (1, interval '1 year 14 months 40 days 27:04:05.123456'), "
              "(2, interval '-3 days -02:03:01'), (3, interval '-14 months -3 days'), "
              "(4, interval '0'), (5, NULL)) v(k, i)")
    statements = [CLOCK_FUNCTIONS] + [
        f"SELECT k, to_char(i, '{t}') FROM {values} ORDER BY k" for t in INTERVAL_TEMPLATES
    ] + ["SELECT to_char(interval '1 day', 'Day')", "SELECT to_char(interval '1 day', 'TZ')"]
    got = results(postgres, server, statements, lambda cur: cur.fetchall(),
                  setup=f"SET TimeZone = '{zone}'", errors=True)
    for sql, floe, pg in zip(statements, got["floe"], got["pg"]):
        assert floe == pg, sql


PATHS_CASTS_AND_BINS = [
    "SELECT pg_typeof(1), pg_typeof(1.5), pg_typeof(now()), pg_typeof(ARRAY['a']), "
    "pg_typeof(x) FROM (VALUES (2::int8)) v(x)",
    "SELECT j #> '{a,b}', j #>> '{a,b,1}', j #> '{x}' IS NULL, j #> '{}', "
    "j::json #>> '{a,b,0}', j #>> ARRAY['a', 'b', '1'] "
    "FROM (SELECT '{\"a\": {\"b\": [1, \"two\"]}}'::jsonb AS j) s",
    "SELECT * FROM generate_series(1, 3) WITH ORDINALITY",
    "SELECT n, o FROM generate_series(5, 7) WITH ORDINALITY AS g(n, o) WHERE o > 1",
    "SELECT 'abcdef'::varchar(3), 'abcdef'::char(3), 'abc'::char, "
    "CAST(12345 AS character varying(2)), x::varchar(2), x::varchar(2)::text || '!' "
    "FROM (VALUES ('xyz')) v(x)",
    "SELECT date_bin('15 minutes', timestamp '2020-02-11 15:44:17', timestamp '2001-01-01'), "
    "date_bin('15 minutes', timestamp '2000-01-01 00:07', timestamp '2000-01-01 00:10'), "
    "date_bin('1 day 2 hours', timestamptz '2000-01-05 00:07+00', timestamptz '2000-01-01 00:10+00')",
    "SELECT date_bin('1 month', timestamp '2000-01-01', timestamp '2000-01-01')",
    "SELECT date_bin('0 minutes', timestamp '2000-01-01', timestamp '2000-01-01')",
    "SELECT |/ 16, @ -5, @ x, |/ 2 FROM (VALUES (-2.5)) v(x)",
    "SELECT |/ -1",
    "SELECT x, sum(x) OVER (ORDER BY x), avg(x) FROM generate_series(1, 4) x GROUP BY x ORDER BY x",
    "SELECT x, avg(x) OVER (ORDER BY x), avg(x * 2) OVER w FROM generate_series(1, 4) x "
    "WINDOW w AS (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) ORDER BY x",
    "SELECT g, sum(d), avg(d), sum(d) OVER (), avg(d) OVER (ORDER BY g) FROM (VALUES "
    "(1, interval '1 mon 40 days'), (2, interval '-1 day 25 hours'), (3, NULL)) v(g, d) "
    "GROUP BY g, d ORDER BY g",
    "SELECT sum(d) FROM (VALUES (interval '2000000000 months'), (interval '2000000000 months')) v(d)",
]


def test_json_paths_length_casts_bins_and_typeof_as_postgres(postgres, server):
    """`#>`/`#>>` (which the engine does not parse), numbered integer
    series, casts that cut text to a length, date_bin, pg_typeof's regtype
    and the prefix operators `|/` and `@`; window averages (numeric, as
    PostgreSQL's) and sums of intervals (part by part), in text and binary."""
    assert_answered_as_postgres(
        postgres, server, PATHS_CASTS_AND_BINS, both_formats=True,
        setup=("SET TimeZone = 'UTC'",),
    )
