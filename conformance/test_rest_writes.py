"""Lake writes through an Iceberg REST catalog: DDL, INSERT, COPY, UPDATE,
DELETE, TRUNCATE, ALTER TABLE and comments commit snapshots with the REST
protocol's commit requests (requirements checked by the server), transactions
over several tables use its multi-table `/transactions/commit`, conflicts are
retried or refused with 40001, and a commit whose outcome is unknown keeps its
files. PyIceberg, reading the catalog behind the server, sees every change."""

import concurrent.futures
import datetime
import pathlib
import shutil
import tempfile

import psycopg
import pytest
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import IntegerType

from conftest import Server, fails
from rest_catalog import RestCatalogServer


@pytest.fixture(scope="module")
def rest_lake():
    from pyiceberg.catalog.sql import SqlCatalog

    root = pathlib.Path(tempfile.mkdtemp(prefix="floe-rest-"))
    catalog = SqlCatalog("rest-backing", uri=f"sqlite:///{root}/catalog.db",
                         warehouse=f"file://{root}/warehouse")
    rest = RestCatalogServer(catalog, "floe-writer", "w-secret")
    server = Server(
        f'[catalog]\ntype = "rest"\nuri = "{rest.uri}"\nwarehouse = "file://{root}/warehouse"\n'
        'credential = "floe-writer:w-secret"\nrefresh_ms = 0\n[admin]\nlisten = ""\n'
    )
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.items (id int NOT NULL, name text, price numeric(10,2))")
        conn.execute("CREATE TABLE shop.stock (item int, qty bigint)")
    yield server, catalog, rest, root
    server.stop()
    rest.stop()
    shutil.rmtree(root, ignore_errors=True)


def rows(conn, sql):
    return conn.execute(sql).fetchall()


def iceberg_rows(catalog, name, order_by):
    table = catalog.load_table(name).scan().to_arrow().sort_by(order_by)
    return [tuple(r.values()) for r in table.to_pylist()]


def commits(rest, path_end):
    return [r for r in rest.requests if r[0] == "POST" and r[1].endswith(path_end)]


def test_statements_commit_through_the_rest_protocol(rest_lake):
    server, catalog, rest, _ = rest_lake
    before = len(commits(rest, "/tables/items"))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO shop.items VALUES (1, 'pen', 1.50), (2, 'ink', 4.00), (3, 'pad', 2.25)")
        with conn.cursor().copy("COPY shop.items FROM STDIN (FORMAT csv)") as copy:
            copy.write("4,cap,0.75\n5,nib,3.10\n")
        conn.execute("UPDATE shop.items SET price = price * 2 WHERE id = 2")
        conn.execute("DELETE FROM shop.items WHERE id = 3")
        conn.execute("ALTER TABLE shop.items ADD COLUMN color text")
        conn.execute("INSERT INTO shop.items VALUES (6, 'rod', 9.00, 'red')")
        conn.execute("COMMENT ON TABLE shop.items IS 'what we sell'")
        want = [(1, "pen", 1.5, None), (2, "ink", 8.0, None), (4, "cap", 0.75, None),
                (5, "nib", 3.1, None), (6, "rod", 9.0, "red")]
        got = rows(conn, "SELECT id, name, price::float8, color FROM shop.items ORDER BY id")
        assert got == want
        assert rows(conn, "SELECT obj_description('shop.items'::regclass)") == [("what we sell",)]
    # Seven commits, each a POST to the table with the bearer token.
    sent = commits(rest, "/tables/items")[before:]
    assert len(sent) == 7
    assert all(auth == f"Bearer {rest.token}" for _, _, auth in sent)
    # PyIceberg reads the same rows, schema and snapshots from the catalog.
    table = catalog.load_table("shop.items")
    assert [f.name for f in table.schema().fields] == ["id", "name", "price", "color"]
    assert table.properties["comment"] == "what we sell"
    assert len(table.snapshots()) == 5
    got = [(r[0], r[1], float(r[2]), r[3]) for r in iceberg_rows(catalog, "shop.items", "id")]
    assert got == want


def test_ctas_truncate_rename_and_drop(rest_lake):
    server, catalog, _, _ = rest_lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE shop.cheap AS SELECT id, name FROM shop.items WHERE price < 2")
        assert iceberg_rows(catalog, "shop.cheap", "id") == [(1, "pen"), (4, "cap")]
        conn.execute("TRUNCATE shop.cheap")
        assert rows(conn, "SELECT count(*) FROM shop.cheap") == [(0,)]
        assert catalog.load_table("shop.cheap").scan().to_arrow().num_rows == 0
        conn.execute("ALTER TABLE shop.cheap RENAME TO bargains")
        assert ("shop", "bargains") in catalog.list_tables("shop")
        conn.execute("DROP TABLE shop.bargains")
        assert ("shop", "bargains") not in catalog.list_tables("shop")
        # A failed CTAS leaves no table behind.
        fails(conn, "CREATE TABLE shop.broken AS SELECT 1 / (id - id) AS x FROM shop.items", psycopg.errors.DivisionByZero)
        assert ("shop", "broken") not in catalog.list_tables("shop")


def test_partitioned_table_through_rest(rest_lake):
    server, catalog, _, _ = rest_lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE shop.sales (day date, store int, amount int) "
                     "PARTITION BY (day(day), bucket(4, store))")
        conn.execute("INSERT INTO shop.sales VALUES ('2026-01-01', 1, 10), ('2026-01-01', 2, 20), "
                     "('2026-01-02', 1, 30)")
        conn.execute("DELETE FROM shop.sales WHERE day = '2026-01-02'")
        assert rows(conn, "SELECT sum(amount) FROM shop.sales") == [(30,)]
    table = catalog.load_table("shop.sales")
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
        ("day_day", "day"), ("store_bucket", "bucket[4]")]
    assert sorted(r[2] for r in iceberg_rows(catalog, "shop.sales", "amount")) == [10, 20]
    # The data files hold the partitions PyIceberg computes for their rows.
    bucket = BucketTransform(4).transform(IntegerType())
    data = [f for f in table.inspect.files().to_pylist() if f["content"] == 0]
    assert sorted((f["partition"]["day_day"], f["partition"]["store_bucket"]) for f in data) == sorted(
        {(datetime.date(2026, 1, 1), bucket(1)), (datetime.date(2026, 1, 1), bucket(2)),
         (datetime.date(2026, 1, 2), bucket(1))})


def test_transaction_over_two_tables_is_one_multi_table_commit(rest_lake):
    server, catalog, rest, _ = rest_lake
    before = len(commits(rest, "/transactions/commit"))
    items = len(catalog.load_table("shop.items").snapshots())
    with psycopg.connect(server.dsn()) as conn, psycopg.connect(server.dsn(), autocommit=True) as other:
        conn.execute("INSERT INTO shop.items VALUES (7, 'box', 5.00, NULL)")
        conn.execute("INSERT INTO shop.stock VALUES (7, 40), (1, 10)")
        assert rows(conn, "SELECT qty FROM shop.stock WHERE item = 7") == [(40,)]
        assert rows(other, "SELECT count(*) FROM shop.stock") == [(0,)]
        conn.commit()
        assert rows(other, "SELECT count(*) FROM shop.stock") == [(2,)]
    assert len(commits(rest, "/transactions/commit")) == before + 1
    assert len(catalog.load_table("shop.items").snapshots()) == items + 1
    assert iceberg_rows(catalog, "shop.stock", "item") == [(1, 10), (7, 40)]


def test_conflicting_transaction_fails_whole_and_removes_its_files(rest_lake):
    server, catalog, _, root = rest_lake
    def parquet_files():
        return set((root / "warehouse").rglob("*.parquet"))

    with psycopg.connect(server.dsn()) as conn, psycopg.connect(server.dsn(), autocommit=True) as other:
        before = parquet_files()
        # Rows changed, not only added: the commit cannot be replayed on the
        # table another session has moved on.
        conn.execute("INSERT INTO shop.stock VALUES (2, 5)")
        conn.execute("UPDATE shop.stock SET qty = qty + 1 WHERE item = 1")
        conn.execute("INSERT INTO shop.items VALUES (8, 'cup', 1.00, NULL)")
        staged = parquet_files() - before
        assert len(staged) >= 3
        other.execute("INSERT INTO shop.stock VALUES (3, 7)")
        with pytest.raises(psycopg.errors.SerializationFailure):
            conn.commit()
        # Neither table got the transaction's rows; its uploads are gone.
        assert rows(other, "SELECT count(*) FROM shop.items WHERE id = 8") == [(0,)]
        assert rows(other, "SELECT count(*) FROM shop.stock WHERE item = 2") == [(0,)]
        assert not staged & parquet_files()
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert iceberg_rows(catalog, "shop.stock", "item") == [(1, 10), (3, 7), (7, 40)]


def test_a_transaction_of_inserts_commits_after_another_commit(rest_lake):
    """Inserts alone never conflict: the transaction's appends are replayed
    on the snapshot another session committed first, through the REST
    catalog's commit endpoint."""
    server, _, _, _ = rest_lake
    with psycopg.connect(server.dsn()) as conn, psycopg.connect(server.dsn(), autocommit=True) as other:
        conn.execute("INSERT INTO shop.stock VALUES (20, 1)")
        other.execute("INSERT INTO shop.stock VALUES (21, 1)")
        conn.commit()
        assert rows(other, "SELECT item FROM shop.stock WHERE item >= 20 ORDER BY 1") == [(20,), (21,)]
        other.execute("DELETE FROM shop.stock WHERE item >= 20")


def test_without_multi_table_commits(rest_lake):
    server, catalog, rest, _ = rest_lake
    rest.multi_table_commits = False
    try:
        with psycopg.connect(server.dsn()) as conn:
            # One table: its own commit endpoint, still atomic.
            conn.execute("INSERT INTO shop.stock VALUES (4, 1)")
            conn.execute("UPDATE shop.stock SET qty = qty + 1 WHERE item = 4")
            conn.commit()
            assert rows(conn, "SELECT qty FROM shop.stock WHERE item = 4") == [(2,)]
            conn.commit()
            # Two tables cannot be committed atomically: refused, nothing lands.
            conn.execute("INSERT INTO shop.stock VALUES (5, 1)")
            conn.execute("INSERT INTO shop.items VALUES (9, 'mug', 3.00, NULL)")
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.commit()
            assert rows(conn, "SELECT count(*) FROM shop.stock WHERE item = 5") == [(0,)]
            assert rows(conn, "SELECT count(*) FROM shop.items WHERE id = 9") == [(0,)]
    finally:
        rest.multi_table_commits = True


def test_ddl_inside_a_transaction_is_refused_with_0a000(rest_lake):
    server, catalog, _, _ = rest_lake
    with psycopg.connect(server.dsn()) as conn:
        for sql in ["CREATE TABLE shop.later (x int)", "DROP TABLE shop.stock",
                    "ALTER TABLE shop.stock RENAME TO s2", "CREATE SCHEMA other",
                    "CREATE VIEW shop.v AS SELECT 1 AS x"]:
            with pytest.raises(psycopg.errors.FeatureNotSupported) as err:
                conn.execute(sql)
            assert "REST catalog" in str(err.value)
            conn.rollback()
    assert ("shop", "later") not in catalog.list_tables("shop")
    assert ("shop", "stock") in catalog.list_tables("shop")


def test_unknown_commit_outcome_keeps_the_files(rest_lake):
    server, catalog, rest, _ = rest_lake
    rest.fail_after_next_commit = 503
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as err:
            conn.execute("INSERT INTO shop.stock VALUES (6, 60)")
        assert err.value.sqlstate == "40003"
        # The server applied it: the rows are there and their file is readable.
        assert rows(conn, "SELECT qty FROM shop.stock WHERE item = 6") == [(60,)]
    assert (6, 60) in iceberg_rows(catalog, "shop.stock", "item")


def test_concurrent_appenders_retry_conflicts_and_lose_no_row(rest_lake):
    server, catalog, _, _ = rest_lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE shop.events (writer int, n int)")

    def append(writer):
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for n in range(5):
                conn.execute("INSERT INTO shop.events VALUES (%s, %s)", (writer, n))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert rows(conn, "SELECT count(*), count(DISTINCT (writer, n)) FROM shop.events") == [(40, 40)]
    assert catalog.load_table("shop.events").scan().to_arrow().num_rows == 40
