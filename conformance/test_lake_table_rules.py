"""What people declare with their tables keeps working on lake tables, checked
against a real PostgreSQL 15 where the answer is PostgreSQL's: DEFAULT
(constants and expressions), serial / bigserial / identity columns and
CREATE SEQUENCE with nextval / currval / setval (sequences kept in the catalog
and shared by every worker), CHECK enforced on INSERT and UPDATE (23514),
NOT NULL (23502), PRIMARY KEY and UNIQUE recorded and shown in the catalog
(not enforced; the README says so). Stored expressions are checked against an
allowlist every time they run, so a catalog written by someone else cannot
smuggle a file read into an INSERT."""

import concurrent.futures
import decimal
import json
import sqlite3
import subprocess

import psycopg
import pytest

from conftest import Server, lake_with


@pytest.fixture(scope="module")
def lake():
    yield from lake_with("floe-rules-", "CREATE SCHEMA app")


@pytest.fixture(scope="module")
def pg(postgres):
    """The session's PostgreSQL 15, left as this module found it."""
    yield postgres
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        c.execute("DROP SCHEMA IF EXISTS app CASCADE")


@pytest.fixture(scope="module")
def fleet(lake):
    """Three workers over the same lake (the module's catalog)."""
    _, _, root = lake
    s = Server(
        f'[catalog]\nuri = "sqlite:{root}/catalog.db"\n'
        f'warehouse = "file://{root}/warehouse"\nrefresh_ms = 3600000\n'
        "[workers]\ncount = 3\n[admin]\nlisten = \"\"\n"
    )
    yield s
    s.stop()


def run(dsn, *statements):
    with psycopg.connect(dsn, autocommit=True) as conn:
        out = None
        for s in statements:
            cur = conn.execute(s)
            out = cur.fetchall() if cur.description else cur.statusmessage
        return out


def outcomes_on_both(floe, pg, script, messages=False):
    """Each statement of `script` on Floe and on PostgreSQL 15 (with schema
    `app`), one autocommit connection each: (statement, tag or SQLSTATE,
    rows, or the error message when `messages`)."""
    outcomes = []
    for dsn, setup in [(floe.dsn(), []), (pg.dsn(), ["CREATE SCHEMA IF NOT EXISTS app"])]:
        got = []
        with psycopg.connect(dsn, autocommit=True) as c:
            for sql in setup:
                c.execute(sql)
            for sql in script:
                try:
                    cur = c.execute(sql)
                    got.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
                except psycopg.Error as e:
                    got.append((sql, e.sqlstate, e.diag.message_primary if messages else None))
        outcomes.append(got)
    return outcomes


def assert_same_on_both(floe, pg, script, messages=False):
    """Each statement of `script` gives PostgreSQL 15's outcome on Floe."""
    floe_outcomes, pg_outcomes = outcomes_on_both(floe, pg, script, messages)
    for f, p in zip(floe_outcomes, pg_outcomes):
        assert f == p


def described(floe, pg, *tables):
    """psql's `\\d` of `tables` on Floe and on PostgreSQL 15."""
    out = []
    for s, user in ((floe, "floe"), (pg, "postgres")):
        args = ["psql", "-X", "-h", s.host, "-p", str(s.port), "-U", user, "-d", user]
        for t in tables:
            args += ["-c", f"\\d {t}"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.stderr == ""
        out.append(r.stdout)
    return out


def error_of(dsn, sql):
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        return e.value.sqlstate, e.value.diag.message_primary


def test_defaults_constants_and_expressions(lake):
    server, _, _ = lake
    dsn = server.dsn()
    run(
        dsn,
        "CREATE TABLE app.prices (id int, v numeric(10,2) DEFAULT 0, "
        "label text DEFAULT 'none', made timestamptz DEFAULT now(), "
        "flag boolean DEFAULT true, n bigint DEFAULT 6 * 7)",
    )
    run(dsn, "INSERT INTO app.prices (id) VALUES (1)")
    run(dsn, "INSERT INTO app.prices (id, v, label) VALUES (2, 9.5, 'x')")
    run(dsn, "INSERT INTO app.prices DEFAULT VALUES")
    run(dsn, "INSERT INTO app.prices VALUES (3, DEFAULT, 'y', DEFAULT, false, DEFAULT)")
    rows = run(
        dsn,
        "SELECT id, v, label, made IS NOT NULL AND made > now() - interval '1 hour', flag, n "
        "FROM app.prices ORDER BY id NULLS LAST",
    )
    assert rows == [
        (1, decimal.Decimal("0.00"), "none", True, True, 42),
        (2, decimal.Decimal("9.50"), "x", True, True, 42),
        (3, decimal.Decimal("0.00"), "y", True, False, 42),
        (None, decimal.Decimal("0.00"), "none", True, True, 42),
    ]


def test_defaults_that_reach_outside_are_refused(lake):
    server, _, _ = lake
    dsn = server.dsn()
    for bad in [
        "read_text('/etc/passwd')",
        "(SELECT 1)",
        "getenv('HOME')",
    ]:
        state, _ = error_of(dsn, f"CREATE TABLE app.bad (t text DEFAULT {bad})")
        # Refused by the router's policy (42501) or the stored-expression allowlist.
        assert state in ("0A000", "42501"), bad
    state, _ = error_of(dsn, "CREATE TABLE app.bad (a int, b int DEFAULT a)")
    assert state == "0A000"
    # A type error shows at CREATE TABLE, as in PostgreSQL.
    state, _ = error_of(dsn, "CREATE TABLE app.bad (a int DEFAULT 'abc')")
    assert state == "22P02"
    assert run(dsn, "SELECT count(*) FROM pg_tables WHERE tablename = 'bad'") == [(0,)]


def test_a_tampered_default_is_checked_when_it_runs(lake):
    server, _, root = lake
    dsn = server.dsn()
    run(dsn, "CREATE TABLE app.tampered (id int, t text DEFAULT 'ok')")
    # Someone with access to the catalog rewrites the stored default: a new
    # metadata file, and the catalog's pointer moved to it.
    db = sqlite3.connect(f"{root}/catalog.db")
    (location,) = db.execute(
        "SELECT metadata_location FROM iceberg_tables WHERE table_name = 'tampered'"
    ).fetchone()
    meta = json.load(open(location.removeprefix("file://")))
    meta["properties"] = {
        k: ("read_text('/etc/passwd')" if k.startswith("floe.default.") else v)
        for k, v in meta["properties"].items()
    }
    tampered = location.replace(".metadata.json", "-tampered.metadata.json")
    json.dump(meta, open(tampered.removeprefix("file://"), "w"))
    db.execute(
        "UPDATE iceberg_tables SET metadata_location = ? WHERE table_name = 'tampered'",
        (tampered,),
    )
    db.commit()
    db.close()
    state, _ = error_of(dsn, "INSERT INTO app.tampered (id) VALUES (1)")
    assert state == "0A000"
    assert run(dsn, "SELECT count(*) FROM app.tampered") == [(0,)]


def test_serial_identity_and_sequences(lake, pg):
    server, _, _ = lake
    script = [
        "CREATE TABLE app.items (id serial PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO app.items (name) VALUES ('a'), ('b')",
        "INSERT INTO app.items (name) VALUES ('c')",
        "SELECT id, name FROM app.items ORDER BY id",
        "SELECT currval('app.items_id_seq')",
        "CREATE TABLE app.events (id bigint GENERATED ALWAYS AS IDENTITY, kind text)",
        "INSERT INTO app.events (kind) VALUES ('x'), ('y')",
        "INSERT INTO app.events (id, kind) VALUES (10, 'z')",
        "UPDATE app.events SET id = 5",
        "INSERT INTO app.events (id, kind) VALUES (DEFAULT, 'w')",
        "INSERT INTO app.events VALUES (DEFAULT, 'v'), (DEFAULT, DEFAULT)",
        "SELECT id, kind FROM app.events ORDER BY id",
        "CREATE TABLE app.tags (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 100), t text)",
        "INSERT INTO app.tags (t) VALUES ('p')",
        "INSERT INTO app.tags (id, t) VALUES (7, 'q')",
        "SELECT id, t FROM app.tags ORDER BY id",
        "CREATE SEQUENCE app.counter START 5 INCREMENT 5 MAXVALUE 20",
        "SELECT nextval('app.counter')",
        "SELECT nextval('app.counter'::regclass), currval('app.counter')",
        "SELECT setval('app.counter', 15)",
        "SELECT nextval('app.counter')",
        "SELECT nextval('app.counter')",
        "SELECT setval('app.counter', 99)",
        "SELECT currval('app.nothing')",
        "CREATE SEQUENCE app.counter",
        "CREATE SEQUENCE IF NOT EXISTS app.counter",
        "DROP SEQUENCE app.counter",
        "DROP SEQUENCE IF EXISTS app.counter",
        "DROP TABLE app.items",
        "SELECT nextval('app.items_id_seq')",
    ]
    assert_same_on_both(server, pg, script)


def test_sequence_values_are_unique_across_workers(lake, fleet):
    dsn = fleet.dsn()
    run(dsn, "CREATE TABLE app.hits (id bigserial, worker int)")

    def insert(k):
        with psycopg.connect(dsn, autocommit=True) as c:
            for _ in range(20):
                c.execute("INSERT INTO app.hits (worker) VALUES (%s), (%s)", (k, k))
            return c.execute("SELECT nextval('app.hits_id_seq')").fetchone()[0]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        extra = list(pool.map(insert, range(6)))
    ids = [r[0] for r in run(dsn, "SELECT id FROM app.hits")]
    assert len(ids) == 240
    assert len(set(ids) | set(extra)) == 240 + 6
    assert min(ids) >= 1


def test_check_constraints_are_enforced(lake, pg):
    server, _, _ = lake
    script = [
        "CREATE TABLE app.accounts (id int, balance numeric(12,2) CHECK (balance >= 0), "
        "kind text, CONSTRAINT kind_known CHECK (kind IN ('a', 'b')), CHECK (id > 0 OR id IS NULL))",
        "INSERT INTO app.accounts VALUES (1, 10, 'a')",
        "INSERT INTO app.accounts VALUES (2, -1, 'a')",
        "INSERT INTO app.accounts VALUES (3, 5, 'z')",
        "INSERT INTO app.accounts VALUES (-4, 5, 'b')",
        "INSERT INTO app.accounts VALUES (5, NULL, NULL)",
        "UPDATE app.accounts SET balance = balance - 100 WHERE id = 1",
        "UPDATE app.accounts SET balance = balance - 5 WHERE id = 1",
        "SELECT id, balance, kind FROM app.accounts ORDER BY id",
        "INSERT INTO app.accounts SELECT i, i, 'a' FROM generate_series(6, 9) i",
        "INSERT INTO app.accounts SELECT i, 5 - i, 'a' FROM generate_series(10, 20) i",
        "SELECT count(*) FROM app.accounts",
        "CREATE TABLE app.strict (n int NOT NULL)",
        "INSERT INTO app.strict VALUES (NULL)",
    ]
    assert_same_on_both(server, pg, script, messages=True)


def test_keys_and_defaults_in_the_catalog(lake, pg):
    server, _, _ = lake
    ddl = (
        "CREATE TABLE app.orders (id serial PRIMARY KEY, code text UNIQUE, "
        "qty int DEFAULT 1 CHECK (qty > 0), a int, b int, UNIQUE (a, b))"
    )
    lines = (
        "CREATE TABLE app.lines (id int, order_id int REFERENCES app.orders (id), "
        "CONSTRAINT lines_order_fk FOREIGN KEY (order_id) REFERENCES app.orders)"
    )
    queries = [
        "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = 'app.orders'::regclass ORDER BY 1",
        "SELECT attname, atthasdef, attnotnull FROM pg_attribute "
        "WHERE attrelid = 'app.orders'::regclass AND attnum > 0 ORDER BY attnum",
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'app.orders'::regclass ORDER BY conname",
        "SELECT c.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'app.orders'::regclass ORDER BY 1",
        "SELECT column_name, column_default, is_identity FROM information_schema.columns "
        "WHERE table_schema = 'app' AND table_name = 'orders' ORDER BY ordinal_position",
        "SELECT relname, relkind FROM pg_class WHERE relname = 'orders_id_seq'",
        "SELECT conname, contype, pg_get_constraintdef(oid), confrelid = 'app.orders'::regclass "
        "FROM pg_constraint WHERE conrelid = 'app.lines'::regclass ORDER BY conname",
    ]
    outcomes = []
    for dsn, setup in [(server.dsn(), []), (pg.dsn(), ["CREATE SCHEMA IF NOT EXISTS app"])]:
        with psycopg.connect(dsn, autocommit=True) as c:
            for sql in setup + [ddl, lines]:
                c.execute(sql)
            outcomes.append([c.execute(q).fetchall() for q in queries])
    floe_answers, pg_answers = outcomes
    for f, p in zip(floe_answers, pg_answers):
        assert f == p
    # psql's \d prints the same, byte for byte: defaults, indexes, checks,
    # foreign keys and the tables that reference this one.
    floe_d, pg_d = described(server, pg, "app.orders", "app.lines")
    assert floe_d == pg_d
    assert "Referenced by:" in floe_d
    # Uniqueness is recorded, not enforced: a duplicate is stored, never
    # refused with a 23505 that would sometimes be wrong.
    run(server.dsn(), "INSERT INTO app.orders (code) VALUES ('k'), ('k')")
    assert run(server.dsn(), "SELECT count(*) FROM app.orders WHERE code = 'k'") == [(2,)]


def test_sequences_are_seen_by_every_worker(lake, fleet):
    dsn = fleet.dsn()
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(3)]
    try:
        conns[0].execute("CREATE SEQUENCE app.shared")
        seen = [c.execute("SELECT nextval('app.shared')").fetchone()[0] for c in conns]
        assert len(set(seen)) == 3
        conns[1].execute("DROP SEQUENCE app.shared")
        for c in conns:
            with pytest.raises(psycopg.Error) as e:
                c.execute("SELECT nextval('app.shared')")
            assert e.value.sqlstate == "42P01"
    finally:
        for c in conns:
            c.close()


def test_create_and_drop_index_as_postgres(lake, pg):
    """CREATE INDEX on a lake table is recorded (a lake table has no index
    structures) and shown as PostgreSQL shows it; DROP INDEX removes it, and
    refuses an index a constraint owns."""
    server, _, _ = lake
    script = [
        "CREATE TABLE app.items (id int PRIMARY KEY, sku text, shelf int, note text)",
        "CREATE INDEX ON app.items (sku)",
        "CREATE INDEX ON app.items (sku)",
        "CREATE UNIQUE INDEX items_shelf_note ON app.items (shelf, note)",
        "CREATE INDEX items_shelf_note ON app.items (shelf)",
        "CREATE INDEX IF NOT EXISTS items_shelf_note ON app.items (shelf)",
        "CREATE INDEX ON app.items (nosuch)",
        "CREATE UNIQUE INDEX ON app.items USING hash (sku)",
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'app' "
        "AND tablename = 'items' ORDER BY 1",
        "SELECT c.relname, i.indisunique, i.indisprimary, i.indnatts, "
        "pg_get_indexdef(i.indexrelid, 1, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'app.items'::regclass ORDER BY 1",
        "SELECT relhasindex FROM pg_class WHERE oid = 'app.items'::regclass",
        "DROP INDEX app.items_pkey",
        "DROP INDEX app.items_sku_idx1",
        "DROP INDEX IF EXISTS app.no_such_index",
        "ALTER TABLE app.items DROP COLUMN note",
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'app' AND tablename = 'items' ORDER BY 1",
    ]
    assert_same_on_both(server, pg, script, messages=True)
    floe_d, pg_d = described(server, pg, "app.items")
    assert floe_d == pg_d
    assert '"items_sku_idx" btree (sku)' in floe_d


def test_alter_column_defaults_as_postgres(lake, pg):
    """ALTER COLUMN … SET DEFAULT / DROP DEFAULT change what later INSERTs
    get; rows already written keep their values."""
    server, _, _ = lake
    script = [
        "CREATE TABLE app.tasks (id int GENERATED ALWAYS AS IDENTITY, title text, "
        "state text DEFAULT 'open', weight numeric(6,2))",
        "INSERT INTO app.tasks (title) VALUES ('a')",
        "ALTER TABLE app.tasks ALTER COLUMN state SET DEFAULT 'new', ALTER COLUMN weight SET DEFAULT 1.5",
        "INSERT INTO app.tasks (title) VALUES ('b')",
        "ALTER TABLE app.tasks ALTER COLUMN state DROP DEFAULT",
        "INSERT INTO app.tasks (title) VALUES ('c')",
        "SELECT id, title, state, weight FROM app.tasks ORDER BY id",
        "ALTER TABLE app.tasks ALTER COLUMN weight SET DEFAULT 'heavy'",
        "ALTER TABLE app.tasks ALTER COLUMN id SET DEFAULT 7",
        "ALTER TABLE app.tasks ALTER COLUMN nosuch SET DEFAULT 1",
        "SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_schema = 'app' AND table_name = 'tasks' ORDER BY ordinal_position",
    ]
    assert_same_on_both(server, pg, script)


def test_returning_as_postgres(lake, pg):
    """INSERT, UPDATE and DELETE … RETURNING send back what was written (or
    removed): defaults, sequence values, new values cast to the columns'
    types."""
    server, _, _ = lake
    script = [
        "CREATE TABLE app.notes (id serial, body text DEFAULT 'empty', "
        "price numeric(10,2) DEFAULT 0, n int CHECK (n >= 0))",
        "INSERT INTO app.notes (n) VALUES (1), (2) RETURNING *",
        "INSERT INTO app.notes AS x (body, n) VALUES ('b', 3) RETURNING x.id, x.body, n * 2 AS twice",
        "INSERT INTO app.notes (n) VALUES (-1) RETURNING id",
        "UPDATE app.notes SET price = price + 1.5, n = n * 10 WHERE n <= 2 RETURNING id, price, n",
        "UPDATE app.notes AS t SET body = upper(body) WHERE t.id = 1 RETURNING t.*",
        "UPDATE app.notes SET n = -5 WHERE id = 1 RETURNING id",
        "UPDATE app.notes SET n = 0 WHERE id = 999 RETURNING *",
        "SELECT * FROM app.notes ORDER BY id",
        "DELETE FROM app.notes AS d WHERE d.n >= 20 RETURNING d.id, body, price",
        "DELETE FROM app.notes WHERE id = 999 RETURNING *",
        "SELECT id FROM app.notes ORDER BY id",
    ]
    assert_same_on_both(server, pg, script)
