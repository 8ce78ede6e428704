"""TPC-H throughput with concurrent clients: 8 clients each run the 22
queries once, against Floe with one worker and with three (`[workers] count`),
DuckDB in-process (one connection per client on one database, over the very
same Parquet files) and PostgreSQL 15 (same data, keys, indexes). Reports
queries per minute (22 × clients / wall-clock time) and checks every answer
against DuckDB's. Prints Markdown for bench/RESULTS.md. Started by
bench/tpch/throughput."""

import argparse
import concurrent.futures
import pathlib
import sys
import time

import psycopg

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from queries import QUERIES  # noqa: E402
from run import FloeServer, lake_and_duckdb, log, normalize, pg_loaded  # noqa: E402


def throughput(name, connect, run, clients, expected):
    """Each of `clients` connections runs every query once (in a rotated
    order, so the clients are not all on the same query); returns
    (queries per minute, seconds, wrong answers)."""
    conns = [connect() for _ in range(clients)]
    order = list(QUERIES)

    def client(i):
        wrong = 0
        rotated = order[i % len(order):] + order[: i % len(order)]
        for n in rotated:
            rows = run(conns[i], QUERIES[n])
            if normalize(rows) != normalize(expected[n]):
                wrong += 1
        return wrong

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        wrong = sum(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    qpm = len(QUERIES) * clients / elapsed * 60
    log(f"{name}: {clients} clients, {elapsed:.1f} s, {qpm:.0f} queries/min, {wrong} wrong")
    return qpm, elapsed, wrong


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--floe", required=True)
    p.add_argument("--parquet", required=True, type=pathlib.Path)
    p.add_argument("--csv", required=True, type=pathlib.Path)
    p.add_argument("--work", required=True, type=pathlib.Path)
    p.add_argument("--pg-dsn", required=True)
    p.add_argument("--clients", type=int, default=8)
    a = p.parse_args()

    files, duck = lake_and_duckdb(a.parquet, a.work)
    floe_dir = a.work / "floe"
    expected = {n: duck.execute(q).fetchall() for n, q in QUERIES.items()}
    log("duckdb answers taken")

    results = []

    def duck_connect():
        return duck.cursor()

    def duck_run(c, q):
        return c.execute(q).fetchall()

    # One warm pass first, so every engine is measured warm.
    throughput("duckdb warm-up", duck_connect, duck_run, 1, expected)
    results.append(("DuckDB in-process", "—", 1,
                    *throughput("duckdb", duck_connect, duck_run, 1, expected)))
    results.append(("DuckDB in-process", "—", a.clients,
                    *throughput("duckdb", duck_connect, duck_run, a.clients, expected)))

    def psycopg_run(c, q):
        return c.execute(q).fetchall()

    for workers in (1, 3):
        data = a.work / f"floe-{workers}"
        data.mkdir()
        floe = FloeServer(a.floe, data, config=(
            f'[catalog]\nuri = "sqlite:{floe_dir}/catalog.db"\n'
            f'warehouse = "file://{floe_dir}/warehouse"\n'
            f'[workers]\ncount = {workers}\n[admin]\nlisten = ""\n'))
        throughput(f"floe {workers}w warm-up", floe.connect, psycopg_run, workers, expected)
        results.append(("Floe", workers, 1,
                        *throughput(f"floe {workers}w", floe.connect, psycopg_run, 1, expected)))
        results.append(("Floe", workers, a.clients,
                        *throughput(f"floe {workers}w", floe.connect, psycopg_run, a.clients,
                                    expected)))
        floe.stop()

    pg_connect = pg_loaded(a.pg_dsn, a.csv, a.parquet)

    throughput("postgres warm-up", pg_connect, psycopg_run, 1, expected)
    results.append(("PostgreSQL 15", "—", 1,
                    *throughput("postgres", pg_connect, psycopg_run, 1, expected)))
    results.append(("PostgreSQL 15", "—", a.clients,
                    *throughput("postgres", pg_connect, psycopg_run, a.clients, expected)))

    duck_qpm = {clients: qpm for name, _, clients, qpm, _, _ in results
                if name == "DuckDB in-process"}
    pg_qpm = {clients: qpm for name, _, clients, qpm, _, _ in results if name == "PostgreSQL 15"}
    print(f"Each client runs the 22 queries once (rotated start), warm; queries per minute = "
          f"22 × clients / wall-clock seconds. Answers checked against DuckDB's.")
    print()
    print("| engine | workers | clients | wall (s) | queries/min | vs DuckDB | vs PostgreSQL 15 | wrong answers |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, workers, clients, qpm, elapsed, wrong in results:
        print(f"| {name} | {workers} | {clients} | {elapsed:.1f} | {qpm:.0f} | "
              f"{qpm / duck_qpm[clients]:.2f}× | {qpm / pg_qpm[clients]:.2f}× | {wrong} |")


if __name__ == "__main__":
    main()
