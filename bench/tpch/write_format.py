"""Which Parquet layout Floe should write: TPC-H lineitem (SF1) rewritten by
DuckDB 2.0 (Floe's engine, in-process) with each codec and row-group size
Floe can be told to use, then TPC-H Q1 and Q6 over each file, warm, median
of 7. Prints Markdown for bench/RESULTS.md.
Usage: bench-venv/bin/python bench/tpch/write_format.py PARQUET_DIR WORK_DIR"""

import pathlib
import statistics
import sys
import time

import duckdb

Q1 = """SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
 sum(l_extendedprice * (1 - l_discount)), sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
 avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
 FROM lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
 GROUP BY 1, 2 ORDER BY 1, 2"""
Q6 = """SELECT sum(l_extendedprice * l_discount) FROM lineitem
 WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'
 AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24"""

LAYOUTS = [
    ("zstd", 122_880),
    ("snappy", 122_880),
    ("lz4", 122_880),
    ("uncompressed", 122_880),
    ("zstd", 1_000_000),
    ("snappy", 1_000_000),
]


def timed(con, q, runs=7):
    con.execute(q).fetchall()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        con.execute(q).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main():
    source = pathlib.Path(sys.argv[1]) / "lineitem.parquet"
    work = pathlib.Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    rows = []
    files = [("as generated (tpchgen-cli)", source)]
    for codec, group in LAYOUTS:
        path = work / f"lineitem_{codec}_{group}.parquet"
        if not path.exists():
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{source}')) TO '{path}' "
                f"(FORMAT parquet, COMPRESSION {codec}, ROW_GROUP_SIZE {group})")
        files.append((f"{codec}, {group:,} rows per group", path))
    for name, path in files:
        con.execute(f"CREATE OR REPLACE VIEW lineitem AS SELECT * FROM read_parquet('{path}')")
        groups = con.execute(
            f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{path}')").fetchone()[0]
        size = path.stat().st_size / 1e6
        rows.append((name, groups, size, timed(con, Q1), timed(con, Q6)))
        print(f"{name}: {rows[-1]}", file=sys.stderr)
    print("| lineitem file | row groups | MB | Q1 ms | Q6 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, groups, size, q1, q6 in rows:
        print(f"| {name} | {groups} | {size:.0f} | {q1:.1f} | {q6:.1f} |")


if __name__ == "__main__":
    main()
