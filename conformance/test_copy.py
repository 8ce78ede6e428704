"""COPY FROM STDIN and COPY TO STDOUT through real clients: psql's \\copy, psycopg
(text, CSV and binary), asyncpg's binary copy_records_to_table, into lake tables
(one Iceberg snapshot per COPY, PyIceberg reads the rows) and session tables; a
malformed row, a client's CopyFail or a NOT NULL violation commits nothing."""

import asyncio
import datetime
import decimal
import subprocess
import tempfile
import uuid

import asyncpg
import psycopg
import pytest

from conftest import LakeServer


@pytest.fixture(scope="module")
def lake():
    lake = LakeServer("floe-copy-")
    lake.catalog.create_namespace("ld")
    yield lake.server, lake.catalog
    lake.stop()


def connect(server):
    return psycopg.connect(server.dsn(), autocommit=True)


def snapshots(catalog, name):
    return len(catalog.load_table(name).snapshots())


def test_text_format_escapes_and_nulls(lake):
    server, catalog = lake
    with connect(server) as conn:
        conn.execute("CREATE TABLE ld.notes (id int NOT NULL, body text, score float8, day date)")
        with conn.cursor().copy("COPY ld.notes FROM STDIN") as cp:
            cp.write(
                "1\thello\t1.5\t2024-01-02\n"
                "2\t\\N\t\\N\t\\N\n"
                "3\ttab\\there\\nnewline \\\\ back\t-0.25\t2024-03-04\n"
                "4\t\t0\t2024-12-31\n"
                "\\.\n"
            )
        rows = conn.execute("SELECT * FROM ld.notes ORDER BY id").fetchall()
    assert rows == [
        (1, "hello", 1.5, datetime.date(2024, 1, 2)),
        (2, None, None, None),
        (3, "tab\there\nnewline \\ back", -0.25, datetime.date(2024, 3, 4)),
        (4, "", 0.0, datetime.date(2024, 12, 31)),
    ]
    # One COPY, one snapshot, and PyIceberg reads what was copied.
    table = catalog.load_table("ld.notes")
    assert len(table.snapshots()) == 1
    assert table.scan().to_arrow().num_rows == 4


def test_csv_header_quotes_and_column_list(lake):
    server, _ = lake
    with connect(server) as conn:
        conn.execute("CREATE TABLE ld.people (id int, name text, city text, note text)")
        cur = conn.cursor()
        with cur.copy("COPY ld.people (id, name, note) FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
            cp.write('id,name,note\n1,"Doe, Jane","said ""hi""\nand left"\n2,,""\n')
        assert cur.statusmessage == "COPY 2"
        rows = conn.execute("SELECT * FROM ld.people ORDER BY id").fetchall()
    assert rows == [(1, "Doe, Jane", None, 'said "hi"\nand left'), (2, None, None, "")]


def test_binary_format_all_common_types(lake):
    server, _ = lake
    types = ["int4", "int8", "float8", "numeric", "text", "date", "timestamp",
             "timestamptz", "uuid", "bytea", "bool"]
    row = (
        7, 2**40, 1.25, decimal.Decimal("12.34"), 'a\tb,"c"', datetime.date(2024, 1, 2),
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        uuid.UUID(int=5), b"\x00\xffA", True,
    )
    with connect(server) as conn:
        conn.execute(
            "CREATE TABLE ld.kinds (i int, bi bigint, f float8, n numeric(10,2), t text, "
            "d date, ts timestamp, tz timestamptz, u uuid, b bytea, o boolean)"
        )
        with conn.cursor().copy("COPY ld.kinds FROM STDIN (FORMAT binary)") as cp:
            cp.set_types(types)
            cp.write_row(row)
            cp.write_row((None,) * len(types))
        conn.execute("SET TimeZone = 'UTC'")
        got = conn.execute("SELECT * FROM ld.kinds ORDER BY i NULLS LAST").fetchall()
        assert got == [row, (None,) * len(types)]
        # And back out in binary.
        with conn.cursor().copy("COPY ld.kinds TO STDOUT (FORMAT binary)") as cp:
            cp.set_types(types)
            out = list(cp.rows())
        assert sorted(out, key=lambda r: r[0] is None) == [row, (None,) * len(types)]


def test_copy_to_stdout_text_and_csv(lake):
    server, _ = lake
    with connect(server) as conn:
        conn.execute("CREATE TABLE ld.out (id int, s text)")
        conn.execute("INSERT INTO ld.out VALUES (1, 'a,b'), (2, NULL), (3, 'tab\there'), (4, '')")
        cur = conn.cursor()
        with cur.copy("COPY (SELECT * FROM ld.out ORDER BY id) TO STDOUT") as cp:
            text = b"".join(bytes(b) for b in cp)
        assert text == b"1\ta,b\n2\t\\N\n3\ttab\\there\n4\t\n"
        with cur.copy("COPY (SELECT * FROM ld.out ORDER BY id) TO STDOUT (FORMAT csv, HEADER)") as cp:
            csv = b"".join(bytes(b) for b in cp)
        assert csv == b'id,s\n1,"a,b"\n2,\n3,tab\there\n4,""\n'
        # Round trip: what COPY TO wrote, COPY FROM reads back identically.
        conn.execute("CREATE TABLE ld.out2 (id int, s text)")
        with cur.copy("COPY ld.out2 FROM STDIN (FORMAT csv, HEADER)") as cp:
            cp.write(csv)
        assert conn.execute("SELECT * FROM ld.out2 ORDER BY id").fetchall() == conn.execute(
            "SELECT * FROM ld.out ORDER BY id"
        ).fetchall()


def test_psql_copy_from_and_to_files(lake, tmp_path):
    server, _ = lake
    src = tmp_path / "in.csv"
    src.write_text("k,v\n1,one\n2,two\n3,three\n")
    dst = tmp_path / "out.txt"
    env = {"PGCONNECT_TIMEOUT": "10", "PATH": "/usr/bin:/bin"}
    args = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", str(server.port),
            "-U", "floe", "-d", "floe"]
    r = subprocess.run(
        args + ["-c", "CREATE TABLE ld.kv (k int, v text)",
                "-c", f"\\copy ld.kv FROM '{src}' WITH (FORMAT csv, HEADER)",
                "-c", f"\\copy (SELECT * FROM ld.kv ORDER BY k) TO '{dst}'"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "COPY 3" in r.stdout
    assert dst.read_text() == "1\tone\n2\ttwo\n3\tthree\n"


def test_pg_dump_style_into_session_table(lake):
    server, _ = lake
    with connect(server) as conn:
        conn.execute("CREATE TEMP TABLE scratch (a int, b text)")
        with conn.cursor().copy("COPY scratch (a, b) FROM stdin;") as cp:
            cp.write("1\tx\n2\ty\n\\.\n")
        assert conn.execute("SELECT * FROM scratch ORDER BY a").fetchall() == [(1, "x"), (2, "y")]
        with conn.cursor().copy("COPY scratch FROM STDIN WHERE a > 10") as cp:
            cp.write("5\tlow\n50\thigh\n")
        assert conn.execute("SELECT count(*) FROM scratch").fetchone() == (3,)


def test_asyncpg_copy_records_and_out(lake):
    server, _ = lake

    async def go():
        conn = await asyncpg.connect(host=server.host, port=server.port, user="floe", database="floe")
        try:
            await conn.execute("CREATE TABLE ld.events (id bigint, kind text, happened timestamp)")
            at = datetime.datetime(2025, 6, 1, 12, 0)
            records = [(i, f"k{i % 3}", at + datetime.timedelta(seconds=i)) for i in range(1000)]
            status = await conn.copy_records_to_table("events", schema_name="ld", records=records)
            assert status == "COPY 1000"
            got = await conn.fetch("SELECT id, kind, happened FROM ld.events ORDER BY id")
            assert [tuple(r) for r in got] == records
            out = tempfile.SpooledTemporaryFile()
            await conn.copy_from_query("SELECT id FROM ld.events WHERE id < 3 ORDER BY id", output=out)
            out.seek(0)
            assert out.read() == b"0\n1\n2\n"
        finally:
            await conn.close()

    asyncio.run(go())


def test_bad_rows_commit_nothing(lake):
    server, catalog = lake
    with connect(server) as conn:
        conn.execute("CREATE TABLE ld.strict (id int NOT NULL, name text)")
        conn.execute("INSERT INTO ld.strict VALUES (1, 'kept')")
        before = snapshots(catalog, "ld.strict")

        def failing(sql, data):
            with pytest.raises(psycopg.Error) as e:
                with conn.cursor().copy(sql) as cp:
                    cp.write(data)
            assert conn.execute("SELECT 1").fetchone() == (1,)
            return e.value

        e = failing("COPY ld.strict FROM STDIN", "2\tok\nthree\tbad\n4\tok\n")
        assert e.sqlstate == "22P02"
        assert 'invalid input syntax for type integer: "three"' in str(e)
        assert e.diag.context.startswith("COPY strict, line 2, column id")
        e = failing("COPY ld.strict FROM STDIN (FORMAT csv, HEADER)", "id,name\n2,a\nx,b\n")
        assert e.sqlstate == "22P02" and "line 3" in e.diag.context
        e = failing("COPY ld.strict FROM STDIN", "2\tok\n3\n")
        assert e.sqlstate == "22P04"
        assert "missing data for column" in str(e) and "line 2" in e.diag.context
        e = failing("COPY ld.strict FROM STDIN", "2\tok\t9\n")
        assert e.sqlstate == "22P04" and "extra data after last expected column" in str(e)
        e = failing("COPY ld.strict FROM STDIN", "\\N\tno id\n")
        assert e.sqlstate == "23502"
        e = failing("COPY ld.strict FROM STDIN (FORMAT binary)", b"not binary at all")
        assert e.sqlstate == "22P04"
        e = failing("COPY ld.nope FROM STDIN", "1\n")
        assert e.sqlstate == "42P01"
        e = failing("COPY ld.strict FROM STDIN (FORMAT xml)", "")
        assert e.sqlstate == "42601"

        # The client gives up half-way: psycopg sends CopyFail and re-raises.
        with pytest.raises(RuntimeError):
            with conn.cursor().copy("COPY ld.strict FROM STDIN") as cp:
                cp.write("2\tpartial\n")
                raise RuntimeError("client aborts")
        assert conn.execute("SELECT 1").fetchone() == (1,)

        assert snapshots(catalog, "ld.strict") == before
        assert conn.execute("SELECT * FROM ld.strict").fetchall() == [(1, "kept")]
