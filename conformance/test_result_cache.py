"""The result cache (issue 17): a hit sends the bytes a miss sent, in the simple
and the extended protocol, text and binary, whole or in batches; commits on
another worker and by another engine are seen at once; statements whose answer
may change without a snapshot changing are never answered from it; the key
follows the settings; the bound holds; concurrent identical misses run once."""

import socket
import struct
import threading

import psycopg
import pytest

from conftest import LakeServer

WORKERS = 3


@pytest.fixture(scope="module")
def lake():
    # Three workers and a small result cache, so its bounds are reachable.
    lake = LakeServer(
        "floe-result-cache-",
        f"[workers]\ncount = {WORKERS}\n"
        "[cache]\nmemory_max_bytes = 8388608\nresult_entry_max_bytes = 65536\n",
    )
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        c.execute("CREATE SCHEMA rc")
        c.execute("CREATE SCHEMA rc2")
        c.execute("CREATE TABLE rc.t (id int, name text, ts timestamptz, price numeric(10,2), blob bytea)")
        c.execute(
            "INSERT INTO rc.t VALUES (1, 'a', '2024-01-02 03:04:05+00', 1.50, '\\x0102'), "
            "(2, 'b', '2024-06-01 12:00:00+00', 2.25, NULL), (3, NULL, NULL, NULL, '\\xff')"
        )
        c.execute("CREATE TABLE rc.big (i int, pad text)")
        c.execute("INSERT INTO rc.big SELECT i, repeat('x', 40) FROM generate_series(1, 5000) AS g(i)")
        c.execute("CREATE TABLE rc.same (v text)")
        c.execute("INSERT INTO rc.same VALUES ('in rc')")
        c.execute("CREATE TABLE rc2.same (v text)")
        c.execute("INSERT INTO rc2.same VALUES ('in rc2')")
    yield lake
    lake.stop()


# ---- a client that keeps the bytes -------------------------------------------


def _msg(tag, body):
    return tag + struct.pack("!i", len(body) + 4) + body


def _cstr(s):
    return s.encode() + b"\0"


class Wire:
    """A Postgres client on a raw socket that returns the server's answer to
    each request as the bytes it received."""

    def __init__(self, server, **params):
        self.sock = socket.create_connection((server.host, server.port), timeout=60)
        body = struct.pack("!i", 196608)
        for k, v in {"user": "floe", "database": "floe", **params}.items():
            body += _cstr(k) + _cstr(v)
        body += b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self.buf = b""
        self.until_ready()

    def _read_message(self):
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!i", self.buf[1:5])[0]:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            self.buf += chunk
        n = 1 + struct.unpack("!i", self.buf[1:5])[0]
        m, self.buf = self.buf[:n], self.buf[n:]
        return m

    def until_ready(self):
        out = b""
        while True:
            m = self._read_message()
            out += m
            if m[:1] == b"Z":
                return out

    def query(self, sql):
        self.sock.sendall(_msg(b"Q", _cstr(sql)))
        return self.until_ready()

    def extended(self, sql, params=(), param_formats=(), result_formats=(), max_rows=0, executes=1):
        bind = _cstr("") + _cstr("")
        bind += struct.pack("!h", len(param_formats)) + b"".join(struct.pack("!h", f) for f in param_formats)
        bind += struct.pack("!h", len(params))
        for p in params:
            bind += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
        bind += struct.pack("!h", len(result_formats)) + b"".join(struct.pack("!h", f) for f in result_formats)
        batch = _msg(b"P", _cstr("") + _cstr(sql) + struct.pack("!h", 0))
        batch += _msg(b"B", bind) + _msg(b"D", b"P" + _cstr(""))
        batch += _msg(b"E", _cstr("") + struct.pack("!i", max_rows)) * executes
        batch += _msg(b"S", b"")
        self.sock.sendall(batch)
        return self.until_ready()

    def show(self, name):
        for m in messages(self.query(f"SHOW {name}")):
            if m[:1] == b"D":
                n = struct.unpack("!i", m[7:11])[0]
                return m[11 : 11 + n].decode()
        raise AssertionError("no row")

    def close(self):
        self.sock.sendall(_msg(b"X", b""))
        self.sock.close()


def messages(raw):
    out = []
    while raw:
        n = 1 + struct.unpack("!i", raw[1:5])[0]
        out.append(raw[:n])
        raw = raw[n:]
    return out


def data_rows(raw):
    return [m for m in messages(raw) if m[:1] == b"D"]


def worker_of(conn):
    return conn.execute("SHOW floe.worker").fetchone()[0]


def stats(conn, layer="result"):
    cur = conn.execute("SELECT * FROM pg_stat_floe_cache WHERE layer = %s", (layer,))
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone()))


# ---- a hit is the miss's bytes ---------------------------------------------------


REQUESTS = [
    ("simple", lambda w, sql: w.query(sql)),
    ("extended text", lambda w, sql: w.extended(sql)),
    ("extended binary", lambda w, sql: w.extended(sql, result_formats=[1])),
    (
        "extended binary with parameters",
        lambda w, sql: w.extended(
            sql + " AND id >= $1 AND coalesce(name, '') <> $2",
            params=[struct.pack("!i", 1), b"zz"],
            param_formats=[1, 0],
            result_formats=[1],
        ),
    ),
]


@pytest.mark.parametrize("kind,request_", REQUESTS, ids=[r[0] for r in REQUESTS])
def test_a_hit_sends_the_bytes_a_miss_sent(lake, kind, request_):
    sql = f"SELECT id, name, ts, price, blob, id * 2 AS twice FROM rc.t WHERE id < 10 /* {kind} */ ORDER BY id"
    if "parameters" in kind:
        sql = sql.replace(" ORDER BY id", "")
    w = Wire(lake.server)
    uncached = Wire(lake.server)
    try:
        uncached.query("SET floe.result_cache = off")
        missed = request_(w, sql)
        assert w.show("floe.last_cache") == "miss: stored"
        hit = request_(w, sql)
        assert w.show("floe.last_cache") == "hit"
        assert hit == missed
        assert len(data_rows(hit)) == 3
        assert request_(uncached, sql) == hit
        assert uncached.show("floe.last_cache") == "not cached: floe.result_cache is off"
    finally:
        w.close()
        uncached.close()


def test_a_portal_read_in_batches_reads_a_cached_answer_like_an_uncached_one(lake):
    sql = "SELECT i, pad FROM rc.big WHERE i <= 7 ORDER BY i"
    w = Wire(lake.server)
    uncached = Wire(lake.server)
    try:
        uncached.query("SET floe.result_cache = off")
        w.extended(sql)  # stored whole
        batched = w.extended(sql, max_rows=3, executes=4)
        assert w.show("floe.last_cache") == "hit"
        reference = uncached.extended(sql, max_rows=3, executes=4)
        assert batched == reference
        kinds = [m[:1] for m in messages(batched)]
        assert kinds.count(b"s") == 2 and kinds.count(b"D") == 7
        # A portal read in batches stores what it read once it is whole.
        fresh = "SELECT i FROM rc.big WHERE i <= 5 ORDER BY i"
        first = w.extended(fresh, max_rows=2, executes=3)
        assert w.show("floe.last_cache") == "miss: stored"
        assert w.extended(fresh, max_rows=2, executes=3) == first
        assert w.show("floe.last_cache") == "hit"
    finally:
        w.close()
        uncached.close()


def test_psycopg_reads_the_same_values_from_a_hit(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        for binary in (False, True):
            q = "SELECT id, name, ts, price, blob FROM rc.t WHERE id >= %s ORDER BY id"
            first = c.execute(q, (1,), binary=binary, prepare=True).fetchall()
            again = c.execute(q, (1,), binary=binary, prepare=True).fetchall()
            assert c.execute("SHOW floe.last_cache").fetchone()[0] == "hit"
            assert first == again and len(first) == 3


# ---- exact by snapshot -------------------------------------------------------------


def test_a_write_on_another_worker_makes_the_next_read_a_miss_with_the_new_row(lake):
    conns = [psycopg.connect(lake.server.dsn(), autocommit=True) for _ in range(WORKERS)]
    try:
        by_worker = {worker_of(c): c for c in conns}
        assert len(by_worker) >= 2, "sessions spread over the workers"
        reader, writer = list(by_worker.values())[:2]
        writer.execute("CREATE TABLE rc.moving (n int)")
        writer.execute("INSERT INTO rc.moving VALUES (1)")
        q = "SELECT sum(n), count(*) FROM rc.moving"
        assert reader.execute(q).fetchone() == (1, 1)
        assert reader.execute(q).fetchone() == (1, 1)
        assert reader.execute("SHOW floe.last_cache").fetchone()[0] == "hit"
        writer.execute("INSERT INTO rc.moving VALUES (41)")
        assert reader.execute(q).fetchone() == (42, 2)
        assert reader.execute("SHOW floe.last_cache").fetchone()[0] == "miss: stored"
        # Through a prepared statement too.
        p = "SELECT sum(n) FROM rc.moving WHERE n > %s"
        assert reader.execute(p, (0,), prepare=True).fetchone() == (42,)
        assert reader.execute(p, (0,), prepare=True).fetchone() == (42,)
        writer.execute("DELETE FROM rc.moving WHERE n = 1")
        assert reader.execute(p, (0,), prepare=True).fetchone() == (41,)
    finally:
        for c in conns:
            c.close()


def test_a_write_by_pyiceberg_is_seen(lake):
    import pyarrow as pa

    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        c.execute("CREATE TABLE rc.outside (n bigint)")
        c.execute("INSERT INTO rc.outside VALUES (1)")
        q = "SELECT count(*) FROM rc.outside"
        assert c.execute(q).fetchone() == (1,)
        assert c.execute(q).fetchone() == (1,)
        assert c.execute("SHOW floe.last_cache").fetchone()[0] == "hit"
        table = lake.catalog.load_table("rc.outside")
        table.append(pa.table({"n": pa.array([2, 3], type=pa.int64())}))
        # refresh_ms = 0: the next statement asks the catalog.
        assert c.execute(q).fetchone() == (3,)
        assert c.execute("SHOW floe.last_cache").fetchone()[0] == "miss: stored"


def test_time_travel_reads_are_cached(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        c.execute("CREATE TABLE rc.history (n int)")
        c.execute("INSERT INTO rc.history VALUES (1)")
        snap = lake.catalog.load_table("rc.history").current_snapshot().snapshot_id
        c.execute("INSERT INTO rc.history VALUES (2)")
        q = f"SELECT count(*) FROM rc.history AT (VERSION => {snap})"
        assert c.execute(q).fetchone() == (1,)
        assert c.execute(q).fetchone() == (1,)
        assert c.execute("SHOW floe.last_cache").fetchone()[0] == "hit"
        c.execute("INSERT INTO rc.history VALUES (3)")
        assert c.execute(q).fetchone() == (1,)
        assert c.execute("SHOW floe.last_cache").fetchone()[0] == "hit"


# ---- never cached ---------------------------------------------------------------------


def last(c):
    return c.execute("SHOW floe.last_cache").fetchone()[0]


@pytest.mark.parametrize(
    "sql,why",
    [
        ("SELECT random() FROM rc.t", "random()"),
        ("SELECT now(), id FROM rc.t", "now()"),
        ("SELECT clock_timestamp()", "clock_timestamp()"),
        ("SELECT current_timestamp, id FROM rc.t", "current_timestamp"),
        ("SELECT gen_random_uuid()", "gen_random_uuid()"),
        ("SELECT count(*) FROM pg_stat_activity", "system view"),
        ("SELECT count(*) FROM pg_class", "system view"),
        ("SELECT id FROM rc.t WHERE id = (SELECT max(id) FROM pg_stat_activity, rc.t)", "system view"),
    ],
)
def test_answers_that_change_without_a_snapshot_are_never_cached(lake, sql, why):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        for _ in range(2):
            c.execute(sql).fetchall()
            reason = last(c)
            assert reason.startswith("not cached"), reason
            if why.endswith("()") or why.startswith("current"):
                assert why in reason, reason


def test_sequences_temp_tables_and_staged_writes_are_never_cached(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        c.execute("CREATE SEQUENCE rc.seq")
        assert [c.execute("SELECT nextval('rc.seq')").fetchone()[0] for _ in range(3)] == [1, 2, 3]
        assert last(c).startswith("not cached"), last(c)
        c.execute("CREATE TEMP TABLE scratch (n int)")
        c.execute("INSERT INTO scratch VALUES (1)")
        assert c.execute("SELECT count(*) FROM scratch").fetchone() == (1,)
        c.execute("INSERT INTO scratch VALUES (2)")
        assert c.execute("SELECT count(*) FROM scratch").fetchone() == (2,)
        assert last(c).startswith("not cached"), last(c)
        q = "SELECT count(*) FROM rc.t"
        before = c.execute(q).fetchone()[0]
        c.execute(q)
        assert last(c) == "hit"
        c.execute("BEGIN")
        c.execute("INSERT INTO rc.t (id) VALUES (100)")
        assert c.execute(q).fetchone()[0] == before + 1
        assert last(c) == "not cached: the transaction has staged writes"
        c.execute("ROLLBACK")
        assert c.execute(q).fetchone()[0] == before
        assert last(c) == "hit"


def test_answers_over_the_entry_bound_are_not_stored(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        q = "SELECT i, pad FROM rc.big ORDER BY i"  # ~250 kB, bound 64 kB
        first = c.execute(q).fetchall()
        assert last(c).startswith("not stored: the answer is over the entry bound"), last(c)
        assert c.execute(q).fetchall() == first
        assert last(c) != "hit"
        assert len(first) == 5000


# ---- the key ----------------------------------------------------------------------------


def test_timezone_and_search_path_change_the_key(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        q = "SELECT ts::text FROM rc.t WHERE id = 1"
        c.execute("SET TimeZone = 'UTC'")
        assert c.execute(q).fetchone() == ("2024-01-02 03:04:05+00",)
        c.execute(q)
        assert last(c) == "hit"
        c.execute("SET TimeZone = 'Asia/Tokyo'")
        assert c.execute(q).fetchone() == ("2024-01-02 12:04:05+09",)
        assert last(c) == "miss: stored"
        s = "SELECT v FROM same"
        c.execute("SET search_path = rc")
        assert c.execute(s).fetchone() == ("in rc",)
        assert c.execute(s).fetchone() == ("in rc",)
        assert last(c) == "hit"
        c.execute("SET search_path = rc2")
        assert c.execute(s).fetchone() == ("in rc2",)
        assert last(c) == "miss: stored"


# ---- bounds, single flight, clearing ---------------------------------------------


def test_ten_thousand_distinct_statements_stay_inside_the_bound(lake):
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        before = stats(c)
        with c.pipeline():
            for i in range(10_000):
                c.execute(f"SELECT {i} AS n, repeat('y', 300) AS pad")
        after = stats(c)
        assert after["max_bytes"] == 8388608
        assert after["bytes"] <= after["max_bytes"]
        assert after["stores"] - before["stores"] >= 10_000
        assert after["evictions"] > before["evictions"]
        assert after["entries"] < 10_000


def test_concurrent_identical_misses_run_once_on_all_workers(lake):
    q = "SELECT count(*) FROM rc.big a, rc.big b WHERE a.i % 97 = b.i % 89 AND a.i > b.i"
    conns = [psycopg.connect(lake.server.dsn(), autocommit=True) for _ in range(50)]
    try:
        workers = {}
        for c in conns:
            workers.setdefault(worker_of(c), c)
        before = {w: stats(c) for w, c in workers.items()}
        barrier = threading.Barrier(len(conns))
        answers = []

        def run(c):
            barrier.wait()
            answers.append(c.execute(q).fetchone())

        threads = [threading.Thread(target=run, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 50 and len(set(answers)) == 1
        after = {w: stats(c) for w, c in workers.items()}
        executions = sum(after[w]["stores"] - before[w]["stores"] for w in workers)
        hits = sum(after[w]["hits"] - before[w]["hits"] for w in workers)
        # One worker ran it; every other session, on every worker, was
        # answered by that run (the others through the shared tier).
        assert len(workers) > 1
        assert executions == 1, (executions, workers.keys())
        assert hits == 49, hits
        shared = {w: stats(c, "shared") for w, c in workers.items()}
        assert sum(s["hits"] for s in shared.values()) >= len(workers) - 1
    finally:
        for c in conns:
            c.close()


def settle(lake):
    """Waits until earlier tests' sessions are gone, so none of this test's
    sessions is moved to even out the workers' loads mid-test."""
    import time

    with psycopg.connect(lake.server.dsn(), autocommit=True) as probe:
        for _ in range(100):
            if probe.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0] <= 1:
                return
            time.sleep(0.1)


def test_a_superuser_clears_every_workers_cache(lake):
    # Enough connections that every worker has one; one of each is used.
    settle(lake)
    opened = [psycopg.connect(lake.server.dsn(), autocommit=True) for _ in range(3 * WORKERS)]
    conns = list({worker_of(c): c for c in opened}.values())
    try:
        q = "SELECT count(*), min(name) FROM rc.t WHERE id < 50"
        for c in conns:
            c.execute(q)
            c.execute(q)
            assert last(c) == "hit"
        assert len(conns) == WORKERS
        conns[0].execute("CALL floe_result_cache_clear()")
        # The first read after the clear runs the statement again; the other
        # workers' memory was emptied too, so they read that new answer from
        # the shared tier rather than their own memory.
        conns[0].execute(q)
        assert last(conns[0]) == "miss: stored"
        for c in conns[1:]:
            before = stats(c, "shared")["hits"]
            c.execute(q)
            assert last(c) == "hit"
            assert stats(c, "shared")["hits"] == before + 1, worker_of(c)
    finally:
        for c in opened:
            c.close()


def test_answers_outlive_the_workers_that_computed_them(lake):
    """Every worker killed (SIGKILL) and restarted by the supervisor: the
    shared tier still answers, and a commit still makes the next read a miss."""
    import os
    import signal
    import subprocess
    import time

    q = "SELECT name, count(*) FROM rc.t GROUP BY name ORDER BY name NULLS FIRST"
    with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
        answer = c.execute(q).fetchall()
        assert last(c) in ("miss: stored", "hit")
    workers = subprocess.run(
        ["pgrep", "-P", str(lake.server.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) == WORKERS
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    deadline = time.time() + 60
    while True:
        try:
            with psycopg.connect(lake.server.dsn(), autocommit=True) as c:
                again = c.execute(q).fetchall()
                assert again == answer
                assert last(c) == "hit"
                c.execute("INSERT INTO rc.t (id, name) VALUES (7, 'after restart')")
                after = c.execute(q).fetchall()
                assert len(after) == len(answer) + 1
                assert last(c) == "miss: stored"
                break
        except psycopg.OperationalError:
            assert time.time() < deadline, "the workers came back"
            time.sleep(0.5)


def test_a_session_waiting_for_another_ones_answer_keeps_its_statement_timeout(lake):
    """While one session runs a statement, an identical one waits for its
    answer rather than running it too — but no longer than its own
    statement_timeout (57014), and a cancel ends the wait as it ends a run."""
    # About a second and a half on the project's machine.
    q = ("SELECT count(*) FROM rc.big a, rc.big b "
         "WHERE a.pad || b.i::text <> b.pad || a.i::text /* slow */")
    with psycopg.connect(lake.server.dsn(), autocommit=True) as lead, psycopg.connect(
        lake.server.dsn(), autocommit=True
    ) as waiter:
        lead.execute("SET floe.result_cache = on")
        answers = []
        t = threading.Thread(target=lambda: answers.append(lead.execute(q).fetchone()))
        t.start()
        import time

        waiter.execute("SET statement_timeout = '100ms'")
        time.sleep(0.2)
        with pytest.raises(psycopg.errors.QueryCanceled) as e:
            waiter.execute(q)
        assert "statement timeout" in str(e.value)
        t.join()
        waiter.execute("SET statement_timeout = 0")
        assert waiter.execute(q).fetchone() == answers[0]
        assert last(waiter) == "hit"
