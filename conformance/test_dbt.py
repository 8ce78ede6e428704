"""dbt-core with dbt-postgres against Floe: `dbt seed`, `dbt run` twice (the second
run takes the incremental model's delete+insert path), `dbt test`, `dbt snapshot`
twice (the second closes changed rows with UPDATE … FROM) and `dbt docs generate`,
each checked against the rows and catalog entries it must leave behind."""

import datetime
import decimal
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import psycopg
import pytest

from conftest import Server

PROJECT = pathlib.Path(__file__).resolve().parent / "dbt"
DBT = os.environ.get("FLOE_DBT", str(pathlib.Path.home() / ".cache/floe/dbt-venv/bin/dbt"))


@pytest.fixture(scope="module")
def shop():
    if not pathlib.Path(DBT).exists():
        pytest.fail(f"dbt is not installed at {DBT} (scripts/setup-test-deps installs it)")
    server = Server()
    work = pathlib.Path(tempfile.mkdtemp(prefix="floe-dbt-"))
    yield server, work
    server.stop()
    shutil.rmtree(work, ignore_errors=True)


def dbt(server, work, *args):
    env = dict(
        os.environ,
        FLOE_PORT=str(server.port),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_PARTIAL_PARSE="false",
    )
    r = subprocess.run(
        [DBT, *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    return r.stdout


def query(server, sql):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else cur.statusmessage


def test_dbt_project_end_to_end(shop):
    server, work = shop
    out = dbt(server, work, "seed")
    assert "PASS=2" in out
    assert query(server, "SELECT count(*) FROM analytics.raw_orders") == [(6,)]

    out = dbt(server, work, "run")
    assert "PASS=4" in out
    kinds = dict(query(server, "SELECT table_name, table_type FROM information_schema.tables "
                               "WHERE table_schema = 'analytics'"))
    assert kinds["stg_orders"] == "VIEW" and kinds["stg_customers"] == "VIEW"
    assert kinds["customers"] == "BASE TABLE" and kinds["orders_incremental"] == "BASE TABLE"
    assert query(server, "SELECT customer_id, order_count, lifetime_value FROM analytics.customers "
                         "ORDER BY customer_id") == [
        (1, 2, decimal.Decimal("30.50")),
        (2, 0, decimal.Decimal("0")),
        (3, 2, decimal.Decimal("104.99")),
        (4, 1, decimal.Decimal("42.00")),
    ]
    # The views' dependencies, as dbt's relation cache reads them.
    deps = query(server, "SELECT v.relname, t.relname FROM pg_depend d "
                         "JOIN pg_rewrite r ON r.oid = d.objid "
                         "JOIN pg_class v ON v.oid = r.ev_class "
                         "JOIN pg_class t ON t.oid = d.refobjid "
                         "WHERE d.classid = 'pg_rewrite'::regclass AND d.deptype = 'n' ORDER BY 1")
    assert deps == [("stg_customers", "raw_customers"), ("stg_orders", "raw_orders")]

    # New and changed source rows; the second run is incremental (delete+insert).
    query(server, "INSERT INTO analytics.raw_orders VALUES "
                  "(7, 4, TIMESTAMP '2026-01-07 10:00:00', 8.00, 'placed')")
    query(server, "UPDATE analytics.raw_orders SET status = 'shipped' WHERE id = 6")
    before = query(server, "SELECT loaded_at FROM analytics.orders_incremental WHERE order_id = 1")
    out = dbt(server, work, "run")
    assert "PASS=4" in out
    rows = query(server, "SELECT order_id, status FROM analytics.orders_incremental ORDER BY order_id")
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert dict(rows)[6] == "shipped"
    # Rows outside the incremental window were left alone.
    assert query(server, "SELECT loaded_at FROM analytics.orders_incremental WHERE order_id = 1") == before
    log = (work / "logs" / "dbt.log").read_text()
    assert 'delete from "floe"."analytics"."orders_incremental"' in log

    out = dbt(server, work, "test")
    assert "PASS=10" in out and "ERROR=0" in out

    dbt(server, work, "snapshot")
    query(server, "UPDATE analytics.raw_customers SET country = 'FI' WHERE id = 1")
    dbt(server, work, "snapshot")
    history = query(server, "SELECT customer_id, country, dbt_valid_to IS NULL FROM "
                            "analytics.customers_snapshot ORDER BY customer_id, dbt_valid_from")
    assert history == [(1, "NO", False), (1, "FI", True), (2, "SE", True), (3, "NO", True),
                       (4, "DK", True)]

    dbt(server, work, "docs", "generate")
    catalog = json.loads((work / "target" / "catalog.json").read_text())
    assert not catalog.get("errors")
    nodes = catalog["nodes"]
    customers = nodes["model.floe_shop.customers"]
    assert customers["metadata"]["type"] == "BASE TABLE"
    assert customers["metadata"]["comment"] == "One row per customer with their order history."
    assert customers["columns"]["lifetime_value"]["comment"] == (
        "Sum of the amounts of orders not returned.")
    assert customers["columns"]["lifetime_value"]["type"].startswith("numeric")
    staging = nodes["model.floe_shop.stg_customers"]
    assert staging["metadata"]["type"] == "VIEW"
    assert staging["columns"]["customer_id"]["comment"] == "The customer's id."
    assert set(nodes) >= {"seed.floe_shop.raw_orders", "snapshot.floe_shop.customers_snapshot",
                          "model.floe_shop.orders_incremental", "model.floe_shop.stg_orders"}
