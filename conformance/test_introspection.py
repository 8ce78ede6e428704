"""What tools read about the schema, on Floe and on a real PostgreSQL 15 over the
same objects: SQLAlchemy's inspector through psycopg, psycopg2 and pg8000
(every answer the same; asyncpg's type introspection still needs set_config
inside a query), and the catalog functions and settings BI tools
and drivers call (the same values, column names and types)."""

import psycopg
import pytest
import sqlalchemy as sa

FIXTURE = [
    "CREATE SCHEMA insp",
    "CREATE TABLE insp.orders (id bigint NOT NULL, customer text, amount numeric(10,2), "
    "paid boolean, placed date, at timestamp, score double precision, qty int)",
    "COMMENT ON TABLE insp.orders IS 'all orders'",
    "CREATE VIEW insp.big AS SELECT id, amount FROM insp.orders WHERE amount > 100",
]


def inspection(inspector):
    """Everything the inspector says about the fixture, errors included."""
    probes = {
        "schemas": lambda: "insp" in inspector.get_schema_names(),
        "tables": lambda: inspector.get_table_names(schema="insp"),
        "views": lambda: inspector.get_view_names(schema="insp"),
        "columns": lambda: [
            (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("comment"))
            for c in inspector.get_columns("orders", schema="insp")
        ],
        "view_columns": lambda: [
            (c["name"], str(c["type"])) for c in inspector.get_columns("big", schema="insp")
        ],
        "pk": lambda: inspector.get_pk_constraint("orders", schema="insp"),
        "fks": lambda: inspector.get_foreign_keys("orders", schema="insp"),
        "indexes": lambda: inspector.get_indexes("orders", schema="insp"),
        "uniques": lambda: inspector.get_unique_constraints("orders", schema="insp"),
        "checks": lambda: inspector.get_check_constraints("orders", schema="insp"),
        "comment": lambda: inspector.get_table_comment("orders", schema="insp"),
        "has_table": lambda: inspector.has_table("orders", schema="insp"),
        "multi_columns": lambda: sorted(k[1] for k in inspector.get_multi_columns(schema="insp")),
    }
    out = {}
    for name, probe in probes.items():
        try:
            out[name] = probe()
        except Exception as e:  # the difference is the finding
            out[name] = f"error: {str(e).splitlines()[0]}"
    return out


def url(driver, host, port, user, db):
    return f"postgresql+{driver}://{user}@{host}:{port}/{db}"


def inspect_sync(address, driver):
    engine = sa.create_engine(url(driver, *address))
    try:
        return inspection(sa.inspect(engine))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def both(postgres, server):
    for dsn in (postgres.dsn(), server.dsn()):
        with psycopg.connect(dsn, autocommit=True) as c:
            for sql in FIXTURE:
                c.execute(sql)
    yield {
        "pg": (postgres.host, postgres.port, "postgres", "postgres"),
        "floe": (server.host, server.port, "floe", "floe"),
    }
    for dsn in (postgres.dsn(), server.dsn()):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("DROP VIEW insp.big")
            c.execute("DROP TABLE insp.orders")
            c.execute("DROP SCHEMA insp")


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2", "pg8000"])
def test_sqlalchemy_inspector_answers_as_postgres(both, driver):
    floe, pg = inspect_sync(both["floe"], driver), inspect_sync(both["pg"], driver)
    assert pg["columns"] and not str(pg["columns"]).startswith("error")
    assert {k: v for k, v in floe.items() if v != pg[k]} == {}


# Catalog functions, settings and relations drivers and BI tools call, compared
# on success, column names and rows. Each runs on its own, so one failure names
# itself. (Column types are not compared here: Floe reports `text` for `name`
# and `"char"` columns and `int8` for OID columns, where PostgreSQL reports
# the catalog types.)
SAME_AS_POSTGRES = [
    "SELECT current_schema, current_schema(), current_schemas(true), current_schemas(false)",
    "SELECT current_setting('server_version_num')::int / 10000, current_setting('search_path')",
    "SELECT quote_ident('a b'), quote_ident('ab'), quote_ident('select'), quote_ident('Ab')",
    "SELECT parse_ident('a.\"B\".c')",
    "SELECT pg_is_in_recovery(), pg_get_indexdef(0)",
    "SELECT pg_get_partkeydef(0), pg_get_function_identity_arguments(0), pg_get_triggerdef(0)",
    "SELECT pg_tablespace_location(0)",
    "SELECT 'pg_constraint'::regclass::oid, CAST('pg_catalog.pg_class' AS regclass)::oid",
    "SELECT count(*) FROM pg_get_keywords() WHERE word IN ('select', 'from', 'where')",
    "SELECT c.relname, pg_table_is_visible(c.oid) FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = 'insp' ORDER BY 1",
    "SELECT to_regclass('insp.orders') IS NOT NULL, to_regclass('insp.nope')",
    "SELECT pg_get_viewdef('insp.big'::regclass, true) LIKE '%amount > 100%'",
    "SELECT relname, relkind FROM pg_class WHERE relname IN ('pg_class', 'pg_index', 'columns') "
    "ORDER BY 1",
    "SELECT indkey, indisexclusion, indnullsnotdistinct FROM pg_index WHERE false",
    "SELECT confdeltype, conkey FROM pg_constraint WHERE false",
    "SELECT typinput, typreceive FROM pg_type WHERE false",
    "SELECT datdba, dattablespace, datacl FROM pg_database WHERE false",
    "SELECT character_set_catalog FROM information_schema.columns WHERE false",
    "SELECT * FROM pg_opclass WHERE false",
    "SELECT * FROM pg_shdescription WHERE false",
    "SELECT * FROM pg_range WHERE false",
    "SELECT * FROM pg_language WHERE false",
    "SELECT * FROM information_schema.sequences WHERE false",
    "SELECT '\\x0102'::bytea, CAST('\\xFF 00' AS bytea), octet_length('\\x0102'::bytea)",
]


def answer(dsn, sql):
    with psycopg.connect(dsn, autocommit=True) as c:
        try:
            cur = c.execute(sql)
        except psycopg.Error as e:
            return ("error", e.sqlstate)
        return ([d.name for d in cur.description], cur.fetchall())


@pytest.mark.parametrize("sql", SAME_AS_POSTGRES)
def test_catalog_functions_answer_as_postgres(postgres, server, both, sql):
    assert answer(server.dsn(), sql) == answer(postgres.dsn(), sql)
