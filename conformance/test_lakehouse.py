"""Iceberg tables written by PyIceberg, read through Floe: the same rows PyIceberg
reads, across partitioning, appends, overwrites, copy-on-write deletes and schema
evolution; pruning visible as the number of files a statement plans."""

import datetime
import decimal
import pathlib
import shutil
import tempfile

import psycopg
import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from conftest import Server, fails


def build_lake(root: pathlib.Path):
    catalog = SqlCatalog(
        "floe",
        uri=f"sqlite:///{root}/catalog.db",
        warehouse=f"file://{root}/warehouse",
    )
    catalog.create_namespace("sales")
    catalog.create_namespace("web")

    # Partitioned by region; two appends, a copy-on-write delete, then the schema
    # evolves: a rename, an added column, a widened type.
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "region", StringType()),
        NestedField(3, "amount", DoubleType()),
        NestedField(4, "day", DateType()),
        NestedField(5, "qty", IntegerType()),
        NestedField(6, "price", DecimalType(10, 2)),
    )
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "region"))
    orders = catalog.create_table("sales.orders", schema=schema, partition_spec=spec)

    def batch(t, rows):
        cols = {f.name: [r[i] for r in rows] for i, f in enumerate(t.schema().fields)}
        return pa.table(cols, schema=t.schema().as_arrow())

    d = datetime.date
    orders.append(
        batch(
            orders,
            [
                (1, "eu", 1.5, d(2026, 1, 1), 3, decimal.Decimal("9.99")),
                (2, "us", 2.5, d(2026, 1, 2), 1, decimal.Decimal("0.50")),
                (3, "eu", None, d(2026, 1, 3), None, None),
            ],
        )
    )
    orders.append(batch(orders, [(4, "ap", 4.0, d(2026, 2, 1), 7, decimal.Decimal("100.00"))]))
    orders.delete(EqualTo("id", 2))
    with orders.update_schema() as u:
        u.rename_column("amount", "total")
        u.add_column("note", StringType())
        u.update_column("qty", LongType())
    orders.append(
        batch(orders, [(5, "us", 5.5, d(2026, 3, 1), 2**40, decimal.Decimal("1.25"), "new")])
    )

    # Unpartitioned, overwritten once.
    events = catalog.create_table(
        "sales.events",
        schema=Schema(NestedField(1, "k", StringType()), NestedField(2, "v", LongType())),
    )
    events.append(pa.table({"k": ["a", "b"], "v": [1, 2]}, schema=events.schema().as_arrow()))
    events.overwrite(pa.table({"k": ["c"], "v": [3]}, schema=events.schema().as_arrow()))

    # Day-partitioned, one append per day: ten files to prune.
    clicks = catalog.create_table(
        "web.clicks",
        schema=Schema(NestedField(1, "ts", TimestampType()), NestedField(2, "user_id", LongType())),
        partition_spec=PartitionSpec(PartitionField(1, 1000, DayTransform(), "ts_day")),
    )
    for day in range(1, 11):
        ts = [datetime.datetime(2026, 1, day, h) for h in range(3)]
        clicks.append(
            pa.table({"ts": ts, "user_id": [day * 10 + h for h in range(3)]},
                     schema=clicks.schema().as_arrow())
        )

    # A dropped column, and a new column that reuses the dropped one's name: old
    # files' values for it must not come back.
    dropped = catalog.create_table(
        "web.dropped",
        schema=Schema(NestedField(1, "id", LongType()), NestedField(2, "tag", StringType()),
                      NestedField(3, "n", LongType())),
    )
    dropped.append(pa.table({"id": [1, 2], "tag": ["old", "old"], "n": [10, 20]},
                            schema=dropped.schema().as_arrow()))
    with dropped.update_schema() as u:
        u.delete_column("tag")
    with dropped.update_schema() as u:
        u.add_column("tag", StringType())
    dropped.append(pa.table({"id": [3], "n": [30], "tag": ["new"]},
                            schema=dropped.schema().as_arrow()))

    # Created, never written.
    catalog.create_table("web.empty", schema=Schema(NestedField(1, "x", IntegerType())))
    return catalog


@pytest.fixture(scope="module")
def lake():
    root = pathlib.Path(tempfile.mkdtemp(prefix="floe-lake-"))
    catalog = build_lake(root)
    server = Server(
        f'[catalog]\nuri = "sqlite:{root}/catalog.db"\nwarehouse = "file://{root}/warehouse"\n'
        '[admin]\nlisten = ""\n'
    )
    yield server, catalog
    server.stop()


def floe_rows(server, sql, params=None):
    with psycopg.connect(server.dsn()) as conn:
        return conn.execute(sql, params).fetchall()


def iceberg_rows(catalog, name, order_by):
    table = catalog.load_table(name).scan().to_arrow().sort_by(order_by)
    return [tuple(r.values()) for r in table.to_pylist()]


def test_rows_match_pyiceberg_after_appends_deletes_and_schema_evolution(lake):
    server, catalog = lake
    got = floe_rows(server, "SELECT * FROM sales.orders ORDER BY id")
    assert got == iceberg_rows(catalog, "sales.orders", "id")
    assert [r[0] for r in got] == [1, 3, 4, 5]
    # Renamed column by its new name, widened values, the added column.
    assert floe_rows(server, "SELECT total, qty, note FROM sales.orders WHERE id = 5") == [
        (5.5, 2**40, "new")
    ]
    assert floe_rows(server, "SELECT note FROM sales.orders WHERE id = 1") == [(None,)]
    # Dropped column gone; its name reused by a new column that old files lack.
    got = floe_rows(server, "SELECT * FROM web.dropped ORDER BY id")
    assert got == iceberg_rows(catalog, "web.dropped", "id")
    assert got == [(1, 10, None), (2, 20, None), (3, 30, "new")]


def test_overwrite_and_empty_tables(lake):
    server, catalog = lake
    assert floe_rows(server, "SELECT k, v FROM sales.events") == iceberg_rows(catalog, "sales.events", "k")
    assert floe_rows(server, "SELECT count(*) FROM web.empty") == [(0,)]
    with psycopg.connect(server.dsn()) as conn:
        cur = conn.execute("SELECT * FROM web.empty")
        assert [d.name for d in cur.description] == ["x"]
        assert cur.fetchall() == []


def test_names_resolve_like_postgres(lake):
    server, _ = lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        # database.schema.table, as dbt and JDBC send it.
        assert conn.execute("SELECT count(*) FROM floe.sales.orders").fetchone() == (4,)
        assert conn.execute('SELECT count(*) FROM "sales"."orders" o WHERE o.id > 1').fetchone() == (3,)
        # Unqualified names go through search_path.
        fails(conn, "SELECT * FROM orders", psycopg.errors.UndefinedTable)
        conn.execute("SET search_path = sales, public")
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (4,)
        # A CTE of the same name shadows the table.
        assert conn.execute("WITH orders AS (SELECT 1 AS x) SELECT * FROM orders").fetchall() == [(1,)]
        # Joins of lake tables, a table twice, subqueries, views over lake tables.
        assert conn.execute(
            "SELECT count(*) FROM sales.orders a JOIN sales.orders b ON a.id = b.id "
            "WHERE a.region IN (SELECT k FROM sales.events) OR b.id = 1"
        ).fetchone() == (1,)
        conn.execute("CREATE TEMP VIEW eu AS SELECT id FROM sales.orders WHERE region = 'eu'")
        assert conn.execute("SELECT id FROM eu ORDER BY id").fetchall() == [(1,), (3,)]


def test_pruning_plans_only_matching_files(lake):
    server, _ = lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT user_id FROM web.clicks WHERE ts >= '2026-01-05' AND ts < '2026-01-06' ORDER BY 1"
        ).fetchall()
        assert rows == [(50,), (51,), (52,)]
        assert conn.execute("SHOW floe.lake_scan").fetchone() == ("web.clicks 1/10",)
        # Column statistics prune too: user_id = 41 lies in one file's range only.
        conn.execute("SELECT count(*) FROM web.clicks WHERE user_id = 41 OR ts = '2026-01-04 01:00:00'")
        assert conn.execute("SHOW floe.lake_scan").fetchone() == ("web.clicks 1/10",)
        # An OR with a side that cannot become a predicate prunes nothing.
        rows = conn.execute(
            "SELECT count(*) FROM web.clicks WHERE user_id + 0 = 41 OR ts = '2026-01-02 01:00:00'"
        ).fetchall()
        assert rows == [(2,)]
        assert conn.execute("SHOW floe.lake_scan").fetchone() == ("web.clicks 10/10",)
        conn.execute("SELECT count(*) FROM sales.orders WHERE region = 'eu'")
        assert conn.execute("SHOW floe.lake_scan").fetchone()[0].startswith("sales.orders 1/")
        # The preserved side of an outer join is pruned, the nullable side is not.
        conn.execute(
            "SELECT count(*) FROM web.clicks c LEFT JOIN web.clicks d ON c.user_id = d.user_id "
            "WHERE c.ts < '2026-01-02'"
        )
        assert conn.execute("SHOW floe.lake_scan").fetchone() == ("web.clicks 1/10, web.clicks 10/10",)


def test_hidden_partitioning_transforms_prune(lake):
    """bucket, truncate, year, month and hour partitions prune by partition values
    alone: the tables are written without column statistics."""
    from pyiceberg.transforms import (
        BucketTransform, HourTransform, MonthTransform, TruncateTransform, YearTransform)

    server, catalog = lake
    catalog.create_namespace_if_not_exists("parts")
    no_stats = {"write.metadata.metrics.default": "none"}
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "name", StringType(), required=False),
        NestedField(3, "ts", TimestampType(), required=False),
    )
    base = datetime.datetime(2025, 1, 1)
    rows = [
        (i, f"{'abcdefgh'[i % 8]}-item-{i}",
         base + datetime.timedelta(days=(i % 24) * 31 + 1, hours=i % 24))
        for i in range(96)
    ]
    data = pa.table({"id": [r[0] for r in rows], "name": [r[1] for r in rows], "ts": [r[2] for r in rows]},
                    schema=schema.as_arrow())
    cases = {
        "by_bucket": (PartitionField(1, 1000, BucketTransform(8), "id_bucket"),
                      "id = 42", lambda r: r[0] == 42),
        "by_truncate": (PartitionField(2, 1000, TruncateTransform(1), "name_trunc"),
                        "name = 'c-item-10'", lambda r: r[1] == "c-item-10"),
        "by_year": (PartitionField(3, 1000, YearTransform(), "ts_year"),
                    "ts >= '2026-01-01'", lambda r: r[2] >= datetime.datetime(2026, 1, 1)),
        "by_month": (PartitionField(3, 1000, MonthTransform(), "ts_month"),
                     "ts >= '2025-03-01' AND ts < '2025-04-01'",
                     lambda r: datetime.datetime(2025, 3, 1) <= r[2] < datetime.datetime(2025, 4, 1)),
        "by_hour": (PartitionField(3, 1000, HourTransform(), "ts_hour"),
                    "ts = '2025-02-02 01:00:00'", lambda r: r[2] == datetime.datetime(2025, 2, 2, 1)),
    }
    for name, (field, where, keep) in cases.items():
        table = catalog.create_table(f"parts.{name}", schema=schema,
                                     partition_spec=PartitionSpec(field), properties=no_stats)
        table.append(data)
        files = len(table.inspect.files())
        partitions = len(table.inspect.partitions())
        assert files == partitions > 1, name
        want = sorted(r[0] for r in rows if keep(r))
        assert want, name
        # One file per partition (a single append): the query must read exactly the
        # partitions holding matching rows.
        transform = field.transform.transform(table.schema().find_field(field.source_id).field_type)
        want_parts = {transform(iceberg_value(r[field.source_id - 1])) for r in rows if keep(r)}
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            sql = f"SELECT id FROM parts.{name} WHERE {where} ORDER BY id"
            got = eventually(lambda: [r[0] for r in conn.execute(sql)])
            assert got == want, name
            scan = conn.execute("SHOW floe.lake_scan").fetchone()[0]
            assert scan == f"parts.{name} {len(want_parts)}/{files}", (name, scan)
            assert len(want_parts) < files


def eventually(query, seconds=10):
    """Runs `query` until the lake listing (refreshed every second) shows the
    tables it names."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            return query()
        except psycopg.errors.UndefinedTable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def iceberg_value(v):
    """A Python value as Iceberg's transforms take it (timestamps in microseconds)."""
    if isinstance(v, datetime.datetime):
        return int((v - datetime.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    return v


def test_new_snapshots_from_other_writers_appear_without_restart(lake):
    server, catalog = lake
    events = catalog.load_table("sales.events")
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM sales.events").fetchone()[0]
        events.append(pa.table({"k": ["z"], "v": [26]}, schema=events.schema().as_arrow()))
        catalog.create_table("web.later", schema=Schema(NestedField(1, "y", IntegerType())))
        import time

        deadline = time.time() + 10
        while time.time() < deadline:
            if conn.execute("SELECT count(*) FROM sales.events").fetchone()[0] == before + 1:
                break
            time.sleep(0.2)
        assert conn.execute("SELECT count(*) FROM sales.events").fetchone()[0] == before + 1
        assert conn.execute("SELECT count(*) FROM web.later").fetchone() == (0,)


def test_time_travel_and_snapshot_listing(lake):
    server, catalog = lake
    orders = catalog.load_table("sales.orders")
    snapshots = orders.snapshots()
    listed = floe_rows(
        server, "SELECT snapshot_id, parent_id, operation, is_current FROM floe_snapshots('sales.orders')"
    )
    assert [r[0] for r in listed] == [s.snapshot_id for s in snapshots]
    assert [r[3] for r in listed] == [s.snapshot_id == orders.current_snapshot().snapshot_id for s in snapshots]
    history = floe_rows(server, "SELECT snapshot_id FROM floe_history('sales.orders') ORDER BY made_current_at")
    assert [r[0] for r in history] == [h.snapshot_id for h in orders.history()]
    for s in snapshots:
        expected = [
            tuple(r.values())
            for r in orders.scan(snapshot_id=s.snapshot_id).to_arrow().sort_by("id").to_pylist()
        ]
        got = floe_rows(server, f"SELECT * FROM sales.orders AT (VERSION => {s.snapshot_id}) ORDER BY id")
        assert got == expected, s
    # The first snapshot has the old column name; the same table twice at two snapshots.
    first = snapshots[0].snapshot_id
    assert floe_rows(
        server,
        f"SELECT count(*) FROM sales.orders AT (VERSION => {first}) a "
        "LEFT JOIN sales.orders b ON a.id = b.id WHERE b.id IS NULL",
    ) == [(1,)]
    # A timestamp picks the snapshot current then.
    ts = snapshots[0].timestamp_ms
    iso = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert floe_rows(server, f"SELECT count(*) FROM sales.orders AT (TIMESTAMP => '{iso}')") == [(3,)]
    with psycopg.connect(server.dsn()) as conn:
        fails(conn, "SELECT * FROM sales.orders AT (VERSION => 1)", psycopg.errors.InvalidParameterValue)
        conn.rollback()
        fails(conn, "SELECT * FROM sales.orders AT (TIMESTAMP => '2001-01-01')", psycopg.errors.InvalidParameterValue)
        conn.rollback()
        fails(conn, "SELECT * FROM floe_snapshots('sales.nope')", psycopg.errors.UndefinedTable)


def psql(server, *commands):
    import subprocess

    args = ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "floe", "floe"]
    for c in commands:
        args += ["-c", c]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    return out.stdout


def test_psql_lists_and_describes_lake_tables(lake):
    server, _ = lake
    schemas = psql(server, r"\dn")
    assert "sales" in schemas and "web" in schemas and "public" in schemas
    tables = psql(server, r"\dt sales.*")
    assert " sales  | events | table |" in tables and " sales  | orders | table |" in tables
    described = psql(server, r"\d sales.orders")
    assert 'Table "sales.orders"' in described
    lines = [l.split("|") for l in described.splitlines() if l.count("|") == 4]
    columns = {l[0].strip(): (l[1].strip(), l[3].strip()) for l in lines[1:]}
    assert columns["id"] == ("bigint", "not null")
    assert columns["total"] == ("double precision", "")
    assert columns["qty"] == ("bigint", "")
    assert columns["price"] == ("numeric(10,2)", "")
    assert columns["day"] == ("date", "")
    assert columns["note"] == ("text", "")


def test_information_schema_and_pg_catalog_show_lake_objects(lake):
    server, _ = lake
    with psycopg.connect(server.dsn()) as conn:
        schemata = [r[0] for r in conn.execute(
            "SELECT schema_name FROM information_schema.schemata ORDER BY 1").fetchall()]
        assert {"sales", "web", "public"} <= set(schemata)
        tables = conn.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'web' ORDER BY 2").fetchall()
        assert ("web", "clicks", "BASE TABLE") in tables
        cols = conn.execute(
            "SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'orders' "
            "ORDER BY ordinal_position").fetchall()
        assert cols[0] == ("id", "bigint", "NO", 64, 0)
        assert ("price", "numeric", "YES", 10, 2) in cols
        # OIDs are stable: the same on another connection and after a restart of
        # the listing; attributes point at their table with real type OIDs.
        oid = conn.execute(
            "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'sales' AND c.relname = 'orders'").fetchone()[0]
        types = conn.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s ORDER BY a.attnum", (oid,)).fetchall()
        assert types[:4] == [("id", "int8"), ("region", "text"), ("total", "float8"), ("day", "date")]
    with psycopg.connect(server.dsn()) as conn:
        again = conn.execute(
            "SELECT oid FROM pg_class WHERE relname = 'orders'").fetchone()[0]
        assert again == oid


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(port):
    """The router's /metrics as {name{labels}: value}, summed over workers."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, value = line.rsplit(" ", 1)
        name = key.split("{", 1)[0]
        out[name] = out.get(name, 0) + float(value)
    return out


def moto_lake(prefix):
    """An S3-compatible server (moto) with bucket `lake`, and a SQLite catalog
    in a temporary directory whose warehouse is s3://lake/warehouse:
    (moto process, endpoint, boto3 client, catalog, directory)."""
    import subprocess
    import sys
    import time

    import boto3

    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    root = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    for _ in range(100):
        try:
            s3.create_bucket(Bucket="lake")
            break
        except Exception:
            time.sleep(0.1)
    catalog = SqlCatalog(
        "floe",
        uri=f"sqlite:///{root}/catalog.db",
        warehouse="s3://lake/warehouse",
        **{"s3.endpoint": endpoint, "s3.access-key-id": "test",
           "s3.secret-access-key": "test", "s3.region": "us-east-1"},
    )
    return moto, endpoint, s3, catalog, root


def test_tables_on_s3_are_read_through_the_ssd_cache():
    """An S3-compatible server (moto) holds the warehouse; the second read is served
    from Floe's cache without fetching data files again; the cache stays within its
    bound by evicting the least recently used file, never one a query is reading."""
    moto, endpoint, s3, catalog, root = moto_lake("floe-s3-")
    server = None
    try:
        catalog.create_namespace("remote")
        t = catalog.create_table("remote.nums", schema=Schema(NestedField(1, "n", LongType())))
        t.append(pa.table({"n": list(range(1000))}, schema=t.schema().as_arrow()))
        big = catalog.create_table("remote.big", schema=Schema(NestedField(1, "n", LongType())))
        for i in range(3):
            big.append(pa.table({"n": list(range(i * 5000, (i + 1) * 5000))},
                                schema=big.schema().as_arrow()))

        def data_objects(table):
            listed = s3.list_objects_v2(Bucket="lake", Prefix=f"warehouse/remote/{table}/data")
            return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}

        nums_size = sum(data_objects("nums").values())
        big_sizes = data_objects("big")
        assert len(big_sizes) == 3
        # Room for all of `big` (pinned while it is read) but not for `nums` too.
        bound = sum(big_sizes.values()) + nums_size // 2
        admin = free_port()
        server = Server(
            f'[catalog]\nuri = "sqlite:{root}/catalog.db"\nwarehouse = "s3://lake/warehouse"\n'
            f'[storage]\nendpoint = "{endpoint}"\nregion = "us-east-1"\nallowed_locations = "s3://lake/raw/"\n'
            'access_key_id = "test"\nsecret_access_key = "test"\nallow_http = "true"\n'
            f'[cache]\ndir = "{root}/cache"\nssd_max_bytes = {bound}\n'
            f'[admin]\nlisten = "127.0.0.1:{admin}"\n'
        )
        assert floe_rows(server, "SELECT count(*), sum(n) FROM remote.nums") == [(1000, 499500)]
        cached = list((root / "cache" / "objects").rglob("*.parquet"))
        assert len(cached) == 1
        m = metrics(admin)
        assert m["floe_cache_misses_total"] == 1
        assert m["floe_cache_downloaded_bytes_total"] == nums_size
        # Remove the object: a second query must be served from the SSD cache,
        # with no new download.
        for key in data_objects("nums"):
            s3.delete_object(Bucket="lake", Key=key)
        assert floe_rows(server, "SELECT max(n) FROM remote.nums") == [(999,)]
        m = metrics(admin)
        assert m["floe_cache_misses_total"] == 1
        assert m["floe_cache_hits_total"] >= 1

        # Reading `big` goes over the bound: the least recently used file (nums's)
        # is evicted; big's files, pinned by the running statement, are not.
        assert floe_rows(server, "SELECT count(*), sum(n) FROM remote.big") == [(15000, sum(range(15000)))]
        cached = list((root / "cache" / "objects").rglob("*.parquet"))
        assert len(cached) == 3
        assert sum(f.stat().st_size for f in cached) == sum(big_sizes.values())
        m = metrics(admin)
        assert m["floe_cache_misses_total"] == 4
        assert m["floe_cache_evictions_total"] == 1
        assert m["floe_cache_evicted_bytes_total"] == nums_size
        assert m["floe_cache_max_bytes"] >= bound
        # nums is gone from S3 and from the cache: a clear storage error naming
        # the object, and the session goes on.
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            with pytest.raises(psycopg.Error) as err:
                conn.execute("SELECT max(n) FROM remote.nums")
            assert err.value.sqlstate == "58030"
            assert "remote/nums/data" in str(err.value)
            assert conn.execute("SELECT count(*) FROM remote.big").fetchone() == (15000,)

            # Plain Parquet on S3 in Hive directories, registered through SQL and
            # read through the cache, whose copies keep the directories.
            import io

            import pyarrow.parquet as pq

            for day, n in [(1, 2), (2, 3)]:
                buf = io.BytesIO()
                pq.write_table(pa.table({"v": list(range(n))}), buf)
                s3.put_object(Bucket="lake", Key=f"raw/clicks/day={day}/part-0.parquet",
                              Body=buf.getvalue())
            conn.execute("CALL floe_register_parquet('rawremote.clicks', 's3://lake/raw/clicks/', true)")
            assert conn.execute(
                "SELECT day, count(*), sum(v) FROM rawremote.clicks GROUP BY 1 ORDER BY 1"
            ).fetchall() == [(1, 2, 1), (2, 3, 3)]

        # The cache survives a restart: with big's objects gone from S3, a new
        # server reads them from the cache directory without a download.
        for key in data_objects("big"):
            s3.delete_object(Bucket="lake", Key=key)
        config = server.config_text
        server.stop()
        server = Server(config)
        assert floe_rows(server, "SELECT count(*), sum(n) FROM remote.big") == [(15000, sum(range(15000)))]
        m = metrics(admin)
        assert m.get("floe_cache_misses_total", 0) == 0
        assert m["floe_cache_hits_total"] >= 3
    finally:
        if server:
            server.stop()
        moto.terminate()
        moto.wait(timeout=10)


def test_pgjdbc_metadata_lists_lake_tables_and_columns(lake):
    """DatabaseMetaData.getSchemas/getTables/getColumns (what DBeaver, Metabase and
    every JDBC tool call first) list lake namespaces, tables and typed columns."""
    import os
    import subprocess

    server, catalog = lake
    program = pathlib.Path(__file__).resolve().parent / "java" / "JdbcMetadata.java"
    jar = os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar")
    url = f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe"
    r = subprocess.run(["java", "-cp", jar, str(program), url, "sales"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [line.split("\t") for line in r.stdout.splitlines()]
    schemas = {l[1] for l in lines if l[0] == "schema"}
    assert {"sales", "web", "public", "pg_catalog", "information_schema"} <= schemas
    tables = [tuple(l[1:]) for l in lines if l[0] == "table"]
    assert tables == [("sales", t, "TABLE") for t in sorted(catalog.list_tables("sales"), key=str)
                      for t in [t[-1]]]
    columns = [tuple(l[1:]) for l in lines if l[0] == "column" and l[2] == "orders"]
    # java.sql.Types: BIGINT -5, VARCHAR 12, DOUBLE 8, DATE 91, NUMERIC 2.
    fields = catalog.load_table("sales.orders").schema().fields
    want = []
    jdbc = {"long": ("-5", "int8"), "string": ("12", "text"), "double": ("8", "float8"),
            "date": ("91", "date"), "decimal(10, 2)": ("2", "numeric"), "int": ("4", "int4")}
    for i, f in enumerate(fields, start=1):
        data_type, type_name = jdbc[str(f.field_type)]
        want.append(("sales", "orders", f.name, data_type, type_name,
                     "0" if f.required else "1", str(i)))
    assert columns == want
    count = [l[1] for l in lines if l[0] == "count"]
    assert count == [str(len(catalog.load_table("sales.orders").scan().to_arrow()))]


def test_parquet_and_iceberg_tables_are_registered_through_sql(lake):
    """CALL floe_register_parquet makes a directory or glob of plain Parquet (Hive
    partitions included) a read-only table that follows new files;
    CALL floe_register_iceberg adds an existing Iceberg table by its metadata
    file; paths outside the warehouse are refused."""
    import pyarrow.parquet as pq

    server, catalog = lake
    root = pathlib.Path(catalog.properties["warehouse"].removeprefix("file://"))
    raw = root / "raw" / "events"
    for year, month, n in [(2025, 1, 3), (2025, 2, 2), (2026, 1, 4)]:
        d = raw / f"year={year}" / f"month={month}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"id": list(range(n)), "kind": ["a"] * n}), d / "part-0.parquet")
    (raw / "_SUCCESS").write_text("")

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CALL floe_register_parquet('raw.events', 'file://{raw}/', hive_partitioning => true)")
        conn.execute(f"CALL floe_register_parquet('raw.jan', 'file://{raw}/**/month=1/*.parquet', true)")
        rows = conn.execute(
            "SELECT year, month, count(*) FROM raw.events GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        assert rows == [(2025, 1, 3), (2025, 2, 2), (2026, 1, 4)]
        assert conn.execute("SELECT count(*) FROM raw.jan").fetchone() == (7,)
        # Columns, Hive ones included, are in information_schema.
        cols = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = 'events' ORDER BY ordinal_position").fetchall()
        assert cols == [("id", "bigint"), ("kind", "text"), ("year", "bigint"), ("month", "bigint")]
        # A new file under the prefix is read after the catalog refresh.
        d = raw / "year=2026" / "month=2"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"id": [9], "kind": ["b"]}), d / "part-0.parquet")
        deadline = 50
        while conn.execute("SELECT count(*) FROM raw.events").fetchone() != (10,) and deadline:
            import time
            time.sleep(0.1)
            deadline -= 1
        assert conn.execute("SELECT count(*) FROM raw.events WHERE kind = 'b'").fetchone() == (1,)

        for sql, state in [
            ("CALL floe_register_parquet('raw.events', 'file://%s/')" % raw, "42P07"),
            ("CALL floe_register_parquet('raw.secrets', 'file:///etc/')", "42501"),
            ("CALL floe_register_parquet('raw.up', 'file://%s/../../../etc/')" % root, "42501"),
            ("CALL floe_register_parquet('raw.none', 'file://%s/nothing-here/')" % root, "58030"),
            ("CALL floe_no_such_thing('x')", "42883"),
            ("SELECT * FROM raw.events AT (VERSION => 1)", "0A000"),
        ]:
            with pytest.raises(psycopg.Error) as err:
                conn.execute(sql)
            assert err.value.sqlstate == state, (sql, err.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)

        conn.execute("CALL floe_unregister_parquet('raw.jan')")
        fails(conn, "SELECT count(*) FROM raw.jan", psycopg.errors.UndefinedTable)

        # An Iceberg table registered by its metadata file reads that table's state.
        events = catalog.load_table("sales.events")
        conn.execute(f"CALL floe_register_iceberg('copies.events', '{events.metadata_location}')")
        assert conn.execute("SELECT count(*) FROM copies.events").fetchone() == (
            len(events.scan().to_arrow()),)
    # Registrations live in the catalog: other engines and other Floe sessions see them.
    assert ("copies", "events") in catalog.list_tables("copies")
    props = catalog.load_namespace_properties("raw")
    assert "floe.parquet.events" in props


def test_rest_catalog_with_oauth2_client_credentials(lake):
    """The same tables through an Iceberg REST catalog that requires an OAuth2
    token (client credentials): Floe gets a token, lists and loads tables with it."""
    from rest_catalog import RestCatalogServer

    _, catalog = lake
    rest = RestCatalogServer(catalog, "floe-client", "s3cret")
    server = None
    try:
        server = Server(
            f'[catalog]\ntype = "rest"\nuri = "{rest.uri}"\nwarehouse = "{catalog.properties["warehouse"]}"\n'
            'credential = "floe-client:s3cret"\n[admin]\nlisten = ""\n'
        )
        orders = catalog.load_table("sales.orders")
        want = [tuple(r.values()) for r in orders.scan().to_arrow().sort_by("id").to_pylist()]
        assert floe_rows(server, "SELECT * FROM sales.orders ORDER BY id") == want
        first = orders.snapshots()[0].snapshot_id
        assert floe_rows(server, f"SELECT count(*) FROM sales.orders AT (VERSION => {first})") == [(3,)]
        schemas = {r[0] for r in floe_rows(server, "SELECT schema_name FROM information_schema.schemata")}
        assert {"sales", "web"} <= schemas
        # Every catalog call after the token exchange carried the token.
        assert ("POST", "/v1/oauth/tokens", None) in rest.requests
        gets = [r for r in rest.requests if r[0] == "GET"]
        assert gets and all(auth == f"Bearer {rest.token}" for _, _, auth in gets)
    finally:
        if server:
            server.stop()
        rest.stop()


def test_cache_warm_loads_a_tables_files_into_the_ssd_cache():
    """CALL floe_cache_warm('schema.table') fetches the current snapshot's files
    from object storage (moto) into the SSD cache and says how much and how
    long; reads then need no object storage; a second warm downloads nothing."""
    import re

    moto, endpoint, s3, catalog, root = moto_lake("floe-warm-")
    server = None
    try:
        catalog.create_namespace("remote")
        t = catalog.create_table("remote.warm", schema=Schema(NestedField(1, "n", LongType())))
        for i in range(2):
            t.append(pa.table({"n": list(range(i * 100, (i + 1) * 100))}, schema=t.schema().as_arrow()))
        first_snapshot = t.history()[0].snapshot_id
        listed = s3.list_objects_v2(Bucket="lake", Prefix="warehouse/remote/warm/data")
        sizes = {o["Key"]: o["Size"] for o in listed["Contents"]}
        server = Server(
            f'[catalog]\nuri = "sqlite:{root}/catalog.db"\nwarehouse = "s3://lake/warehouse"\n'
            f'[storage]\nendpoint = "{endpoint}"\nregion = "us-east-1"\n'
            'access_key_id = "test"\nsecret_access_key = "test"\nallow_http = "true"\n'
            f'[cache]\ndir = "{root}/cache"\n[admin]\nlisten = ""\n'
        )
        notices = []
        with psycopg.connect(server.dsn(), autocommit=True) as c:
            c.add_notice_handler(lambda n: notices.append(n.message_primary))
            c.execute("CALL floe_cache_warm('remote.warm')")
            total = sum(sizes.values())
            m = re.fullmatch(
                r"warmed remote\.warm: 2 files, (\d+) bytes \((\d+) downloaded\) in ([\d.]+) s", notices[-1])
            assert m, notices
            assert int(m.group(1)) == total and int(m.group(2)) == total
            assert len(list((root / "cache" / "objects").rglob("*.parquet"))) == 2
            c.execute("CALL floe_cache_warm('remote.warm')")
            assert "(0 downloaded)" in notices[-1], notices
            c.execute(f"CALL floe_cache_warm('remote.warm', {first_snapshot})")
            assert notices[-1].startswith("warmed remote.warm: 1 files"), notices
            # The objects gone from storage: reads are served from the cache.
            for key in sizes:
                s3.delete_object(Bucket="lake", Key=key)
            assert c.execute("SELECT count(*), sum(n) FROM remote.warm").fetchone() == (200, sum(range(200)))
            with pytest.raises(psycopg.errors.UndefinedTable):
                c.execute("CALL floe_cache_warm('remote.nope')")
            with pytest.raises(psycopg.Error):
                c.execute("CALL floe_cache_warm('remote.warm', 12345)")
            with pytest.raises(psycopg.errors.UndefinedFunction):
                c.execute("CALL floe_cache_warm()")
            assert c.execute("SELECT 1").fetchone() == (1,)
    finally:
        if server:
            server.stop()
        moto.terminate()
        shutil.rmtree(root, ignore_errors=True)
