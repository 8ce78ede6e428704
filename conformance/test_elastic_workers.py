"""Elastic capacity: with `[workers] min = 1, max = 3`, a burst of 32 concurrent
clients running short and long queries makes the server add workers while it
lasts and drain and remove them after it, with no client error and every
result correct; `pg_stat_floe_workers`, the log and `/metrics` show each event."""

import concurrent.futures
import re
import threading
import time
import urllib.request

import psycopg
import pytest

from conftest import Server

CONFIG = """
[workers]
min = 1
max = 3
target_sessions = 4
cooldown_ms = 1000
[admin]
listen = "127.0.0.1:0"
"""


@pytest.fixture(scope="module")
def elastic():
    server = Server(CONFIG)
    yield server
    server.stop()


def fleet(conn):
    # Not prepared: the router answers the view from its state when the text
    # arrives, so a statement prepared once would show that moment's fleet.
    return conn.execute(
        "SELECT id, state, sessions, running_statements, restarts "
        "FROM pg_stat_floe_workers ORDER BY id", prepare=False).fetchall()


def metrics(server):
    port = None
    for line in server.log:
        m = re.search(r"admin endpoint.*listen=127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
    assert port, "the admin endpoint's address is logged"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def client(server, n, errors, stop):
    """One client's burst: connect, run a long query (a sleep) and short ones,
    check each answer, disconnect; again until told to stop. Each session
    lasts a few tenths of a second, so the burst holds about 32 sessions."""
    rounds = 0
    while not stop.is_set() or rounds == 0:
        rounds += 1
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                got = conn.execute("SELECT pg_sleep(0.3), %s::int", (n,)).fetchone()[1]
                if got != n:
                    errors.append(f"client {n}: {got} != {n}")
                for k in range(2):
                    size = 1000 * (n + k + 1)
                    got = conn.execute("SELECT sum(i) FROM range(%s) t(i)", (size,)).fetchone()[0]
                    if got != sum(range(size)):
                        errors.append(f"client {n}: sum over {size} was {got}")
        except psycopg.Error as e:
            errors.append(f"client {n}: {e.sqlstate} {e}")
    return rounds


def wait_for(what, check, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_burst_adds_workers_and_they_go_after_it(elastic):
    with psycopg.connect(elastic.dsn(), autocommit=True) as monitor:
        assert [(w[0], w[1]) for w in fleet(monitor)] == [(0, "ready")]
        # The address is a superuser's to see (the default user is one here).
        assert monitor.execute(
            "SELECT count(*) FROM pg_stat_floe_workers WHERE address LIKE 'unix:%'"
        ).fetchone()[0] == 1

        errors, stop = [], threading.Event()
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            futures = [pool.submit(client, elastic, n, errors, stop) for n in range(32)]
            seen = set()

            def grown():
                rows = fleet(monitor)
                seen.update(w[0] for w in rows if w[1] == "ready")
                return len(seen) == 3
            wait_for("three ready workers during the burst", grown, 60)
            # Keep the burst going a little on the grown fleet.
            time.sleep(2)
            stop.set()
            rounds = sum(f.result() for f in futures)
        assert errors == []
        assert rounds >= 32

        wait_for("the fleet back at one worker",
                 lambda: [w[1] for w in fleet(monitor)] == ["ready"], 60)
        assert fleet(monitor)[0][0] == 0, "the first worker stays"

    text = metrics(elastic)
    assert "floe_workers_added_total 2" in text, text
    assert "floe_workers_removed_total 2" in text
    assert 'floe_workers{state="ready"} 1' in text
    log = "".join(elastic.log)
    assert log.count("worker added") == 2
    assert log.count("worker draining") == 2
    assert log.count("worker removed") == 2

