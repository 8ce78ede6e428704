"""Streaming benchmark: rows/s for the same result fetched through Floe (psycopg,
text and binary), from DuckDB in-process, and from PostgreSQL 15 (psycopg, text and
binary). Prints a Markdown table.

Usage: stream.py --rows N --floe-port P --pg-port Q
"""

import argparse
import statistics
import time

import duckdb
import psycopg

# The same rows everywhere: an integer, a double, a short text and a timestamp.
DUCK_TABLE = (
    "CREATE TABLE bench_rows AS SELECT i::BIGINT AS id, (i * 1.5)::DOUBLE AS amount, 'name-' || (i % 1000)::VARCHAR AS name, "
    "TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i) AS ts FROM range({n}) t(i)"
)
PG_TABLE = (
    "CREATE TABLE bench_rows AS SELECT i::BIGINT AS id, i * 1.5::float8 AS amount, 'name-' || (i % 1000)::text AS name, "
    "TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 second' AS ts FROM generate_series(0, {n} - 1) AS s(i)"
)
QUERY = "SELECT id, amount, name, ts FROM bench_rows"


def timed(fn, repeat):
    times = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - start)
    return rows, statistics.median(times)


def fetch_psycopg(dsn, binary):
    def run():
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor(binary=binary)
            cur.execute(QUERY)
            return len(cur.fetchall())

    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--floe-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.rows

    floe = f"host=127.0.0.1 port={args.floe_port} user=floe dbname=floe"
    pg = f"host=127.0.0.1 port={args.pg_port} user=postgres dbname=postgres"
    with psycopg.connect(floe, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_rows")
        c.execute(DUCK_TABLE.format(n=n))
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_rows")
        c.execute(PG_TABLE.format(n=n))
        c.execute("VACUUM ANALYZE bench_rows")

    duck = duckdb.connect()
    duck.execute(DUCK_TABLE.format(n=n))

    results = []

    def record(name, fn):
        rows, secs = timed(fn, args.repeat)
        assert rows == n, f"{name}: {rows} rows"
        results.append((name, secs, n / secs))
        print(f"  {name}: {secs:.2f} s", flush=True)

    record("DuckDB in-process, fetchall() (Python tuples)", lambda: len(duck.execute(QUERY).fetchall()))
    record("Floe, psycopg text", fetch_psycopg(floe, False))
    record("Floe, psycopg binary", fetch_psycopg(floe, True))
    record("PostgreSQL 15, psycopg text", fetch_psycopg(pg, False))
    record("PostgreSQL 15, psycopg binary", fetch_psycopg(pg, True))

    print()
    print(f"| {n:,} rows (bigint, double, text, timestamp) | median of {args.repeat} | rows/s |")
    print("|---|---:|---:|")
    for name, secs, rate in results:
        print(f"| {name} | {secs:.2f} s | {rate:,.0f} |")


if __name__ == "__main__":
    main()
