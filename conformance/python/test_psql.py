"""psql (simple query protocol) against Floe."""

import os
import subprocess


def psql(server, *args, input=None):
    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    return subprocess.run(
        ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "floe", "-d", "floe", "-v", "ON_ERROR_STOP=1", *args],
        capture_output=True,
        text=True,
        input=input,
        env=env,
        timeout=60,
    )


def test_multi_statement_simple_query(server):
    r = psql(server, "-At", "-c", "SELECT 1 AS one; SELECT 'two', NULL::INTEGER IS NULL")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["1", "two|t"]


def test_command_tags(server):
    r = psql(
        server,
        "-c",
        "CREATE TABLE psql_t (a INTEGER, b VARCHAR)",
        "-c",
        "INSERT INTO psql_t VALUES (1, 'a'), (2, 'b')",
        "-c",
        "UPDATE psql_t SET b = 'c' WHERE a = 1",
        "-c",
        "DELETE FROM psql_t WHERE a = 2",
        "-c",
        "DROP TABLE psql_t",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["CREATE TABLE", "INSERT 0 2", "UPDATE 1", "DELETE 1", "DROP TABLE"]


def test_gdesc(server):
    r = psql(server, input="SELECT 1::INTEGER AS a, 'x'::VARCHAR AS b, 1.5::DECIMAL(10,2) AS c, now() AS d \\gdesc\n")
    assert r.returncode == 0, r.stderr
    lines = [l.strip() for l in r.stdout.splitlines()]
    assert any(l.startswith("a") and "integer" in l for l in lines), r.stdout
    assert any(l.startswith("b") and "character varying" in l for l in lines), r.stdout
    assert any(l.startswith("c") and "numeric(10,2)" in l for l in lines), r.stdout
    assert any(l.startswith("d") and "timestamp with time zone" in l for l in lines), r.stdout


def test_errors_and_server_version(server):
    r = psql(server, "-c", "SELECT * FROM no_such_table")
    assert r.returncode != 0
    assert 'ERROR:  relation "no_such_table" does not exist' in r.stderr
    r = psql(server, "-At", "-c", "SHOW server_version")
    assert r.stdout.strip().startswith("15.")
    r = psql(server, "-At", "-c", "SELECT 1 / 0")
    assert "division by zero" in r.stderr


def test_psql_transactions_and_settings(server):
    script = """
CREATE TABLE psql_tx (a INTEGER);
BEGIN;
INSERT INTO psql_tx VALUES (1);
ROLLBACK;
SELECT count(*) FROM psql_tx;
SET DateStyle = 'ISO, DMY';
SHOW DateStyle;
SELECT TIMESTAMP '2024-05-06 07:08:09.5';
"""
    r = psql(server, "-Atq", input=script)
    assert r.returncode == 0, r.stderr
    out = [l for l in r.stdout.splitlines() if l]
    assert out == ["0", "ISO, DMY", "2024-05-06 07:08:09.5"], r.stdout


def test_column_names_follow_postgres(server):
    # Unaliased expressions are named as PostgreSQL names them, in the simple and
    # the extended protocol alike; unquoted aliases fold to lower case.
    sql = ("SELECT count(*), sum(x), max(x) AS Biggest, x::text, 1 + 1, CASE WHEN x > 1 THEN 'y' END"
           " FROM (VALUES (1), (2)) t(x) GROUP BY x ORDER BY 1 LIMIT 1")
    r = psql(server, "-A", "-c", sql)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "count|sum|biggest|x|?column?|case"
    import psycopg
    with psycopg.connect(server.dsn()) as conn:
        cur = conn.execute(sql)
        assert [d.name for d in cur.description] == ["count", "sum", "biggest", "x", "?column?", "case"]
