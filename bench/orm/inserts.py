"""The ORM-style workload of bench/orm/run, on one engine at a time."""

import argparse
import concurrent.futures
import re
import subprocess
import sys
import time

import duckdb
import psycopg

DDL = ("CREATE TABLE bench_items (id serial PRIMARY KEY, name text NOT NULL, "
       "qty int DEFAULT 1, created timestamptz DEFAULT now())")
INSERT = "INSERT INTO bench_items (name) VALUES (%s) RETURNING id"
BATCH = 1_000


def start_floe(binary, work):
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", f"{work}/floe"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    for _ in range(20):
        m = re.match(r"floe listening on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
        if m:
            return proc, f"host=127.0.0.1 port={m.group(1)} user=floe dbname=floe"
    proc.kill()
    sys.exit("floe did not start")


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def server_workload(dsn, n):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_items")
        c.execute(DDL)
        ids = []
        one = timed(lambda: ids.extend(c.execute(INSERT, (f"n{i}",)).fetchone()[0] for i in range(n)))

        def client(k):
            with psycopg.connect(dsn, autocommit=True) as cc:
                return [cc.execute(INSERT, (f"c{k}-{i}",)).fetchone()[0] for i in range(n // 4)]

        got = []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            four = timed(lambda: got.extend(x for r in pool.map(client, range(4)) for x in r))
        ids += got
        assert len(set(ids)) == len(ids), "duplicate ids"

        def batch():
            with c.transaction():
                with c.cursor() as cur:
                    cur.executemany("INSERT INTO bench_items (name) VALUES (%s)",
                                    [(f"b{i}",) for i in range(BATCH)])
        batched = timed(batch)
        reads = timed(lambda: [c.execute("SELECT id, name, qty FROM bench_items WHERE id = %s", (i,)).fetchone()
                               for i in ids[:n]])
        total = c.execute("SELECT count(*) FROM bench_items").fetchone()[0]
        assert total == n + (n // 4) * 4 + BATCH, total
        c.execute("DROP TABLE bench_items")
    return one, four, batched, reads


def duckdb_workload(n):
    con = duckdb.connect()
    con.execute("CREATE SEQUENCE s")
    con.execute("CREATE TABLE bench_items (id INTEGER PRIMARY KEY DEFAULT nextval('s'), "
                "name TEXT NOT NULL, qty INTEGER DEFAULT 1, created TIMESTAMPTZ DEFAULT now())")
    ins = "INSERT INTO bench_items (name) VALUES (?) RETURNING id"
    ids = []
    one = timed(lambda: ids.extend(con.execute(ins, [f"n{i}"]).fetchone()[0] for i in range(n)))

    def client(k):
        cur = con.cursor()
        return [cur.execute(ins, [f"c{k}-{i}"]).fetchone()[0] for i in range(n // 4)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        four = timed(lambda: list(pool.map(client, range(4))))

    def batch():
        con.execute("BEGIN")
        con.executemany("INSERT INTO bench_items (name) VALUES (?)", [[f"b{i}"] for i in range(BATCH)])
        con.execute("COMMIT")
    batched = timed(batch)
    reads = timed(lambda: [con.execute("SELECT id, name, qty FROM bench_items WHERE id = ?", [i]).fetchone()
                           for i in ids[:n]])
    return one, four, batched, reads


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--floe", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--pg-dsn", required=True)
    p.add_argument("--inserts", type=int, default=200)
    a = p.parse_args()
    n = a.inserts - a.inserts % 4
    rows = {}
    print("DuckDB in-process", file=sys.stderr)
    rows["DuckDB in-process (local table)"] = duckdb_workload(n)
    print("PostgreSQL 15", file=sys.stderr)
    rows["PostgreSQL 15"] = server_workload(a.pg_dsn, n)
    print("Floe", file=sys.stderr)
    proc, dsn = start_floe(a.floe, a.work)
    try:
        rows["Floe (lake table in public)"] = server_workload(dsn, n)
    finally:
        proc.terminate()
        proc.wait()
    print("| engine | 1 client: ms per INSERT … RETURNING | 4 clients: inserts/s | "
          f"{BATCH:,} rows in one transaction (s) | point read by id (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, (one, four, batched, reads) in rows.items():
        print(f"| {name} | {one / n * 1000:.2f} | {n / four:.0f} | {batched:.2f} | {reads / n * 1000:.2f} |")


if __name__ == "__main__":
    main()
