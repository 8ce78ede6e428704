"""Lake tables created and written through Floe: CREATE SCHEMA / TABLE, INSERT,
CREATE TABLE AS and DROP commit to the Iceberg catalog, PyIceberg reads exactly
what Floe wrote (and Floe what PyIceberg appends), failed statements leave no
snapshot behind, and concurrent appenders lose no row."""

import concurrent.futures
import datetime
import decimal
import pathlib
import threading

import psycopg
import pyarrow as pa
import pytest
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    IntegerType,
    ListType,
    LongType,
    StringType,
    TimestamptzType,
)

from conftest import LakeServer, fails


@pytest.fixture(scope="module")
def lake():
    lake = LakeServer("floe-writes-")
    lake.catalog.create_namespace("seed")
    yield lake.server, lake.catalog, lake.root
    lake.stop()


def run(server, *statements):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        out = None
        for s in statements:
            cur = conn.execute(s)
            out = cur.fetchall() if cur.description else cur.statusmessage
        return out


def pg_error(server, sql):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql)
        # The session survives the error.
        assert conn.execute("SELECT 1").fetchone() == (1,)
        return e.value.sqlstate, str(e.value)


def test_create_insert_and_pyiceberg_reads_the_same(lake):
    server, catalog, _ = lake
    assert run(server, "CREATE SCHEMA shop") == "CREATE SCHEMA"
    assert run(server, "CREATE SCHEMA IF NOT EXISTS shop") == "CREATE SCHEMA"
    assert run(
        server,
        "CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer varchar(20) NOT NULL,"
        " amount numeric(12,2), score double precision, qty integer,"
        " placed timestamptz, tags text[])",
    ) == "CREATE TABLE"
    assert pg_error(server, "CREATE TABLE shop.orders (x int)")[0] == "42P07"

    table = catalog.load_table("shop.orders")
    fields = {f.name: f for f in table.schema().fields}
    assert fields["id"].field_type == LongType() and fields["id"].required
    assert fields["customer"].field_type == StringType() and fields["customer"].required
    assert fields["amount"].field_type == DecimalType(12, 2)
    assert fields["score"].field_type == DoubleType()
    assert fields["qty"].field_type == IntegerType()
    assert fields["placed"].field_type == TimestamptzType()
    assert isinstance(fields["tags"].field_type, ListType)
    assert table.schema().identifier_field_ids == [fields["id"].field_id]

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.execute(
            "INSERT INTO shop.orders VALUES (1, 'ann', 10.50, 0.5, 3, '2026-01-02 10:00+00',"
            " ARRAY['a','b']), (2, 'bob', NULL, NULL, NULL, NULL, NULL)"
        )
        assert cur.statusmessage == "INSERT 0 2"
        # Extended protocol with parameters, and a column list (the rest NULL).
        cur = conn.execute(
            "INSERT INTO shop.orders (customer, id, amount) VALUES (%s, %s, %s)",
            ("cy", 3, decimal.Decimal("7.25")),
        )
        assert cur.statusmessage == "INSERT 0 1"
        # INSERT … SELECT from the table itself (reads the snapshot before).
        cur = conn.execute(
            "INSERT INTO shop.orders (id, customer, qty) SELECT id + 10, upper(customer), qty"
            " FROM shop.orders WHERE id <= 2"
        )
        assert cur.statusmessage == "INSERT 0 2"
        rows = conn.execute(
            "SELECT id, customer, amount, qty, tags FROM shop.orders ORDER BY id"
        ).fetchall()
    assert rows == [
        (1, "ann", decimal.Decimal("10.50"), 3, ["a", "b"]),
        (2, "bob", None, None, None),
        (3, "cy", decimal.Decimal("7.25"), None, None),
        (11, "ANN", None, 3, None),
        (12, "BOB", None, None, None),
    ]
    arrow = catalog.load_table("shop.orders").scan().to_arrow().sort_by("id")
    assert arrow.column("id").to_pylist() == [1, 2, 3, 11, 12]
    assert arrow.column("customer").to_pylist() == ["ann", "bob", "cy", "ANN", "BOB"]
    assert arrow.column("amount").to_pylist()[:3] == [
        decimal.Decimal("10.50"), None, decimal.Decimal("7.25")
    ]
    assert arrow.column("placed").to_pylist()[0] == datetime.datetime(
        2026, 1, 2, 10, tzinfo=datetime.timezone.utc
    )
    snapshots = catalog.load_table("shop.orders").snapshots()
    assert len(snapshots) == 3
    assert sorted(s.summary.operation.value for s in snapshots) == ["append"] * 3


def test_column_statistics_prune_floe_written_files(lake):
    server, catalog, _ = lake
    run(server, "CREATE TABLE shop.events (k bigint, v text)")
    for lo in range(0, 50, 10):
        run(server, f"INSERT INTO shop.events SELECT i, 'v' || i FROM range({lo}, {lo + 10}) t(i)")
    files = catalog.load_table("shop.events").inspect.files()
    assert files.num_rows == 5
    assert all(b is not None for b in files.column("lower_bounds").to_pylist())
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM shop.events WHERE k BETWEEN 12 AND 17").fetchall()
        scan = conn.execute("SHOW floe.lake_scan").fetchone()[0]
    assert scan == "shop.events 1/5", scan


def test_create_table_as_and_with_no_data(lake):
    server, catalog, _ = lake
    assert run(
        server,
        "CREATE TABLE shop.big AS SELECT i AS id, i * 2 AS twice, 'n' || i AS name,"
        " DATE '2026-01-01' + i::int AS day FROM range(1000) t(i)",
    ) == "SELECT 1000"
    assert run(server, "SELECT count(*), sum(twice) FROM shop.big") == [(1000, 999000)]
    big = catalog.load_table("shop.big")
    assert [f.name for f in big.schema().fields] == ["id", "twice", "name", "day"]
    assert big.scan().to_arrow().num_rows == 1000
    assert run(server, "CREATE TABLE shop.shape (a, b) AS SELECT 1, 'x' WITH NO DATA") == "SELECT 0"
    shape = catalog.load_table("shop.shape")
    assert [f.name for f in shape.schema().fields] == ["a", "b"]
    assert shape.current_snapshot() is None
    assert run(server, "SELECT count(*) FROM shop.shape") == [(0,)]
    # From another lake table, and IF NOT EXISTS on an existing name.
    assert run(server, "CREATE TABLE shop.small AS SELECT * FROM shop.big WHERE id < 5") == "SELECT 5"
    assert run(server, "CREATE TABLE IF NOT EXISTS shop.small AS SELECT 1 AS id") == "SELECT 0"
    assert run(server, "SELECT count(*) FROM shop.small") == [(5,)]


def test_pyiceberg_appends_to_a_table_floe_created(lake):
    server, catalog, _ = lake
    run(server, "CREATE TABLE shop.mixed (id bigint, note text)", "INSERT INTO shop.mixed VALUES (1, 'floe')")
    t = catalog.load_table("shop.mixed")
    t.append(pa.table({"id": [2], "note": ["pyiceberg"]}, schema=t.schema().as_arrow()))
    assert run(server, "SELECT id, note FROM shop.mixed ORDER BY id") == [(1, "floe"), (2, "pyiceberg")]
    run(server, "INSERT INTO shop.mixed VALUES (3, 'floe again')")
    assert catalog.load_table("shop.mixed").scan().to_arrow().num_rows == 3


def test_failed_writes_leave_no_trace(lake):
    server, catalog, root = lake
    before = len(catalog.load_table("shop.orders").snapshots())
    files = set((root / "warehouse").rglob("*.parquet"))
    code, message = pg_error(server, "INSERT INTO shop.orders (id) VALUES (100)")
    assert code == "23502" and "customer" in message
    code, _ = pg_error(server, "INSERT INTO shop.orders VALUES (101, NULL)")
    assert code == "23502"
    code, _ = pg_error(server, "INSERT INTO shop.orders (id, customer) VALUES ('x', 'y')")
    assert code == "22P02"
    assert pg_error(server, "INSERT INTO shop.orders (nope) VALUES (1)")[0] == "42703"
    assert pg_error(server, "INSERT INTO shop.orders (id, customer) VALUES (1)")[0] == "42601"
    assert pg_error(server, "CREATE TABLE shop.bad AS SELECT 1 / 0 AS x")[0] == "22012"
    assert len(catalog.load_table("shop.orders").snapshots()) == before
    assert set((root / "warehouse").rglob("*.parquet")) == files
    assert not catalog.table_exists("shop.bad")
    # A write inside a transaction block that rolls back leaves nothing either.
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("INSERT INTO shop.orders VALUES (102, 'z')")
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone() == (6,)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone() == (5,)
    assert len(catalog.load_table("shop.orders").snapshots()) == before
    assert set((root / "warehouse").rglob("*.parquet")) == files


def test_concurrent_appenders_lose_no_row(lake):
    server, catalog, _ = lake
    run(server, "CREATE TABLE shop.log (writer int, n int)")
    done = threading.Event()
    seen = []

    def append(writer):
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for batch in range(5):
                # Ten rows per statement: one snapshot adds all ten or none.
                rows = ", ".join(f"({writer}, {batch * 10 + i})" for i in range(10))
                conn.execute(f"INSERT INTO shop.log VALUES {rows}")

    def read():
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            while not done.is_set():
                seen.append(conn.execute("SELECT count(*) FROM shop.log").fetchone()[0])

    reader = threading.Thread(target=read)
    reader.start()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    done.set()
    reader.join()
    assert run(server, "SELECT count(*), count(DISTINCT (writer, n)) FROM shop.log") == [(400, 400)]
    assert catalog.load_table("shop.log").scan().to_arrow().num_rows == 400
    # The reader, running through the commits, only ever saw whole snapshots,
    # and never one older than the last it saw.
    assert seen and all(c % 10 == 0 for c in seen)
    assert seen == sorted(seen)


def test_drop_table_and_schema(lake):
    server, catalog, _ = lake
    run(server, "CREATE SCHEMA scratch", "CREATE TABLE scratch.a (x int)", "CREATE TABLE scratch.b (x int)")
    code, _ = pg_error(server, "DROP SCHEMA scratch")
    assert code == "2BP01"
    assert run(server, "DROP TABLE scratch.a") == "DROP TABLE"
    assert not catalog.table_exists("scratch.a")
    assert pg_error(server, "DROP TABLE scratch.a")[0] == "42P01"
    assert run(server, "DROP TABLE IF EXISTS scratch.a") == "DROP TABLE"
    assert pg_error(server, "SELECT * FROM scratch.a")[0] == "42P01"
    assert run(server, "DROP SCHEMA scratch CASCADE") == "DROP SCHEMA"
    assert ("scratch",) not in catalog.list_namespaces()
    assert pg_error(server, "DROP SCHEMA scratch")[0] == "3F000"
    assert pg_error(server, "CREATE SCHEMA pg_mine")[0] == "42939"


def test_search_path_chooses_the_lake_schema(lake):
    server, catalog, _ = lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SET search_path = shop, public")
        conn.execute("CREATE TABLE unqualified (x int)")
        conn.execute("INSERT INTO unqualified VALUES (7)")
        assert conn.execute("SELECT x FROM unqualified").fetchall() == [(7,)]
    assert catalog.load_table("shop.unqualified").scan().to_arrow().num_rows == 1
    # Without a lake schema first, tables stay in the session's engine.
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE scratchpad (x int)")
        conn.execute("INSERT INTO scratchpad VALUES (1)")
        assert conn.execute("SELECT count(*) FROM scratchpad").fetchone() == (1,)
    assert not catalog.table_exists("shop.scratchpad")


def test_partitioned_tables_get_iceberg_partition_values(lake):
    server, catalog, _ = lake
    run(
        server,
        "CREATE TABLE shop.visits (id bigint, region text, ts timestamptz, day date, price numeric(8,2))"
        " PARTITION BY (region, day(ts), bucket(4, id), month(day), truncate(10, price))",
    )
    spec = catalog.load_table("shop.visits").spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [
        ("region", "identity"), ("ts_day", "day"), ("id_bucket", "bucket[4]"),
        ("day_month", "month"), ("price_trunc", "truncate[10]"),
    ]
    run(
        server,
        "INSERT INTO shop.visits SELECT i, CASE WHEN i % 3 = 0 THEN 'eu' WHEN i % 3 = 1 THEN 'us/west' END,"
        " CAST(strftime(TIMESTAMP '2026-01-01 23:30:00' + i * INTERVAL 1 HOUR, '%Y-%m-%d %H:%M:%S+00') AS TIMESTAMPTZ), DATE '2025-12-30' + i::int,"
        " (i * 1.25)::numeric(8,2) FROM range(30) t(i)",
    )
    table = catalog.load_table("shop.visits")
    # PyIceberg computes the same partition values from the rows Floe wrote.
    from pyiceberg.transforms import BucketTransform, DayTransform, MonthTransform, TruncateTransform
    from pyiceberg.types import DateType, DecimalType as Dec, LongType as Long, TimestamptzType as Tz

    arrow = table.scan().to_arrow()
    assert arrow.num_rows == 30
    expected = set()
    for row in arrow.to_pylist():
        at_us = int(row["ts"].timestamp() * 1_000_000)
        day_days = (row["day"] - datetime.date(1970, 1, 1)).days
        expected.add((
            row["region"],
            DayTransform().transform(Tz())(at_us),
            BucketTransform(4).transform(Long())(row["id"]),
            MonthTransform().transform(DateType())(day_days),
            TruncateTransform(10).transform(Dec(8, 2))(row["price"]),
        ))
    written = set()
    for p in table.inspect.files().column("partition").to_pylist():
        written.add((p["region"], (p["ts_day"] - datetime.date(1970, 1, 1)).days
                     if isinstance(p["ts_day"], datetime.date) else p["ts_day"],
                     p["id_bucket"], p["day_month"], p["price_trunc"]))
    assert written == expected
    # Partition values prune Floe's own reads.
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        n = conn.execute("SELECT count(*) FROM shop.visits WHERE region = 'us/west'").fetchone()[0]
        assert n == 10
        scan = conn.execute("SHOW floe.lake_scan").fetchone()[0]
        total = table.inspect.files().num_rows
        planned = int(scan.split()[1].split("/")[0])
        assert scan.endswith(f"/{total}") and planned < total
        assert conn.execute("SELECT count(*) FROM shop.visits WHERE region IS NULL").fetchone() == (10,)
    # Buckets of strings, UUIDs and decimals hash bytes as Iceberg does.
    run(server, "CREATE TABLE shop.hashed (s text, u uuid, d numeric(9,2))"
                " PARTITION BY (bucket(8, s), bucket(8, u), bucket(8, d))")
    run(server, "INSERT INTO shop.hashed SELECT 'k' || i, uuid(), (i * 7.31 - 40)::numeric(9,2)"
                " FROM range(40) t(i)")
    run(server, "INSERT INTO shop.hashed VALUES ('iceberg', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 14.20),"
                " ('', NULL, 0)")
    hashed = catalog.load_table("shop.hashed")
    from pyiceberg.types import StringType, UUIDType

    expected = {
        (BucketTransform(8).transform(StringType())(r["s"]),
         BucketTransform(8).transform(UUIDType())(r["u"]) if r["u"] is not None else None,
         BucketTransform(8).transform(Dec(9, 2))(r["d"]))
        for r in hashed.scan().to_arrow().to_pylist()
    }
    # (Partition records straight from the manifests: PyIceberg's inspect
    # tables cannot hold UUID partition fields.)
    written = {tuple(task.file.partition) for task in hashed.scan().plan_files()}
    assert len(expected) > 10 and written == expected
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM shop.hashed WHERE s = 'iceberg'").fetchone() == (1,)


def test_delete_writes_position_deletes_every_reader_applies(lake):
    server, catalog, _ = lake
    run(
        server,
        "CREATE TABLE shop.stock (sku bigint, region text, qty int) PARTITION BY (region)",
        "INSERT INTO shop.stock SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i FROM range(20) t(i)",
    )
    before = catalog.load_table("shop.stock").current_snapshot().snapshot_id
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("DELETE FROM shop.stock WHERE qty >= 15").statusmessage == "DELETE 5"
        # With parameters and an alias; rows already deleted are not counted again.
        cur = conn.execute("DELETE FROM shop.stock AS s WHERE s.qty >= %s AND s.region = %s", (10, "eu"))
        assert cur.statusmessage == "DELETE 3"
        assert conn.execute("DELETE FROM shop.stock WHERE qty > 100").statusmessage == "DELETE 0"
        rows = conn.execute("SELECT sku FROM shop.stock ORDER BY sku").fetchall()
    expected = [i for i in range(15) if not (i >= 10 and i % 2 == 0)]
    assert [r[0] for r in rows] == expected
    table = catalog.load_table("shop.stock")
    assert sorted(table.scan().to_arrow().column("sku").to_pylist()) == expected
    ops = [s.summary.operation.value for s in sorted(table.snapshots(), key=lambda s: s.sequence_number)]
    assert ops == ["append", "delete", "delete"]
    # The snapshot before the deletes still has every row.
    assert run(server, f"SELECT count(*) FROM shop.stock AT (VERSION => {before})") == [(20,)]
    assert table.scan(snapshot_id=before).to_arrow().num_rows == 20
    # DELETE without WHERE empties the table.
    assert run(server, "DELETE FROM shop.stock") == f"DELETE {len(expected)}"
    assert run(server, "SELECT count(*) FROM shop.stock") == [(0,)]
    assert catalog.load_table("shop.stock").scan().to_arrow().num_rows == 0


def test_update_replaces_rows_in_one_snapshot(lake):
    server, catalog, _ = lake
    run(
        server,
        "CREATE TABLE shop.prices (sku bigint NOT NULL, region text, price numeric(10,2)) PARTITION BY (region)",
        "INSERT INTO shop.prices SELECT i, CASE WHEN i < 5 THEN 'eu' ELSE 'us' END, i * 1.5 FROM range(10) t(i)",
    )
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.execute("UPDATE shop.prices SET price = price * 2 WHERE sku >= 8")
        assert cur.statusmessage == "UPDATE 2"
        # Moving rows to another partition, with parameters and an alias.
        cur = conn.execute(
            "UPDATE shop.prices AS p SET region = %s, price = %s WHERE p.sku = %s", ("ap", decimal.Decimal("9.99"), 1)
        )
        assert cur.statusmessage == "UPDATE 1"
        assert conn.execute("UPDATE shop.prices SET price = 0 WHERE sku > 100").statusmessage == "UPDATE 0"
        rows = conn.execute("SELECT sku, region, price FROM shop.prices ORDER BY sku").fetchall()
        fails(conn, "UPDATE shop.prices SET sku = NULL WHERE sku = 2", psycopg.errors.NotNullViolation)
    expected = [
        (i, "ap" if i == 1 else ("eu" if i < 5 else "us"),
         decimal.Decimal("9.99") if i == 1 else (decimal.Decimal(i) * decimal.Decimal("1.5") * (2 if i >= 8 else 1)).quantize(decimal.Decimal("0.01")))
        for i in range(10)
    ]
    assert rows == expected
    table = catalog.load_table("shop.prices")
    arrow = table.scan().to_arrow().sort_by("sku")
    assert list(zip(arrow.column("sku").to_pylist(), arrow.column("region").to_pylist(),
                    arrow.column("price").to_pylist())) == expected
    ops = [s.summary.operation.value for s in sorted(table.snapshots(), key=lambda s: s.sequence_number)]
    assert ops == ["append", "overwrite", "overwrite"]


def test_truncate_empties_the_current_snapshot_only(lake):
    server, catalog, _ = lake
    run(server, "CREATE TABLE shop.temp_log (n int)", "INSERT INTO shop.temp_log SELECT * FROM range(7)")
    before = catalog.load_table("shop.temp_log").current_snapshot().snapshot_id
    assert run(server, "TRUNCATE shop.temp_log") == "TRUNCATE TABLE"
    assert run(server, "SELECT count(*) FROM shop.temp_log") == [(0,)]
    assert run(server, f"SELECT count(*) FROM shop.temp_log AT (VERSION => {before})") == [(7,)]
    table = catalog.load_table("shop.temp_log")
    assert table.scan().to_arrow().num_rows == 0
    assert table.current_snapshot().summary.operation.value == "delete"
    # Writable again afterwards; TRUNCATE TABLE of an empty table is fine.
    run(server, "INSERT INTO shop.temp_log VALUES (1)")
    assert run(server, "SELECT n FROM shop.temp_log") == [(1,)]
    run(server, "CREATE TABLE shop.never (n int)")
    assert run(server, "TRUNCATE TABLE shop.never") == "TRUNCATE TABLE"


def test_alter_table_evolves_the_iceberg_schema(lake):
    server, catalog, _ = lake
    run(
        server,
        "CREATE TABLE shop.people (id bigint, name text, age int)",
        "INSERT INTO shop.people VALUES (1, 'ann', 30)",
        "ALTER TABLE shop.people ADD COLUMN email text",
        "ALTER TABLE shop.people RENAME COLUMN name TO full_name",
        "ALTER TABLE shop.people DROP COLUMN age",
        "INSERT INTO shop.people VALUES (2, 'bob', 'bob@example.com')",
    )
    assert run(server, "SELECT id, full_name, email FROM shop.people ORDER BY id") == [
        (1, "ann", None), (2, "bob", "bob@example.com")
    ]
    table = catalog.load_table("shop.people")
    assert [f.name for f in table.schema().fields] == ["id", "full_name", "email"]
    arrow = table.scan().to_arrow().sort_by("id")
    assert arrow.column("full_name").to_pylist() == ["ann", "bob"]
    assert arrow.column("email").to_pylist() == [None, "bob@example.com"]
    # A new column that reuses a dropped name does not bring old values back.
    run(server, "ALTER TABLE shop.people ADD COLUMN age int")
    assert run(server, "SELECT age FROM shop.people ORDER BY id") == [(None,), (None,)]
    assert pg_error(server, "ALTER TABLE shop.people ADD COLUMN email text")[0] == "42701"
    assert run(server, "ALTER TABLE shop.people ADD COLUMN IF NOT EXISTS email text") == "ALTER TABLE"
    assert pg_error(server, "ALTER TABLE shop.people DROP COLUMN nope")[0] == "42703"
    assert pg_error(server, "ALTER TABLE shop.nobody ADD COLUMN x int")[0] == "42P01"
    assert run(server, "ALTER TABLE IF EXISTS shop.nobody ADD COLUMN x int") == "ALTER TABLE"
    assert run(server, "ALTER TABLE shop.people RENAME TO persons") == "ALTER TABLE"
    assert run(server, "SELECT count(*) FROM shop.persons") == [(2,)]
    assert not catalog.table_exists("shop.people") and catalog.table_exists("shop.persons")
    assert pg_error(server, "SELECT * FROM shop.people")[0] == "42P01"


def test_orphan_files_are_removed_and_committed_ones_kept(lake):
    server, catalog, root = lake
    run(server, "CREATE TABLE shop.crashy (n int)", "INSERT INTO shop.crashy VALUES (1), (2)")
    data_dir = pathlib.Path(catalog.load_table("shop.crashy").location().removeprefix("file://")) / "data"
    committed = set(data_dir.glob("*.parquet"))
    # What a writer that crashed between upload and commit leaves behind.
    old = data_dir / "orphan-old.parquet"
    young = data_dir / "orphan-young.parquet"
    for f in (old, young):
        f.write_bytes(next(iter(committed)).read_bytes())
    import os, time
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        notices = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("CALL floe_remove_orphan_files('shop.crashy')")
        assert notices and notices[-1].startswith("removed 1 orphan files"), notices
    assert not old.exists() and young.exists()
    assert committed <= set(data_dir.glob("*.parquet"))
    assert run(server, "SELECT sum(n) FROM shop.crashy") == [(3,)]
    # With a zero age the young orphan goes too; committed files never do.
    run(server, "CALL floe_remove_orphan_files('shop.crashy', 0)")
    assert set(data_dir.glob("*.parquet")) == committed
    assert catalog.load_table("shop.crashy").scan().to_arrow().num_rows == 2


def test_text_stored_into_bytea_reads_as_postgresql_bytea_input(lake):
    """An untyped literal or text value into a bytea column is PostgreSQL's
    bytea input: `\\x` and hex digits are the bytes they spell (not the text
    of them), `\\x` alone is empty, other text is its bytes; an odd number
    of hex digits is refused (22023) and nothing is written."""
    server, _, _ = lake
    run(server, "CREATE TABLE public.blobs (n int, b bytea)")
    run(server, "INSERT INTO public.blobs VALUES (1, '\\x0102'), (2, '\\x'), (3, 'abc'), (4, NULL)")
    run(server, "INSERT INTO public.blobs SELECT 5, '\\xDEADbeef'")
    rows = run(server, "SELECT n, b, octet_length(b) FROM public.blobs ORDER BY n")
    assert rows == [
        (1, b"\x01\x02", 2),
        (2, b"", 0),
        (3, b"abc", 3),
        (4, None, None),
        (5, b"\xde\xad\xbe\xef", 4),
    ]
    code, message = pg_error(server, "INSERT INTO public.blobs VALUES (6, '\\x012')")
    assert "odd number of digits" in message, message
    assert run(server, "SELECT count(*) FROM public.blobs") == [(5,)]
