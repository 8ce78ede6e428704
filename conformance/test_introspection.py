"""What tools read about the schema, on Floe and on a real PostgreSQL 15 over the
same objects: SQLAlchemy's inspector through psycopg, psycopg2 and pg8000
(every answer the same), asyncpg reading catalog arrays and OID aliases in
binary (its type introspection included), and the catalog functions and
settings BI tools and drivers call (the same values, column names and types)."""

import psycopg
import pytest
import sqlalchemy as sa

FIXTURE = [
    "CREATE SCHEMA insp",
    "CREATE TABLE insp.orders (id bigint NOT NULL, customer text, amount numeric(10,2), "
    "paid boolean, placed date, at timestamp, score double precision, qty int, code varchar(8))",
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
    "SELECT pg_get_viewdef('insp.big'::regclass, true), pg_get_viewdef('insp.big'::regclass), "
    "pg_get_viewdef('insp.big'), pg_catalog.pg_get_viewdef(c.oid, false) FROM pg_class c "
    "WHERE c.relname = 'big'",
    "SELECT definition FROM pg_views WHERE viewname = 'big'",
    "SELECT view_definition FROM information_schema.views WHERE table_name = 'big'",
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


def answer(dsn, sql, typed=False):
    """What a client sees: column names (with their types when `typed`) and
    rows, or the error's SQLSTATE."""
    with psycopg.connect(dsn, autocommit=True) as c:
        try:
            cur = c.execute(sql)
        except psycopg.Error as e:
            return ("error", e.sqlstate)
        columns = [(d.name, d.type_code) if typed else d.name for d in cur.description]
        return (columns, cur.fetchall())


@pytest.mark.parametrize("sql", SAME_AS_POSTGRES)
def test_catalog_functions_answer_as_postgres(postgres, server, both, sql):
    assert answer(server.dsn(), sql) == answer(postgres.dsn(), sql)


# Catalog answers compared with PostgreSQL on column names, column types and
# rows: OID-alias values printed as names, catalog arrays and vectors, the
# built-in rows (access methods, text search objects, roles) and functions.
TYPED_SAME_AS_POSTGRES = [
    # The database the client named, listed in pg_database (DBeaver and
    # pgAdmin look the current database up there).
    "SELECT (SELECT count(*) FROM pg_database WHERE datname = current_database()) AS listed, "
    "current_catalog = pg_catalog.current_database() AS same",
    # Arrays of OIDs read as names (pgcli's function list), built-in
    # functions' argument defaults.
    "SELECT p.proname, COALESCE(p.proallargtypes::regtype[], p.proargtypes::regtype[])::text[], "
    "pg_get_expr(p.proargdefaults, 0) FROM pg_proc p "
    "WHERE p.proname IN ('jsonb_insert', 'substr', 'now', 'pg_stop_backup') ORDER BY p.oid",
    # Objects named as PostgreSQL names them: lake relations and their
    # columns, schemas, built-in functions, languages and types.
    "SELECT pg_describe_object('pg_class'::regclass, 'insp.orders'::regclass, 0) AS t, "
    "pg_catalog.pg_describe_object('pg_class'::regclass, 'insp.orders'::regclass, 2) AS c, "
    "pg_describe_object('pg_class'::regclass, 'insp.big'::regclass, 0) AS v, "
    "pg_describe_object('pg_namespace'::regclass, 'insp'::regnamespace, 0) AS s, "
    "pg_describe_object(1255, 883, 0) AS f, pg_describe_object(1255, 937, 0) AS f2, "
    "pg_describe_object(2612, 14, 0) AS l, pg_describe_object(1247, 1043, 0) AS ty",
    "SELECT pg_describe_object(classid, objid, objsubid) AS member FROM pg_depend "
    "WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e' ORDER BY 1",
    "SELECT c.oid::regclass, c.oid::regclass::text, c.relnamespace::regnamespace, "
    "'insp.orders'::regclass::text, 'pg_class'::regclass FROM pg_class c "
    "WHERE c.relname = 'orders'",
    "SELECT 'int4'::regtype, 1043::regtype, 'public'::regnamespace, 10::regrole, 0::regclass",
    "SELECT format('%I.%I', 'Ab', 'c'), format('%L', NULL), format('x%%'), format('%s', 1, 2), "
    "format('%%I', 'x'), quote_literal('it''s')",
    "SELECT cfgname, obj_description(oid, 'pg_ts_config') FROM pg_ts_config "
    "WHERE cfgname IN ('english', 'simple') ORDER BY 1",
    "SELECT amname, amhandler, amtype FROM pg_am ORDER BY 1",
    "SELECT nspname, nspowner::regrole, array_to_string(nspacl, ',') FROM pg_namespace "
    "WHERE nspname IN ('public', 'pg_catalog') ORDER BY 1",
    "SELECT alias, description FROM ts_token_type('default') WHERE tokid < 4 ORDER BY 1",
    "SELECT typname, typinput, typlen, typcategory FROM pg_type WHERE oid IN (23, 1009, 1033) "
    "ORDER BY 1",
    "SELECT ARRAY(SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pg_c%')::text, "
    "pg_char_to_encoding('UTF8'), pg_encoding_to_char(6), getdatabaseencoding()",
    "SELECT CASE WHEN typtype = 'd' THEN typbasetype ELSE 0 END FROM pg_type WHERE oid = 23",
    "SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('pg_monitor', 'pg_database_owner') "
    "ORDER BY 1",
    "SELECT pg_get_userbyid(6171), format_type(1043, 24), format_type(1231, 655366), "
    "format_type(1115, 3)",
    "SELECT 'a'::name, CAST('b' AS name), current_setting('search_path')",
    "SELECT opcname, opcintype::regtype FROM pg_opclass WHERE opcname = 'int4_ops' ORDER BY 2",
    "SELECT castsource::regtype, casttarget::regtype, castcontext FROM pg_cast "
    "WHERE castsource = 'int4'::regtype ORDER BY 2",
    "SELECT count(*) > 400 FROM pg_type WHERE typname LIKE '\\_%' ESCAPE '\\'",
    # Declared lengths of lake columns.
    "SELECT column_name, data_type, character_maximum_length, character_octet_length, udt_name "
    "FROM information_schema.columns WHERE table_schema = 'insp' AND table_name = 'orders' "
    "ORDER BY ordinal_position",
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation FROM pg_attribute a "
    "WHERE a.attrelid = 'insp.orders'::regclass AND a.attnum > 0 ORDER BY a.attnum",
    # Each table's row type and its array type.
    "SELECT t.typname, t.typtype, t.typcategory, t.typinput FROM pg_type t "
    "WHERE t.typrelid = 'insp.orders'::regclass OR t.typelem IN "
    "(SELECT oid FROM pg_type WHERE typrelid = 'insp.orders'::regclass) ORDER BY 1",
    # Built-in functions, operators and the catalog's own indexes.
    "SELECT p.proname, pg_get_function_result(p.oid), pg_get_function_arguments(p.oid), "
    "p.prorettype::regtype, p.proargtypes FROM pg_proc p WHERE p.oid IN (89, 1299, 1217) "
    "ORDER BY 1",
    "SELECT 'pg_catalog.version'::regproc::oid, 1217::regprocedure, 95::regoperator, "
    "95::regoper, 'abs'::regproc::oid",
    "SELECT 'no_such_function'::regproc",
    "SELECT c2.relname, i.indisprimary, pg_get_indexdef(i.indexrelid, 0, true), "
    "pg_get_constraintdef(con.oid, true) FROM pg_index i JOIN pg_class c2 ON c2.oid = i.indexrelid "
    "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
    "WHERE i.indrelid = 'pg_class'::regclass ORDER BY 1",
    # Parameters: PostgreSQL's, named by a computed name too.
    "SELECT name, setting, unit, vartype, boot_val FROM pg_settings "
    "WHERE name IN ('work_mem', 'max_index_keys') ORDER BY 1",
    "SELECT current_setting(n) FROM (VALUES ('work_mem'), ('max_index_keys')) t(n) ORDER BY 1",
    "SELECT current_setting(n) FROM (VALUES ('no_such_setting')) t(n)",
    # Set-returning functions in FROM.
    "SELECT * FROM unnest(ARRAY[1, 2], ARRAY['a', 'b', 'c']) WITH ORDINALITY AS u(n, s, i) "
    "ORDER BY i",
    "SELECT (information_schema._pg_expandarray(ARRAY[5, 6])).n AS k, pos.p "
    "FROM generate_series(1, 2) pos(p) ORDER BY 2, 1",
]


def test_declared_lengths_hold_as_in_postgres(postgres, server, both):
    """A lake column declared `varchar(8)` refuses a longer value (22001)
    and keeps a value whose excess is trailing spaces, cut, as PostgreSQL
    does."""
    for dsn in (postgres.dsn(), server.dsn()):
        assert answer(dsn, "INSERT INTO insp.orders (id, code) VALUES (1, 'abcdefghi')") == (
            "error", "22001")
    for dsn in (postgres.dsn(), server.dsn()):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("INSERT INTO insp.orders (id, code) VALUES (2, 'abcdefgh   ')")
    sql = "SELECT code, length(code) FROM insp.orders WHERE id = 2"
    assert answer(server.dsn(), sql) == answer(postgres.dsn(), sql) == (
        ["code", "length"], [("abcdefgh", 8)])
    for dsn in (postgres.dsn(), server.dsn()):
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("DELETE FROM insp.orders WHERE id = 2")


@pytest.mark.parametrize("sql", TYPED_SAME_AS_POSTGRES)
def test_catalog_answers_as_postgres_with_types(postgres, server, both, sql):
    assert answer(server.dsn(), sql, typed=True) == answer(postgres.dsn(), sql, typed=True)


def test_asyncpg_reads_catalog_arrays_and_oid_aliases(postgres, server, both):
    """asyncpg reads every result in binary and introspects the types it does
    not know with its own recursive catalog query: arrays, ACLs, vectors and
    OID aliases come back as on PostgreSQL."""
    import asyncio

    import asyncpg

    queries = [
        "SELECT '{1,2}'::int8[] AS a, '{x,y}'::text[] AS b",
        "SELECT nspname, nspacl FROM pg_namespace WHERE nspname = 'public'",
        "SELECT c.oid::regclass AS r, 'int4'::regtype AS t FROM pg_class c "
        "WHERE c.relname = 'pg_class'",
        "SELECT ARRAY(SELECT typname FROM pg_type WHERE oid IN (16, 23) ORDER BY 1) AS names",
        "SELECT indkey FROM pg_index WHERE false",
    ]

    async def run(host, port):
        conn = await asyncpg.connect(host=host, port=port, user="postgres", database="postgres")
        try:
            return [[tuple(r) for r in await conn.fetch(q)] for q in queries]
        finally:
            await conn.close()

    floe = asyncio.run(run(server.host, server.port))
    pg = asyncio.run(run(postgres.host, postgres.port))
    assert floe == pg


def test_set_config_takes_a_bound_value_as_postgres_does(postgres, server, both):
    """asyncpg switches `jit` off around its type lookups and back with
    `set_config('jit', $1, false)`; the value may be any bound text, NULL
    resets, and a value of another type is refused as PostgreSQL refuses it."""
    import asyncio

    import asyncpg

    async def jit_after_lookup(host, port):
        conn = await asyncpg.connect(host=host, port=port, user="postgres", database="postgres")
        try:
            await conn.fetch("SELECT nspacl FROM pg_namespace WHERE nspname = 'public'")
            return await conn.fetchval("SELECT current_setting('jit')")
        finally:
            await conn.close()

    assert asyncio.run(jit_after_lookup(server.host, server.port)) == "on"
    assert asyncio.run(jit_after_lookup(postgres.host, postgres.port)) == "on"

    def outcomes(dsn):
        out = []
        with psycopg.connect(dsn, autocommit=True) as c:
            for sql, args in [
                ("SELECT set_config('jit', %s, false)", ("off",)),
                ("SHOW jit", None),
                ("SELECT set_config('jit', %s, false) AS v", (None,)),
                ("SHOW jit", None),
                ("SELECT set_config('application_name', %s, false)", ("bound app",)),
                ("SELECT current_setting('application_name')", None),
                ("SELECT set_config('jit', %s, false)", (1,)),
            ]:
                try:
                    cur = c.execute(sql, args, prepare=True)
                    out.append(([d.name for d in cur.description], cur.fetchall()))
                except psycopg.Error as e:
                    out.append(e.sqlstate)
        return out

    assert outcomes(server.dsn()) == outcomes(postgres.dsn())


# Views as tools write them; PostgreSQL stores each as its analysed query and
# gives back its own text for it, whatever was written.
DEPARSED_VIEWS = [
    "SELECT * FROM insp.orders",
    "SELECT customer, count(*), sum(amount) AS total, avg(qty) FROM insp.orders "
    "WHERE paid AND placed >= '2024-01-01' GROUP BY customer HAVING sum(amount) > 10 "
    "ORDER BY 3 DESC LIMIT 10",
    "SELECT o.id, o.amount * 2 AS doubled, o.score + o.qty AS s, -o.qty AS neg, "
    "o.code = 'x' AS is_x FROM insp.orders o LEFT JOIN insp.orders p ON p.id = o.id AND p.paid "
    "WHERE o.customer LIKE 'A%' AND o.qty IN (1, 2, 3) AND o.id NOT IN (7, 8) "
    "AND o.amount BETWEEN 1 AND 99.5 OR o.customer IS NULL",
    "SELECT DISTINCT coalesce(customer, 'none') AS who, upper(code), "
    "CASE WHEN qty > 10 THEN 'many' ELSE 'few' END AS size, qty::text AS q, 1.5 AS k "
    "FROM insp.orders ORDER BY who NULLS FIRST",
]


def test_view_definitions_read_as_postgres_deparses_them(postgres, server, both):
    """pg_get_viewdef (both forms), pg_views and information_schema.views give
    PostgreSQL's text for the same views over the same table."""
    def definitions(dsn):
        out = []
        with psycopg.connect(dsn, autocommit=True) as c:
            for n, sql in enumerate(DEPARSED_VIEWS):
                c.execute(f"CREATE VIEW insp.v{n} AS {sql}")
                try:
                    out.append(c.execute(
                        "SELECT pg_get_viewdef(c.oid), pg_get_viewdef(c.oid, true), v.definition, "
                        "i.view_definition FROM pg_class c JOIN pg_views v ON v.viewname = c.relname "
                        "JOIN information_schema.views i ON i.table_name = c.relname "
                        f"WHERE c.relname = 'v{n}' AND v.schemaname = 'insp'").fetchall())
                finally:
                    c.execute(f"DROP VIEW insp.v{n}")
        return out

    assert definitions(server.dsn()) == definitions(postgres.dsn())
