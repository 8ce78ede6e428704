"""A dashboard of ten TPC-H SF1 tiles replayed by concurrent clients: Floe with
its result cache off and on, DuckDB in-process over the same Parquet files and
PostgreSQL 15 with the same data, in one run; a lone client's latency for a
cached tile; SELECT 1 through pgbench against Floe and PostgreSQL. Prints
Markdown for bench/RESULTS.md. Started by bench/dashboard/run."""

import argparse
import pathlib
import re
import subprocess
import sys
import threading
import time

import psycopg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tpch"))
from run import FloeServer, lake_and_duckdb, log, pg_loaded  # noqa: E402

TILES = {
    "revenue by month": "SELECT date_trunc('month', o_orderdate) AS month, sum(o_totalprice) AS revenue "
    "FROM orders WHERE o_orderdate >= DATE '1997-01-01' AND o_orderdate < DATE '1998-01-01' "
    "GROUP BY 1 ORDER BY 1",
    "orders by priority": "SELECT o_orderpriority, count(*) FROM orders GROUP BY 1 ORDER BY 1",
    "top customers": "SELECT c_name, sum(o_totalprice) AS revenue FROM customer JOIN orders "
    "ON c_custkey = o_custkey GROUP BY c_name ORDER BY revenue DESC, c_name LIMIT 10",
    "shipments by mode": "SELECT l_shipmode, count(*), sum(l_quantity) FROM lineitem GROUP BY 1 ORDER BY 1",
    "net by return flag": "SELECT l_returnflag, l_linestatus, sum(l_extendedprice * (1 - l_discount)) AS net "
    "FROM lineitem GROUP BY 1, 2 ORDER BY 1, 2",
    "revenue by nation": "SELECT n_name, sum(o_totalprice) AS revenue FROM orders JOIN customer "
    "ON o_custkey = c_custkey JOIN nation ON c_nationkey = n_nationkey GROUP BY n_name ORDER BY 2 DESC",
    "orders by status": "SELECT o_orderstatus, count(*) FROM orders GROUP BY 1 ORDER BY 1",
    "discount by year": "SELECT extract(year FROM l_shipdate) AS y, avg(l_discount) FROM lineitem "
    "GROUP BY 1 ORDER BY 1",
    "top brands": "SELECT p_brand, count(*) FROM part GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    "suppliers by region": "SELECT r_name, count(*) FROM supplier JOIN nation ON s_nationkey = n_nationkey "
    "JOIN region ON n_regionkey = r_regionkey GROUP BY 1 ORDER BY 1",
}
CLIENTS = 8


def replay(name, connect, seconds):
    """CLIENTS threads, each on its own connection, run the tiles in turn
    (each starting at a different tile) until `seconds` have passed; returns
    (queries per second, p50 ms, p99 ms)."""
    queries = list(TILES.values())
    latencies = [[] for _ in range(CLIENTS)]
    conns = [connect() for _ in range(CLIENTS)]
    for c in conns:  # every tile once, so a cache starts from the same place
        for q in queries:
            c.execute(q).fetchall()
    barrier = threading.Barrier(CLIENTS + 1)

    def client(i):
        c = conns[i]
        mine = latencies[i]
        barrier.wait()
        deadline = time.perf_counter() + seconds
        n = i
        while True:
            start = time.perf_counter()
            if start >= deadline:
                break
            c.execute(queries[n % len(queries)]).fetchall()
            mine.append(time.perf_counter() - start)
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    for c in conns:
        c.close()
    every = sorted(x for per in latencies for x in per)
    qps = len(every) / elapsed
    p50 = every[len(every) // 2] * 1000
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1000
    log(f"{name}: {len(every)} queries, {qps:.1f}/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return qps, p50, p99


class DuckClient:
    """A DuckDB cursor with psycopg's execute(...).fetchall() shape."""

    def __init__(self, duck):
        self.cursor = duck.cursor()

    def execute(self, q):
        return self.cursor.execute(q)

    def close(self):
        self.cursor.close()


def lone_hits(connect, rounds):
    """One client, each tile read `rounds` times from the cache: p50 and p99 ms."""
    c = connect()
    for q in TILES.values():
        c.execute(q).fetchall()
    times = []
    for _ in range(rounds):
        for q in TILES.values():
            start = time.perf_counter()
            c.execute(q).fetchall()
            times.append(time.perf_counter() - start)
    assert c.execute("SHOW floe.last_cache").fetchone()[0] == "hit"
    c.close()
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000


def pgbench(pgbench_bin, host, port, user, db, mode, clients, seconds):
    script = pathlib.Path(__file__).resolve().parent.parent / "select1.sql"
    out = subprocess.run(
        [pgbench_bin, "-n", "-h", host, "-p", str(port), "-U", user, "-f", str(script),
         "-M", mode, "-c", str(clients), "-j", str(clients), "-T", str(seconds), db],
        capture_output=True, text=True, check=True).stdout
    m = re.search(r"tps = ([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def rss_mib(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def worker_pids(router_pid):
    out = subprocess.run(["pgrep", "-P", str(router_pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--floe", required=True)
    p.add_argument("--parquet", required=True, type=pathlib.Path)
    p.add_argument("--csv", required=True, type=pathlib.Path)
    p.add_argument("--work", required=True, type=pathlib.Path)
    p.add_argument("--pg-dsn", required=True)
    p.add_argument("--pgbench", required=True)
    p.add_argument("--seconds", type=int, default=60)
    a = p.parse_args()

    _, duck = lake_and_duckdb(a.parquet, a.work)
    floe = FloeServer(a.floe, a.work / "floe")

    def floe_connect(cache):
        def connect():
            c = floe.connect()
            c.execute(f"SET floe.result_cache = {cache}")
            return c
        return connect

    rows = {}
    rows["Floe, result cache off"] = replay("floe cache off", floe_connect("off"), a.seconds)
    rows["Floe, result cache on"] = replay("floe cache on", floe_connect("on"), a.seconds)
    with floe.connect() as c:
        cache = c.execute(
            "SELECT entries, bytes, hits, misses FROM pg_stat_floe_cache WHERE layer = 'result'").fetchone()
    workers_rss = sum(rss_mib(p) for p in worker_pids(floe.proc.pid))
    lone = lone_hits(floe_connect("on"), 200)
    log(f"lone client hits: p50 {lone[0]:.3f} ms, p99 {lone[1]:.3f} ms")
    rows["DuckDB in-process (8 cursors)"] = replay("duckdb", lambda: DuckClient(duck), a.seconds)

    pg_connect = pg_loaded(a.pg_dsn, a.csv, a.parquet)

    rows["PostgreSQL 15"] = replay("postgres", pg_connect, a.seconds)

    bench_seconds = min(10, a.seconds)
    pg_host = dict(kv.split("=") for kv in a.pg_dsn.split())
    tps = []
    for mode in ("simple", "extended"):
        for clients in (1, 8):
            f = pgbench(a.pgbench, "127.0.0.1", floe.port, "floe", "floe", mode, clients, bench_seconds)
            g = pgbench(a.pgbench, pg_host["host"], int(pg_host["port"]), pg_host["user"],
                        pg_host["dbname"], mode, clients, bench_seconds)
            log(f"SELECT 1 {mode} x{clients}: floe {f:.0f} tps, postgres {g:.0f} tps")
            tps.append((mode, clients, f, g))
    floe.stop()

    off_qps = rows["Floe, result cache off"][0]
    on_qps = rows["Floe, result cache on"][0]
    pg_qps = rows["PostgreSQL 15"][0]
    print(f"### Dashboard: ten TPC-H SF1 tiles, {CLIENTS} clients, {a.seconds} s each\n")
    print("| configuration | queries/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, (qps, p50, p99) in rows.items():
        print(f"| {name} | {qps:,.1f} | {p50:.2f} | {p99:.2f} |")
    print()
    print(f"Cache on / cache off: {on_qps / off_qps:.0f}× the queries per second; "
          f"cache on / PostgreSQL: {on_qps / pg_qps:.1f}×.")
    print(f"A lone client reading a cached tile: p50 {lone[0]:.3f} ms, p99 {lone[1]:.3f} ms.")
    print(f"Result cache after the run: {cache[0]} entries, {cache[1]:,} bytes "
          f"({cache[2]:,} hits, {cache[3]:,} misses); worker RSS {workers_rss} MiB.")
    print()
    print(f"### SELECT 1 through pgbench ({bench_seconds} s per run, TPS; Floe with the result cache on)\n")
    print("| mode | clients | Floe | PostgreSQL 15 | Floe / PostgreSQL |")
    print("|---|---:|---:|---:|---:|")
    for mode, clients, f, g in tps:
        print(f"| {mode} | {clients} | {f:,.0f} | {g:,.0f} | {f / g:.2f} |")


if __name__ == "__main__":
    main()
