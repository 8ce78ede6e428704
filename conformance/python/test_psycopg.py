"""psycopg 3 against Floe, in text and binary result formats."""

import datetime
import decimal
import uuid

import psycopg
import pytest

TYPES_SQL = (
    "SELECT true AS b, 2::SMALLINT AS i2, 3::INTEGER AS i4, 4::BIGINT AS i8, 1.5::REAL AS f4, "
    "2.25::DOUBLE AS f8, 12.30::DECIMAL(10,2) AS n, 'héllo' AS t, unhex('dead') AS by, "
    "DATE '2024-02-29' AS d, TIME '12:34:56.789' AS tm, TIMESTAMP '2024-02-29 12:34:56.789' AS ts, "
    "TIMESTAMPTZ '2024-02-29 12:34:56+00' AS tstz, INTERVAL '3 days 04:05:06' AS iv, "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID AS u, '{\"a\": 1}'::JSON AS j, "
    "[1, NULL, 3]::INTEGER[] AS arr, ['x', 'y z']::VARCHAR[] AS sarr, NULL::INTEGER AS nul"
)

EXPECTED = [
    True,
    2,
    3,
    4,
    1.5,
    2.25,
    decimal.Decimal("12.30"),
    "héllo",
    b"\xde\xad",
    datetime.date(2024, 2, 29),
    datetime.time(12, 34, 56, 789000),
    datetime.datetime(2024, 2, 29, 12, 34, 56, 789000),
    datetime.datetime(2024, 2, 29, 12, 34, 56, tzinfo=datetime.timezone.utc),
    datetime.timedelta(days=3, hours=4, minutes=5, seconds=6),
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    {"a": 1},
    [1, None, 3],
    ["x", "y z"],
    None,
]


@pytest.mark.parametrize("binary", [False, True])
def test_types_round_trip(server, binary):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        cur = conn.cursor(binary=binary)
        cur.execute(TYPES_SQL)
        row = cur.fetchone()
        got = list(row)
        # bytea comes back as bytes or memoryview depending on format.
        got[8] = bytes(got[8])
        assert got == EXPECTED
        names = [d.name for d in cur.description]
        assert names[:3] == ["b", "i2", "i4"]


@pytest.mark.parametrize("binary", [False, True])
def test_parameters(server, binary):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute(
            "SELECT %s::INTEGER + 1, %s::VARCHAR || '!', %s::DOUBLE * 2, %s::DATE, %s::DECIMAL(10,2), %s::BOOLEAN",
            [41, "hi", 1.25, datetime.date(2020, 1, 2), decimal.Decimal("3.50"), False],
        )
        assert cur.fetchone() == (42, "hi!", 2.5, datetime.date(2020, 1, 2), decimal.Decimal("3.50"), False)


def test_transactions_and_errors(server):
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS psy_t (a INTEGER)")
        conn.commit()
        conn.execute("INSERT INTO psy_t VALUES (1)")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM psy_t").fetchone()[0] == 0
        conn.execute("INSERT INTO psy_t VALUES (1)")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM psy_t").fetchone()[0] == 1
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM nope")
        conn.rollback()
        assert conn.execute("SELECT 5").fetchone()[0] == 5


def test_executemany_and_rowcount(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE psy_many (a INTEGER, b VARCHAR)")
        cur = conn.cursor()
        cur.executemany("INSERT INTO psy_many VALUES (%s, %s)", [(i, f"v{i}") for i in range(10)])
        cur.execute("UPDATE psy_many SET b = 'x' WHERE a < 4")
        assert cur.rowcount == 4
        cur.execute("SELECT a, b FROM psy_many ORDER BY a")
        rows = cur.fetchall()
        assert rows[0] == (0, "x") and rows[9] == (9, "v9")


def test_parameter_status(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        info = conn.info
        assert info.parameter_status("server_version").startswith("15.")
        assert info.parameter_status("server_encoding") == "UTF8"
        assert info.parameter_status("integer_datetimes") == "on"
        conn.execute("SET application_name = 'conformance'")
        assert info.parameter_status("application_name") == "conformance"
        conn.execute("SET DateStyle = 'ISO, DMY'")
        assert info.parameter_status("DateStyle") == "ISO, DMY"


@pytest.mark.parametrize("binary", [False, True])
def test_array_parameters(server, binary):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        cur.execute("SELECT list_sum(%s::BIGINT[]), %s::VARCHAR[]", [[1, 2, 3], ["a b", "it's", None]])
        assert cur.fetchone() == (6, ["a b", "it's", None])
