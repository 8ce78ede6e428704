"""Cursors as PostgreSQL 15 runs them: DECLARE [BINARY] [NO] SCROLL CURSOR
[WITH HOLD], FETCH and MOVE in every direction, CLOSE [ALL], pg_cursors and
every error, compared tag for tag, row for row and SQLSTATE for SQLSTATE with
a real PostgreSQL over a lake table; psycopg's and psycopg2's named cursors
(server-side parameters, describing the cursor as a portal, scrolling), and
psql's FETCH_COUNT."""

import subprocess

import psycopg
import psycopg2
import pytest

from conftest import script_outcomes

SETUP = [
    "CREATE SCHEMA cur",
    "CREATE TABLE cur.t (id int, name text)",
    "INSERT INTO cur.t SELECT g, 'n' || g FROM generate_series(1, 25) g",
]

SCRIPT = [
    "DECLARE outside CURSOR FOR SELECT 1",
    "FETCH 1 FROM nope",
    "BEGIN",
    "DECLARE c CURSOR FOR SELECT id, name FROM cur.t ORDER BY id",
    "FETCH c",
    "FETCH 3 FROM c",
    "FETCH NEXT IN c",
    "FETCH PRIOR FROM c",
    "FETCH FIRST FROM c",
    "FETCH LAST FROM c",
    "FETCH NEXT FROM c",
    "FETCH BACKWARD 3 FROM c",
    "FETCH ABSOLUTE 10 FROM c",
    "FETCH ABSOLUTE -2 FROM c",
    "FETCH ABSOLUTE 0 FROM c",
    "FETCH RELATIVE 4 FROM c",
    "FETCH RELATIVE -2 FROM c",
    "FETCH RELATIVE 0 FROM c",
    "FETCH FORWARD 0 FROM c",
    "FETCH FORWARD 2 FROM c",
    "FETCH -2 FROM c",
    "FETCH BACKWARD -2 FROM c",
    "MOVE 5 IN c",
    "MOVE ABSOLUTE 30 IN c",
    "MOVE BACKWARD ALL IN c",
    "MOVE RELATIVE 2 IN c",
    "MOVE FORWARD ALL FROM c",
    "FETCH PRIOR FROM c",
    "FETCH ALL FROM c",
    "FETCH BACKWARD ALL FROM c",
    "SELECT name, is_holdable, is_binary FROM pg_cursors ORDER BY name",
    "DECLARE c CURSOR FOR SELECT 1",
    "ROLLBACK",
    "BEGIN",
    "DECLARE n NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, 5) g",
    "FETCH 2 FROM n",
    "FETCH PRIOR FROM n",
    "ROLLBACK",
    "BEGIN",
    "DECLARE s SCROLL CURSOR FOR SELECT id * 2 AS double, upper(name) FROM cur.t WHERE id < 4 ORDER BY id DESC",
    "FETCH ALL FROM s",
    "FETCH BACKWARD 2 FROM s",
    "CLOSE s",
    "FETCH s",
    "ROLLBACK",
    "BEGIN",
    "DECLARE h CURSOR WITH HOLD FOR SELECT id FROM cur.t WHERE id <= 5 ORDER BY id",
    "DECLARE w CURSOR WITHOUT HOLD FOR SELECT 1 AS one",
    "FETCH 2 FROM h",
    "COMMIT",
    "SELECT name, is_holdable FROM pg_cursors ORDER BY name",
    "FETCH w",
    "FETCH 2 FROM h",
    "INSERT INTO cur.t VALUES (0, 'zero')",
    "FETCH ALL FROM h",
    "BEGIN",
    "DECLARE r CURSOR WITH HOLD FOR SELECT 1 AS one",
    "ROLLBACK",
    "SELECT name FROM pg_cursors ORDER BY name",
    "BEGIN",
    "DECLARE a CURSOR FOR SELECT 1 AS one",
    "SAVEPOINT sp",
    "DECLARE b CURSOR FOR SELECT 2 AS two",
    "ROLLBACK TO SAVEPOINT sp",
    "SELECT name FROM pg_cursors ORDER BY name",
    "FETCH b",
    "ROLLBACK",
    "BEGIN",
    "DECLARE e CURSOR FOR SELECT 1/0",
    "ROLLBACK",
    "BEGIN",
    "DECLARE v CURSOR FOR VALUES (1, 'a'), (2, 'b')",
    "DECLARE x CURSOR FOR SELECT 1",
    "CLOSE ALL",
    "SELECT count(*) FROM pg_cursors",
    "FETCH v",
    "ROLLBACK",
    "BEGIN",
    "DECLARE bad CURSOR FOR DELETE FROM cur.t",
    "ROLLBACK",
    "FETCH ALL FROM h",
    "CLOSE h",
    "CLOSE h",
    "SELECT count(*) FROM pg_cursors",
]


def test_cursor_statements_as_postgres(postgres, server):
    want = script_outcomes(postgres.dsn(), SETUP, SCRIPT)
    got = script_outcomes(server.dsn(), SETUP, SCRIPT)
    for w, g in zip(want, got):
        assert g == w
    assert len(got) == len(want)


def test_psycopg_named_cursor_with_parameters_and_scroll(postgres, server):
    results = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        with psycopg.connect(dsn) as c:
            with c.cursor("named", scrollable=True) as cur:
                cur.execute("SELECT g::int AS g, g::text AS label FROM generate_series(1, %s) g WHERE g > %s",
                            (50, 10))
                first = cur.fetchmany(3)
                cur.scroll(5)
                after = cur.fetchone()
                cur.scroll(0, mode="absolute")
                again = cur.fetchone()
                rest = cur.fetchall()
                desc = [(d.name, d.type_code) for d in cur.description]
            with c.cursor("binary", binary=True) as cur:
                cur.execute("SELECT 1.5::float8 AS f, 'x'::text AS t, %s::int AS p", (7,))
                binary = cur.fetchall()
            c.commit()
            with c.cursor("held", withhold=True) as cur:
                cur.execute("SELECT g FROM generate_series(1, 4) g")
                c.commit()
                held = cur.fetchall()
        results[name] = (first, after, again, rest, desc, binary, held)
    assert results["floe"] == results["pg"]


def test_psycopg2_named_cursor_iterates_in_batches(postgres, server):
    results = {}
    for name, dsn in (("pg", postgres.dsn()), ("floe", server.dsn())):
        conn = psycopg2.connect(dsn)
        try:
            cur = conn.cursor(name="batches")
            cur.itersize = 7
            cur.execute("SELECT g, repeat('x', g % 5) FROM generate_series(1, 40) g ORDER BY g DESC")
            results[name] = list(cur)
            cur.close()
            conn.commit()
        finally:
            conn.close()
    assert results["floe"] == results["pg"]
    assert len(results["floe"]) == 40


def test_psql_fetch_count_pages_through_a_cursor(postgres, server):
    query = "SELECT id, name FROM cur.t ORDER BY id DESC"
    outputs = []
    for host, port, user, db in ((postgres.host, postgres.port, "postgres", "postgres"),
                                 (server.host, server.port, "floe", "floe")):
        r = subprocess.run(
            ["psql", "-X", "-h", host, "-p", str(port), "-U", user, "-d", db,
             "-v", "ON_ERROR_STOP=1", "-v", "FETCH_COUNT=4", "-c", query],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout)
    assert outputs[1] == outputs[0]


def test_a_large_cursor_keeps_the_query_order(server):
    with psycopg.connect(server.dsn()) as c:
        c.execute("DECLARE big CURSOR FOR SELECT g FROM generate_series(1, 300000) g ORDER BY g % 1000, g")
        first = c.execute("FETCH 3 FROM big").fetchall()
        c.execute("MOVE 299990 IN big")
        last = c.execute("FETCH ALL FROM big").fetchall()
        c.execute("MOVE ABSOLUTE 150000 IN big")
        middle = c.execute("FETCH 1 FROM big").fetchall()
    ordered = sorted(range(1, 300001), key=lambda g: (g % 1000, g))
    assert first == [(g,) for g in ordered[:3]]
    assert last == [(g,) for g in ordered[299993:]]
    assert middle == [(ordered[150000],)]


@pytest.mark.parametrize("bad", [
    "FETCH 1.5 FROM c",
    "FETCH ABSOLUTE FROM c",
    "FETCH 99999999999999999999999 FROM c",
    "DECLARE c CURSOR FOR",
    "DECLARE c SOMETHING CURSOR FOR SELECT 1",
    "CLOSE",
    "MOVE NEXT 3 FROM c",
])
def test_malformed_cursor_statements_are_syntax_errors(server, bad):
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        with pytest.raises(psycopg.errors.SyntaxError):
            c.execute(bad)
        assert c.execute("SELECT 1").fetchone() == (1,)
