"""Sessions move between workers between statements: with `[workers] min = 1,
max = 2`, long-lived sessions opened while one worker ran spread to the
worker added later, and when that worker drains they move back without their
clients sending anything, so it goes while they stay connected. What a
session set moves with it (settings, server-side prepared statements,
`currval`, its cancel key); a session holding what only its worker has (a
TEMP table, an open transaction) stays. No client sees an error."""

import re
import threading
import time

import psycopg
import pytest

from conftest import Server
from test_elastic_workers import fleet, metrics, wait_for

CONFIG = """
[workers]
min = 1
max = 2
target_sessions = 3
cooldown_ms = 1500
[admin]
listen = "127.0.0.1:0"
"""

PREPARED = "SELECT v, %s::int AS k FROM moves_t WHERE id = %s"


@pytest.fixture(scope="module")
def server():
    s = Server(CONFIG)
    yield s
    s.stop()


def fleet_now(server):
    """The fleet, asked on a connection of its own."""
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        return [(w[0], w[1]) for w in fleet(c)]


def one_worker_again(server):
    """Waits until an earlier test's added worker has drained and gone."""
    wanted = ('floe_workers{state="ready"} 1', 'floe_workers{state="draining"} 0',
              'floe_workers{state="starting"} 0')
    wait_for("the fleet at one worker", lambda: all(w in metrics(server) for w in wanted), 60)


def worker_of(conn):
    return conn.execute("SHOW floe.worker", prepare=False).fetchone()[0]


def state_of(conn):
    """What the session set, as it sees it now."""
    return (
        conn.execute("SHOW TimeZone", prepare=False).fetchone()[0],
        conn.execute("SHOW statement_timeout", prepare=False).fetchone()[0],
        conn.execute("SELECT current_setting('application_name')", prepare=False).fetchone()[0],
        conn.execute("SELECT currval('moves_s')", prepare=False).fetchone()[0],
        conn.execute(PREPARED, (7, 1), prepare=True).fetchone(),
    )


def test_sessions_spread_to_a_new_worker_and_come_back_when_it_drains(server):
    setup = psycopg.connect(server.dsn(), autocommit=True)
    setup.execute("CREATE TABLE moves_t (id int, v text)")
    setup.execute("INSERT INTO moves_t VALUES (1, 'one'), (2, 'two')")
    setup.execute("CREATE SEQUENCE moves_s")
    setup.close()
    assert fleet_now(server) == [(0, "ready")]

    clients = [psycopg.connect(server.dsn(), autocommit=True, application_name=f"mover-{i}")
               for i in range(4)]
    expected = {}
    for i, c in enumerate(clients):
        assert worker_of(c) == "0"
        c.execute(f"SET TimeZone = 'Asia/Tokyo'")
        c.execute(f"SET statement_timeout = '{i + 5}s'")
        drawn = c.execute("SELECT nextval('moves_s')").fetchone()[0]
        # Prepared on the server (psycopg names it and binds it from now on).
        c.execute(PREPARED, (7, 1), prepare=True)
        expected[i] = ("Asia/Tokyo", f"{i + 5}s", f"mover-{i}", drawn, ("one", 7))
        assert state_of(c) == expected[i]
    # Client 0 holds a TEMP table; client 1 a transaction: neither may move.
    clients[0].execute("CREATE TEMP TABLE mine AS SELECT 42 AS x")
    clients[1].execute("BEGIN")
    in_txn = worker_of(clients[1])

    wait_for("a second worker for four sessions",
             lambda: fleet_now(server) == [(0, "ready"), (1, "ready")], 60)
    time.sleep(1.2)  # a session is considered for a move a second after its last

    def spread():
        for i, c in enumerate(clients):
            assert state_of(c) == expected[i], i
        return any(worker_of(c) == "1" for c in clients[2:])
    wait_for("movable sessions spread to the new worker", spread, 30)
    assert worker_of(clients[0]) == "0", "a TEMP table keeps its session"
    assert clients[0].execute("SELECT x FROM mine").fetchone()[0] == 42
    assert worker_of(clients[1]) == in_txn, "a transaction keeps its session"
    clients[1].execute("COMMIT")

    moved = [i for i in (2, 3) if worker_of(clients[i]) == "1"]
    assert moved
    # A moved session's cancel key reaches the worker it is on now.
    c = clients[moved[0]]
    threading.Timer(0.5, c.cancel).start()
    with pytest.raises(psycopg.errors.QueryCanceled):
        c.execute("SELECT pg_sleep(20)", prepare=False)
    assert c.execute("SELECT 1", prepare=False).fetchone()[0] == 1

    # Two sessions fit on one worker: the newer one drains after the
    # cool-down, and the session on it moves back while its client is silent.
    survivors = {0: clients[0], moved[0]: clients[moved[0]]}
    for i, c in enumerate(clients):
        if i not in survivors:
            c.close()
    # Watched from the admin endpoint: a session asking would keep a worker
    # busy, and a busy worker does not drain.
    wait_for("the fleet back at one worker",
             lambda: "worker removed" in "".join(server.log), 60)
    assert fleet_now(server) == [(0, "ready")]
    for i, c in survivors.items():
        assert worker_of(c) == "0"
        assert state_of(c) == expected[i], i
    assert clients[0].execute("SELECT x FROM mine").fetchone()[0] == 42
    assert clients[0].execute("SELECT count(*) FROM moves_t").fetchone()[0] == 2

    text = metrics(server)
    balance = re.search(r'floe_session_moves_total\{reason="balance"\} (\d+)', text)
    drain = re.search(r'floe_session_moves_total\{reason="drain"\} (\d+)', text)
    assert balance and int(balance.group(1)) >= 1, text
    assert drain and int(drain.group(1)) >= 1, text
    assert "session moved to another worker" in "".join(server.log)
    for c in survivors.values():
        c.close()


def test_pgjdbc_prepared_statements_survive_a_move(server):
    """pgjdbc names its statements on the server and binds them by name from
    then on; a session moving between workers must keep them (and its
    settings), and stay put while a transaction reads a portal in batches."""
    import pathlib
    import subprocess

    # Three silent sessions and pgjdbc's make four: a second worker comes,
    # and the busy session is the one that moves to it.
    one_worker_again(server)
    idle = [psycopg.connect(server.dsn(), autocommit=True) for _ in range(3)]
    try:
        r = subprocess.run(
            ["java", "-cp", "/usr/share/java/postgresql.jar",
             str(pathlib.Path(__file__).parent / "java" / "JdbcSessionMoves.java"),
             f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe"],
            capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        # The added worker's id is new (ids are never reused).
        assert re.search(r"jdbc session moves ok: worker 0 -> [1-9]", r.stdout), r.stdout
    finally:
        for c in idle:
            c.close()


def test_asyncpg_statement_cache_survives_a_move(server):
    """asyncpg prepares every statement it runs under a name of its own and
    binds that name from then on (its statement cache); after a move the
    names must still be there, with the types asyncpg was told."""
    import asyncio

    import asyncpg

    async def run():
        conn = await asyncpg.connect(host=server.host, port=server.port,
                                     user="floe", database="floe")
        try:
            await conn.execute("SET TimeZone = 'Asia/Tokyo'")
            first = await conn.fetchval("SHOW floe.worker")
            now, i = first, 0
            deadline = time.time() + 60
            while now == first or i < 5:
                assert time.time() < deadline, f"never moved off worker {first}"
                i += 1
                assert await conn.fetchval("SELECT $1::int + 1", i) == i + 1
                row = await conn.fetchrow(
                    "SELECT $1::text || '!' AS s, current_setting('TimeZone') AS tz", str(i))
                assert (row["s"], row["tz"]) == (f"{i}!", "Asia/Tokyo")
                now = await conn.fetchval("SHOW floe.worker")
                await asyncio.sleep(0.2)
            return first, now
        finally:
            await conn.close()

    one_worker_again(server)
    idle = [psycopg.connect(server.dsn(), autocommit=True) for _ in range(3)]
    try:
        first, now = asyncio.run(run())
        assert (first, now != first) == ("0", True)
    finally:
        for c in idle:
            c.close()
