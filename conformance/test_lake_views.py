"""Views and comments in lake schemas: CREATE [OR REPLACE] VIEW stores an Iceberg
view in the catalog (every session expands it), ALTER VIEW/TABLE … RENAME TO,
DROP VIEW, views in transactions, COMMENT ON TABLE / COLUMN / VIEW, and the
catalog relations tools read them from (pg_views, pg_tables, pg_class relkind
'v', information_schema.views, pg_description)."""

import json
import pathlib
import sqlite3
import subprocess

import psycopg
import pytest

from conftest import fails, lake_with


@pytest.fixture(scope="module")
def lake():
    yield from lake_with(
        "floe-views-",
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.orders (id int, customer text, amount numeric(10,2))",
        "INSERT INTO shop.orders VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 5)",
    )


def connect(server):
    return psycopg.connect(server.dsn(), autocommit=True)


def test_views_are_stored_in_the_catalog_and_expanded_everywhere(lake):
    server, catalog, root = lake
    with connect(server) as conn:
        conn.execute(
            "CREATE VIEW shop.totals (who, total) AS "
            "SELECT customer, sum(amount) FROM shop.orders GROUP BY customer"
        )
        conn.execute("SET search_path = shop")
        conn.execute("CREATE VIEW big AS SELECT * FROM totals WHERE total > 12")
    # Another session (possibly another worker) sees and expands both.
    with connect(server) as other:
        assert other.execute("SELECT who, total FROM shop.totals ORDER BY who").fetchall() == [
            ("ann", 15),
            ("bob", 20),
        ]
        assert other.execute("SELECT who FROM shop.big ORDER BY who").fetchall() == [
            ("ann",),
            ("bob",),
        ]
        # New rows show through the view: it is a view, not a copy.
        other.execute("INSERT INTO shop.orders VALUES (4, 'cy', 100)")
        assert other.execute("SELECT count(*) FROM shop.big").fetchone() == (3,)
    # An Iceberg view: a VIEW row pointing at view metadata with the SQL.
    db = sqlite3.connect(root / "catalog.db")
    location, = db.execute(
        "SELECT metadata_location FROM iceberg_tables WHERE table_name = 'totals' AND iceberg_type = 'VIEW'"
    ).fetchone()
    metadata = json.loads(pathlib.Path(location.removeprefix("file://")).read_text())
    version = next(v for v in metadata["versions"] if v["version-id"] == metadata["current-version-id"])
    assert version["representations"][0]["dialect"] == "floe"
    assert "sum(amount)" in version["representations"][0]["sql"]
    assert [f["name"] for f in metadata["schemas"][-1]["fields"]] == ["who", "total"]
    # PyIceberg lists the tables only, as for any catalog with views.
    assert ("shop", "totals") not in catalog.list_tables("shop")


def test_replace_rename_and_drop(lake):
    server, _, _ = lake
    with connect(server) as conn:
        conn.execute("CREATE VIEW shop.v1 AS SELECT id FROM shop.orders WHERE id = 1")
        conn.execute("CREATE OR REPLACE VIEW shop.v1 AS SELECT id, customer FROM shop.orders WHERE id = 2")
        assert conn.execute("SELECT * FROM shop.v1").fetchall() == [(2, "bob")]
        fails(conn, "CREATE VIEW shop.v1 AS SELECT 1", psycopg.errors.DuplicateTable)
        conn.execute("ALTER VIEW shop.v1 RENAME TO v2")
        # dbt renames views with ALTER TABLE, as Postgres allows.
        conn.execute('ALTER TABLE "floe"."shop"."v2" RENAME TO "v3"')
        assert conn.execute("SELECT customer FROM shop.v3").fetchall() == [("bob",)]
        fails(conn, "SELECT * FROM shop.v1", psycopg.errors.UndefinedTable)
        fails(conn, "DROP TABLE shop.v3", psycopg.errors.WrongObjectType)
        fails(conn, "DROP VIEW shop.orders", psycopg.errors.WrongObjectType)
        conn.execute("DROP VIEW shop.v3")
        conn.execute("DROP VIEW IF EXISTS shop.v3")
        fails(conn, "DROP VIEW shop.v3", psycopg.errors.UndefinedTable)
        fails(conn, "CREATE VIEW shop.broken AS SELECT * FROM shop.nothing", psycopg.errors.UndefinedTable)
        # A view that names itself recurses: refused, not a hang.
        conn.execute("CREATE VIEW shop.loop AS SELECT id FROM shop.orders")
        conn.execute("CREATE OR REPLACE VIEW shop.loop AS SELECT id FROM shop.loop")
        fails(conn, "SELECT * FROM shop.loop", psycopg.errors.InvalidObjectDefinition)
        conn.execute("DROP VIEW shop.loop")


def test_views_in_transactions(lake):
    server, _, _ = lake
    with psycopg.connect(server.dsn()) as conn, connect(server) as other:
        conn.execute("CREATE VIEW shop.staged AS SELECT count(*) AS n FROM shop.orders")
        assert conn.execute("SELECT n FROM shop.staged").fetchone() == (4,)
        fails(other, "SELECT * FROM shop.staged", psycopg.errors.UndefinedTable)
        conn.rollback()
        fails(conn, "SELECT * FROM shop.staged", psycopg.errors.UndefinedTable)
        conn.rollback()
        conn.execute("CREATE VIEW shop.staged AS SELECT count(*) AS n FROM shop.orders")
        conn.commit()
        assert other.execute("SELECT n FROM shop.staged").fetchone() == (4,)


def test_catalog_relations_show_views_and_comments(lake):
    server, _, _ = lake
    with connect(server) as conn:
        conn.execute("CREATE VIEW shop.recent AS SELECT id FROM shop.orders WHERE id > 2")
        conn.execute("COMMENT ON TABLE shop.orders IS 'one row per order'")
        conn.execute("COMMENT ON COLUMN shop.orders.amount IS 'in euros'")
        conn.execute("COMMENT ON VIEW shop.recent IS 'the latest orders'")
        assert conn.execute(
            "SELECT viewname, definition FROM pg_views WHERE schemaname = 'shop' AND viewname = 'recent'"
        ).fetchall() == [("recent", " SELECT orders.id\n   FROM shop.orders\n  WHERE (orders.id > 2);")]
        assert ("shop", "orders") in conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'shop'"
        ).fetchall()
        assert conn.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'recent'"
        ).fetchone() == ("VIEW",)
        assert conn.execute(
            "SELECT count(*) FROM information_schema.views WHERE table_schema = 'shop' AND table_name = 'recent'"
        ).fetchone() == (1,)
        assert conn.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'shop' AND c.relname = 'recent'"
        ).fetchone() == ("v",)
        described = conn.execute(
            "SELECT c.relname, d.objsubid, d.description FROM pg_description d "
            "JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'shop' ORDER BY 1, 2"
        ).fetchall()
        assert described == [
            ("orders", 0, "one row per order"),
            ("orders", 3, "in euros"),
            ("recent", 0, "the latest orders"),
        ]
        conn.execute("COMMENT ON COLUMN shop.orders.amount IS NULL")
        assert conn.execute(
            "SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
            "WHERE c.relname = 'orders' AND d.objsubid = 3"
        ).fetchone() == (0,)
        fails(conn, "COMMENT ON COLUMN shop.orders.nope IS 'x'", psycopg.errors.UndefinedColumn)
        conn.execute("COMMENT ON COLUMN shop.orders.customer IS 'who ordered'")
        assert conn.execute(
            "SELECT obj_description('shop.orders'::regclass, 'pg_class'), "
            "col_description('shop.orders'::regclass, 2)"
        ).fetchone() == ("one row per order", "who ordered")
    # psql's \d+ reads pg_attribute's storage columns and col_description().
    r = subprocess.run(
        ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "floe", "-d", "floe",
         "-c", "\\d+ shop.orders"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "Storage" in r.stdout and "extended" in r.stdout
    assert "who ordered" in r.stdout


def test_relation_sizes_are_the_snapshot_file_sizes(lake):
    server, catalog, _ = lake
    files = sum(t.file.file_size_in_bytes for t in catalog.load_table("shop.orders").scan().plan_files())
    with connect(server) as conn:
        row = conn.execute(
            "SELECT pg_table_size('shop.orders'::regclass), pg_total_relation_size('shop.orders'::regclass), "
            "pg_size_pretty(pg_relation_size('shop.orders'::regclass)), pg_size_pretty(20480::bigint)"
        ).fetchone()
    assert row[0] == row[1] == files > 0
    assert row[2] == f"{files} bytes" and row[3] == "20 kB"
    r = subprocess.run(
        ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "floe", "-d", "floe",
         "-c", "\\dt+ shop.*"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert f"{files} bytes" in r.stdout


def test_drop_respects_dependent_views(lake):
    server, _, root = lake
    with connect(server) as conn:
        conn.execute("CREATE TABLE shop.base (x int)")
        conn.execute("CREATE VIEW shop.on_base AS SELECT x FROM shop.base")
        conn.execute("CREATE VIEW shop.on_view AS SELECT x FROM shop.on_base")
        with pytest.raises(psycopg.errors.DependentObjectsStillExist) as e:
            conn.execute("DROP TABLE shop.base")
        assert "view shop.on_base depends on table shop.base" in e.value.diag.message_detail
        fails(conn, "DROP VIEW shop.on_base", psycopg.errors.DependentObjectsStillExist)
        conn.execute("DROP TABLE shop.base CASCADE")
        for gone in ("base", "on_base", "on_view"):
            fails(conn, f"SELECT * FROM shop.{gone}", psycopg.errors.UndefinedTable)
        # A schema holding only a view is not empty either.
        conn.execute("CREATE SCHEMA only_views")
        conn.execute("CREATE VIEW only_views.v AS SELECT 1 AS one")
        fails(conn, "DROP SCHEMA only_views", psycopg.errors.DependentObjectsStillExist)
        conn.execute("DROP SCHEMA only_views CASCADE")
    db = sqlite3.connect(root / "catalog.db")
    assert db.execute(
        "SELECT count(*) FROM iceberg_tables WHERE table_namespace = 'only_views'"
    ).fetchone() == (0,)


def test_what_one_worker_creates_the_next_statement_everywhere_reads():
    """With the catalog listing cached for a second, a view or table another
    session created (on another worker) is found at once, not reported
    missing until the next refresh."""
    from conftest import Server

    s = Server('[workers]\ncount = 3\n[catalog]\nrefresh_ms = 60000\n[admin]\nlisten = ""\n')
    try:
        sessions = [connect(s) for _ in range(4)]
        sessions[0].execute("CREATE SCHEMA fresh")
        for c in sessions:  # every session's worker has listed the catalog
            c.execute("SELECT count(*) FROM information_schema.tables").fetchone()
        sessions[0].execute("CREATE TABLE fresh.t AS SELECT 1 AS a")
        sessions[0].execute("CREATE VIEW fresh.v AS SELECT a + 1 AS b FROM fresh.t")
        for c in sessions:
            assert c.execute("SELECT b FROM fresh.v").fetchall() == [(2,)]
            assert c.execute("SELECT a FROM fresh.t").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.UndefinedTable):
            sessions[1].execute("SELECT * FROM fresh.nothing")
        for c in sessions:
            c.close()
    finally:
        s.stop()
