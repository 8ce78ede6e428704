"""Read-after-commit with three workers: once a commit (or an autocommit
statement) has returned to its client, the next statement of every session,
on every worker, sees it, for the embedded SQL catalog and for a REST catalog,
with the metadata refresh interval set far longer than the test runs, so only
the router carrying each change to every worker can make the reads fresh. A
worker killed with SIGKILL fails only its own sessions, and loses nothing
committed."""

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg
import pytest

from conftest import Server
from rest_catalog import RestCatalogServer

# Far past the test's length: a read is fresh only if the change reached it.
NO_REFRESH = "refresh_ms = 3600000\n"
THREE_WORKERS = '[workers]\ncount = 3\n[admin]\nlisten = ""\n'


@pytest.fixture(scope="module", params=["sql", "rest"])
def lake(request):
    root = pathlib.Path(tempfile.mkdtemp(prefix="floe-workers-"))
    rest = None
    if request.param == "sql":
        catalog = (
            f'[catalog]\nuri = "sqlite:{root}/catalog.db"\n'
            f'warehouse = "file://{root}/warehouse"\n'
        )
    else:
        from pyiceberg.catalog.sql import SqlCatalog

        backing = SqlCatalog("rest-backing", uri=f"sqlite:///{root}/catalog.db",
                             warehouse=f"file://{root}/warehouse")
        rest = RestCatalogServer(backing, "floe-writer", "w-secret")
        catalog = (
            f'[catalog]\ntype = "rest"\nuri = "{rest.uri}"\n'
            f'warehouse = "file://{root}/warehouse"\ncredential = "floe-writer:w-secret"\n'
        )
    server = Server(catalog + NO_REFRESH + THREE_WORKERS)
    server.kind = request.param
    yield server
    server.stop()
    if rest is not None:
        rest.stop()
    shutil.rmtree(root, ignore_errors=True)


def sessions(server, n=3):
    """`n` autocommit sessions opened together: the router puts each on the
    least-loaded worker, so three land on three workers."""
    return [psycopg.connect(server.dsn(), autocommit=True) for _ in range(n)]


def workers_used(server, since):
    """The worker addresses the router logged for sessions ended after log
    line `since`."""
    lines = server.log[since:]
    return {m.group(1) for line in lines for m in [re.search(r"worker=(\S+)", line)]
            if m and "client session ended" in line}


def one(conn, sql, params=None, prepare=None):
    return conn.execute(sql, params, prepare=prepare).fetchone()[0]


def test_ddl_and_each_kind_of_write_is_seen_at_once_by_every_worker(lake):
    mark = len(lake.log)
    a, b, c = sessions(lake)
    a.execute("CREATE SCHEMA s")
    a.execute("CREATE TABLE s.t (i int, v text)")
    assert one(b, "SELECT count(*) FROM s.t") == 0
    assert one(c, "SELECT count(*) FROM s.t") == 0

    a.execute("INSERT INTO s.t VALUES (1, 'one'), (2, 'two')")
    assert one(b, "SELECT count(*) FROM s.t") == 2
    b.execute("UPDATE s.t SET v = 'zwei' WHERE i = 2")
    assert one(c, "SELECT v FROM s.t WHERE i = 2") == "zwei"
    c.execute("DELETE FROM s.t WHERE i = 1")
    assert one(a, "SELECT count(*) FROM s.t") == 1

    # Schema changes, views, renames and drops.
    a.execute("ALTER TABLE s.t ADD COLUMN w int")
    b.execute("INSERT INTO s.t VALUES (3, 'drei', 30)")
    assert one(c, "SELECT w FROM s.t WHERE i = 3") == 30
    if lake.kind == "sql":  # Floe keeps views in the SQL catalog only
        c.execute("CREATE VIEW s.big AS SELECT i FROM s.t WHERE w > 10")
        assert one(a, "SELECT count(*) FROM s.big") == 1
    a.execute("ALTER TABLE s.t RENAME TO u")
    assert one(b, "SELECT count(*) FROM s.u") == 2
    with pytest.raises(psycopg.errors.UndefinedTable):
        c.execute("SELECT * FROM s.t")
    if lake.kind == "sql":
        c.execute("DROP VIEW s.big")
    c.execute("DROP TABLE s.u")
    with pytest.raises(psycopg.errors.UndefinedTable):
        a.execute("SELECT * FROM s.u")
    assert one(b, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 's'") == 0

    for conn in (a, b, c):
        conn.close()
    time.sleep(0.2)
    assert len(workers_used(lake, mark)) == 3, "the sessions ran on three workers"


def test_a_transaction_is_seen_once_committed_and_not_before(lake):
    a, b, c = sessions(lake)
    a.execute("CREATE SCHEMA IF NOT EXISTS tx")
    a.execute("CREATE TABLE tx.t (i int)")
    a.execute("BEGIN")
    a.execute("INSERT INTO tx.t VALUES (1)")
    a.execute("INSERT INTO tx.t VALUES (2)")
    assert one(b, "SELECT count(*) FROM tx.t") == 0
    a.execute("COMMIT")
    assert one(b, "SELECT count(*) FROM tx.t") == 2
    assert one(c, "SELECT sum(i) FROM tx.t") == 3
    for conn in (a, b, c):
        conn.close()


def test_a_thousand_alternating_writes_and_reads_are_never_stale(lake):
    """Each read follows the write before it on another worker, through the
    extended protocol with a prepared statement (reused, so its plan must be
    checked against the lake) and through the simple protocol. The pairs go
    to fifty tables in turn, twenty each: a table's scan planning reads every
    manifest of a new snapshot, so one table taking all thousand would
    measure that, not freshness."""
    a, b, c = sessions(lake)
    a.execute("CREATE SCHEMA IF NOT EXISTS pairs")
    tables = [f"pairs.t{n}" for n in range(50)]
    for t in tables:
        a.execute(f"CREATE TABLE {t} (i int)")
    stale = []
    rows = {t: [] for t in tables}
    for k in range(1, 1001):
        t = tables[k % len(tables)]
        writer = (a, b, c)[k % 3]
        reader = (a, b, c)[(k + 1) % 3]
        if k % 7 == 0 and rows[t]:
            gone = rows[t].pop(0)
            writer.execute(f"DELETE FROM {t} WHERE i = %s", (gone,))
        elif k % 5 == 0 and rows[t]:
            writer.execute(f"UPDATE {t} SET i = i + 1 WHERE i = %s", (rows[t][-1],))
            rows[t][-1] += 1
        else:
            writer.execute(f"INSERT INTO {t} VALUES (%s)", (k,))
            rows[t].append(k)
        query = f"SELECT coalesce(sum(i), 0) FROM {t}"
        if k % 2:
            got = one(reader, query, prepare=True)
        else:
            got = psycopg.ClientCursor(reader).execute(query).fetchone()[0]
        if got != sum(rows[t]):
            stale.append((k, t, got, sum(rows[t])))
    assert stale == []
    for conn in (a, b, c):
        conn.close()


def worker_pids(server):
    """The worker processes `floe serve` supervises."""
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_a_killed_worker_fails_only_its_sessions_and_loses_nothing_committed(lake):
    # The earlier tests' sessions are gone from the router's count first.
    deadline = time.time() + 10
    with psycopg.connect(lake.dsn(), autocommit=True) as probe:
        while one(probe, "SELECT sum(sessions) FROM pg_stat_floe_workers") > 1:
            assert time.time() < deadline, "earlier sessions never ended"
            time.sleep(0.05)
    a, b, c = sessions(lake)
    a.execute("CREATE SCHEMA IF NOT EXISTS k")
    # One table per session, so the transactions do not conflict.
    for n in (10, 20, 30):
        a.execute(f"CREATE TABLE k.t{n} (i int)")
        a.execute(f"INSERT INTO k.t{n} VALUES (1)")
    # An open transaction on every session: only the killed worker's is lost.
    for conn, n in ((a, 10), (b, 20), (c, 30)):
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO k.t{n} VALUES (%s)", (n,))
    assert len(worker_pids(lake)) == 3
    # The worker to kill: one holding some but not all of the three sessions
    # (pg_stat_floe_workers counts them; the process is the worker's --id).
    load = a.execute("SELECT id, sessions FROM pg_stat_floe_workers ORDER BY sessions, id").fetchall()
    victim, hosted = next((w, n) for w, n in load if 0 < n < 3)
    out = subprocess.run(["pgrep", "-a", "-P", str(lake.proc.pid)],
                         capture_output=True, text=True).stdout
    pid = next(int(line.split()[0]) for line in out.splitlines()
               if re.search(rf"--id {victim}(\s|$)", line))
    os.kill(pid, signal.SIGKILL)
    failed, survived = [], []
    for conn, n in ((a, 10), (b, 20), (c, 30)):
        try:
            conn.execute("COMMIT")
            survived.append(n)
        except psycopg.OperationalError as e:
            assert e.sqlstate in ("57P01", "08006", None), e
            failed.append(n)
    # Exactly the sessions the killed worker held fail.
    assert len(failed) == hosted, (failed, survived, load)
    # Whatever worker the next session lands on, it sees exactly the commits.
    deadline = time.time() + 30
    while True:
        try:
            with psycopg.connect(lake.dsn(), autocommit=True) as d:
                got = {n: sorted(r[0] for r in d.execute(f"SELECT i FROM k.t{n}"))
                       for n in (10, 20, 30)}
            break
        except psycopg.OperationalError:
            assert time.time() < deadline, "no worker took the session"
            time.sleep(0.5)
    assert got == {n: [1, n] if n in survived else [1] for n in (10, 20, 30)}
    for conn in (a, b, c):
        conn.close()
