"""Lake writes inside transactions: staged until COMMIT, read by the transaction's
own statements and by nobody else, published atomically across tables in one
catalog transaction, discarded by ROLLBACK (or an error), refused with 40001
when a concurrent commit moved a table the transaction changed. Also the
table swap dbt's table materialization runs (CREATE … AS, two renames, COMMIT)."""


import contextlib

import psycopg
import pytest

from conftest import fails, lake_with


@pytest.fixture(scope="module")
def lake():
    yield from lake_with(
        "floe-txn-",
        "CREATE SCHEMA tx",
        "CREATE TABLE tx.accounts (id int NOT NULL, balance numeric(12,2))",
        "CREATE TABLE tx.ledger (account int, amount numeric(12,2))",
        "INSERT INTO tx.accounts VALUES (1, 100), (2, 50)",
    )


def rows(conn, sql):
    return conn.execute(sql).fetchall()


@contextlib.contextmanager
def in_transaction_and_beside(server):
    """A session whose statements run in one transaction, and an autocommit
    session beside it."""
    with psycopg.connect(server.dsn()) as txn, psycopg.connect(server.dsn(), autocommit=True) as other:
        yield txn, other


def test_own_writes_visible_only_inside_until_commit(lake):
    server, catalog, _ = lake
    before_accounts = len(catalog.load_table("tx.accounts").snapshots())
    with in_transaction_and_beside(server) as (writer, reader):
        writer.execute("UPDATE tx.accounts SET balance = balance - 30 WHERE id = 1")
        writer.execute("UPDATE tx.accounts SET balance = balance + 30 WHERE id = 2")
        writer.execute("INSERT INTO tx.ledger VALUES (1, -30), (2, 30)")
        assert rows(writer, "SELECT id, balance FROM tx.accounts ORDER BY id") == [(1, 70), (2, 80)]
        assert rows(writer, "SELECT sum(amount) FROM tx.ledger") == [(0,)]
        # Nobody else sees any of it, and the catalog is untouched.
        assert rows(reader, "SELECT id, balance FROM tx.accounts ORDER BY id") == [(1, 100), (2, 50)]
        assert rows(reader, "SELECT count(*) FROM tx.ledger") == [(0,)]
        assert len(catalog.load_table("tx.accounts").snapshots()) == before_accounts
        writer.commit()
        assert rows(reader, "SELECT id, balance FROM tx.accounts ORDER BY id") == [(1, 70), (2, 80)]
        assert rows(reader, "SELECT count(*) FROM tx.ledger") == [(2,)]
    # Both tables moved in the same catalog commit; PyIceberg reads the result.
    assert len(catalog.load_table("tx.accounts").snapshots()) == before_accounts + 2
    assert catalog.load_table("tx.ledger").scan().to_arrow().num_rows == 2


def test_rollback_discards_every_kind_of_change(lake):
    server, catalog, root = lake
    files = set((root / "warehouse").rglob("*.parquet"))
    before = len(catalog.load_table("tx.accounts").snapshots())
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("INSERT INTO tx.accounts VALUES (3, 1)")
        conn.execute("CREATE SCHEMA scratch")
        conn.execute("CREATE TABLE scratch.t AS SELECT id FROM tx.accounts")
        conn.execute("ALTER TABLE tx.ledger RENAME TO ledger_old")
        conn.execute("TRUNCATE tx.accounts")
        assert rows(conn, "SELECT count(*) FROM scratch.t") == [(3,)]
        assert rows(conn, "SELECT count(*) FROM tx.accounts") == [(0,)]
        assert rows(conn, "SELECT count(*) FROM tx.ledger_old") == [(2,)]
        fails(conn, "SELECT * FROM tx.ledger", psycopg.errors.UndefinedTable)
        conn.rollback()
        assert rows(conn, "SELECT count(*) FROM tx.accounts") == [(2,)]
        assert rows(conn, "SELECT count(*) FROM tx.ledger") == [(2,)]
    assert not catalog.namespace_exists("scratch")
    assert catalog.table_exists("tx.ledger") and not catalog.table_exists("tx.ledger_old")
    assert len(catalog.load_table("tx.accounts").snapshots()) == before
    # The data files the rolled-back statements uploaded are gone again.
    assert set((root / "warehouse").rglob("*.parquet")) == files


def test_error_in_transaction_commits_nothing(lake):
    server, catalog, _ = lake
    before = len(catalog.load_table("tx.ledger").snapshots())
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("INSERT INTO tx.ledger VALUES (9, 9)")
        fails(conn, "INSERT INTO tx.accounts (balance) VALUES (1)", psycopg.errors.NotNullViolation)
        conn.commit()  # the server answers ROLLBACK
        assert rows(conn, "SELECT count(*) FROM tx.ledger WHERE account = 9") == [(0,)]
    # A multi-statement query is one implicit transaction too.
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        fails(conn, "INSERT INTO tx.ledger VALUES (8, 8); INSERT INTO tx.ledger VALUES (1 / 0, 1)", psycopg.errors.DivisionByZero)
        assert rows(conn, "SELECT count(*) FROM tx.ledger WHERE account = 8") == [(0,)]
    assert len(catalog.load_table("tx.ledger").snapshots()) == before


def test_conflicting_commit_is_a_serialization_failure(lake):
    """A transaction that changed existing rows of a table another session
    has committed to since cannot be replayed (appends alone can): its commit
    fails with 40001 and publishes nothing, in any table."""
    server, catalog, _ = lake
    with in_transaction_and_beside(server) as (first, second):
        before = rows(second, "SELECT balance FROM tx.accounts WHERE id = 1")
        first.execute("INSERT INTO tx.ledger VALUES (5, 5)")
        first.execute("UPDATE tx.accounts SET balance = balance + 5 WHERE id = 1")
        second.execute("UPDATE tx.accounts SET balance = balance WHERE id = 2")
        with pytest.raises(psycopg.errors.SerializationFailure):
            first.commit()
        # Nothing of the failed transaction landed, in either table.
        assert rows(second, "SELECT count(*) FROM tx.ledger WHERE account = 5") == [(0,)]
        assert rows(second, "SELECT balance FROM tx.accounts WHERE id = 1") == before
        # The session goes on.
        assert rows(first, "SELECT 1") == [(1,)]
        first.rollback()


def test_table_swap_as_dbt_runs_it(lake):
    server, catalog, _ = lake
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE tx.model AS SELECT 1 AS version")
    with psycopg.connect(server.dsn()) as conn:
        conn.execute('CREATE TABLE "floe"."tx"."model__dbt_tmp" AS (SELECT 2 AS version)')
        conn.execute('ALTER TABLE "floe"."tx"."model" RENAME TO "model__dbt_backup"')
        conn.execute('ALTER TABLE "floe"."tx"."model__dbt_tmp" RENAME TO "model"')
        conn.commit()
        conn.execute('DROP TABLE IF EXISTS "floe"."tx"."model__dbt_backup" CASCADE')
        conn.commit()
        assert rows(conn, "SELECT version FROM tx.model") == [(2,)]
    assert catalog.load_table("tx.model").scan().to_arrow().to_pylist() == [{"version": 2}]
    assert not catalog.table_exists("tx.model__dbt_tmp")
    assert not catalog.table_exists("tx.model__dbt_backup")


def test_copy_inside_a_transaction(lake):
    server, _, _ = lake
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("CREATE TABLE tx.loaded (n int)")
        with conn.cursor().copy("COPY tx.loaded FROM STDIN") as cp:
            cp.write("1\n2\n3\n")
        assert rows(conn, "SELECT sum(n) FROM tx.loaded") == [(6,)]
        conn.rollback()
        fails(conn, "SELECT * FROM tx.loaded", psycopg.errors.UndefinedTable)


def test_concurrent_transactions_that_only_insert_all_commit(lake):
    """Inserts never conflict in PostgreSQL: transactions that only insert
    into the same table from many sessions at once all commit (a commit that
    lost the race is replayed on the newer snapshot), with every row kept."""
    server, _, _ = lake
    import concurrent.futures

    with psycopg.connect(server.dsn(), autocommit=True) as c:
        c.execute("CREATE TABLE tx.events (client int, n int)")

    def client(k):
        with psycopg.connect(server.dsn()) as conn:
            for n in range(10):
                with conn.transaction():
                    conn.execute("INSERT INTO tx.events VALUES (%s, %s)", (k, n))
                    conn.execute("INSERT INTO tx.events VALUES (%s, %s)", (k, 100 + n))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        assert rows(c, "SELECT count(*), count(DISTINCT (client, n)) FROM tx.events") == [(80, 80)]
        c.execute("DROP TABLE tx.events")
