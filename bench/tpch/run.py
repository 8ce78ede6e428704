"""TPC-H through Floe against DuckDB in-process and PostgreSQL 15, same data, same
run; then a cold run of Floe from an S3-compatible server (moto) with an empty SSD
cache. Prints Markdown for bench/RESULTS.md. Started by bench/tpch/run."""

import argparse
import datetime
import decimal
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import psycopg
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from queries import QUERIES, TABLES  # noqa: E402


def log(msg):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def load_iceberg(catalog, data_dir):
    """Appends every TPC-H table to namespace tpch; returns {table: [data files]}."""
    catalog.create_namespace_if_not_exists("tpch")
    files = {}
    for t in TABLES:
        arrow = pq.read_table(data_dir / f"{t}.parquet")
        table = catalog.create_table(f"tpch.{t}", schema=arrow.schema)
        table.append(arrow)
        files[t] = table.inspect.files().column("file_path").to_pylist()
        log(f"iceberg tpch.{t}: {arrow.num_rows} rows, {len(files[t])} files")
    return files


class FloeServer:
    def __init__(self, binary, data_dir, config=None):
        args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)]
        if config:
            path = pathlib.Path(data_dir) / "floe.toml"
            path.write_text(config)
            args += ["--config", str(path)]
        self.log_file = open(pathlib.Path(data_dir) / "floe.log", "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log_file, text=True)
        for _ in range(50):
            line = self.proc.stdout.readline()
            m = re.match(r"floe listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return
        raise RuntimeError("floe did not start")

    def connect(self):
        conn = psycopg.connect(f"host=127.0.0.1 port={self.port} user=floe dbname=floe", autocommit=True)
        conn.execute("SET search_path = tpch")
        # TPC-H measures execution: repeated runs must not be answered from
        # the result cache (bench/dashboard measures that).
        conn.execute("SET floe.result_cache = off")
        return conn

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def normalize(rows):
    """Rows comparable across engines: numbers rounded to 2 places."""
    out = []
    for r in rows:
        vals = []
        for v in r:
            if isinstance(v, (float, decimal.Decimal)):
                v = round(float(v), 2)
            vals.append(v)
        out.append(tuple(vals))
    return out


def timed(run, q):
    start = time.perf_counter()
    rows = run(q)
    return time.perf_counter() - start, rows


def measure(name, run, runs):
    """Per query: one warm-up, then the median of `runs` timed runs."""
    times, results = {}, {}
    for n, sql in QUERIES.items():
        try:
            _, results[n] = timed(run, sql)
            times[n] = statistics.median(timed(run, sql)[0] for _ in range(runs))
        except Exception as e:  # a timeout or failure is reported, not fatal
            times[n], results[n] = None, f"{type(e).__name__}: {e}".splitlines()[0]
        log(f"{name} Q{n}: {times[n] if times[n] is None else round(times[n], 3)}")
    return times, results


def pg_load(conn, csv_dir, parquet_dir):
    """TPC-H tables in PostgreSQL with the Parquet schema's types, keys and the
    usual foreign-key indexes."""
    types = {"BIGINT": "bigint", "INTEGER": "integer", "VARCHAR": "text", "DATE": "date"}
    conn.execute("DROP SCHEMA IF EXISTS tpch CASCADE")
    conn.execute("CREATE SCHEMA tpch")
    conn.execute("SET search_path = tpch")
    for t in TABLES:
        cols = duckdb.sql(f"DESCRIBE SELECT * FROM '{parquet_dir}/{t}.parquet'").fetchall()
        ddl = ", ".join(
            f"{c[0]} {types.get(c[1], c[1].replace('DECIMAL', 'numeric'))}" for c in cols)
        conn.execute(f"CREATE TABLE {t} ({ddl})")
        with conn.cursor().copy(f"COPY {t} FROM STDIN (FORMAT csv, HEADER true)") as copy:
            with open(csv_dir / f"{t}.csv", "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        log(f"postgres {t} loaded")
    for stmt in [
        "ALTER TABLE nation ADD PRIMARY KEY (n_nationkey)",
        "ALTER TABLE region ADD PRIMARY KEY (r_regionkey)",
        "ALTER TABLE part ADD PRIMARY KEY (p_partkey)",
        "ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey)",
        "ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey)",
        "ALTER TABLE customer ADD PRIMARY KEY (c_custkey)",
        "ALTER TABLE orders ADD PRIMARY KEY (o_orderkey)",
        "ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber)",
        "CREATE INDEX ON lineitem (l_partkey, l_suppkey)",
        "CREATE INDEX ON orders (o_custkey)",
        "CREATE INDEX ON partsupp (ps_suppkey)",
        "CREATE INDEX ON supplier (s_nationkey)",
        "CREATE INDEX ON customer (c_nationkey)",
        "VACUUM ANALYZE",
    ]:
        conn.execute(stmt)
    log("postgres keys, indexes, analyze done")


def pg_loaded(dsn, csv_dir, parquet_dir):
    """Loads TPC-H into the PostgreSQL at `dsn`; returns a function opening a
    connection there with search_path = tpch."""
    pg = psycopg.connect(dsn, autocommit=True)
    pg_load(pg, csv_dir, parquet_dir)
    pg.close()

    def connect():
        c = psycopg.connect(dsn, autocommit=True)
        c.execute("SET search_path = tpch")
        return c

    return connect


def fmt(t):
    return "—" if t is None else f"{t:.3f}"


def lake_and_duckdb(parquet, work):
    """The TPC-H tables as Iceberg tables in Floe's embedded default catalog
    (SQLite + local warehouse under `work/floe`), and DuckDB in-process with a
    view over the very same Parquet files for each: (files by table, DuckDB)."""
    floe_dir = work / "floe"
    floe_dir.mkdir()
    local = SqlCatalog("floe", uri=f"sqlite:///{floe_dir}/catalog.db",
                       warehouse=f"file://{floe_dir}/warehouse")
    files = load_iceberg(local, parquet)
    duck = duckdb.connect()
    for t, paths in files.items():
        plain = ", ".join(f"'{x.removeprefix('file://')}'" for x in paths)
        duck.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{plain}])")
    return files, duck


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--floe", required=True)
    p.add_argument("--embedded", required=True, help="the embedded_duckdb example binary")
    p.add_argument("--parquet", required=True, type=pathlib.Path)
    p.add_argument("--csv", required=True, type=pathlib.Path)
    p.add_argument("--work", required=True, type=pathlib.Path)
    p.add_argument("--pg-dsn", required=True)
    p.add_argument("--s3-endpoint", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--pg-timeout", type=int, default=300)
    a = p.parse_args()

    files, duck = lake_and_duckdb(a.parquet, a.work)
    floe_dir = a.work / "floe"
    threads = duck.execute("SELECT current_setting('threads')").fetchone()[0]
    duck_times, duck_rows = measure("duckdb", lambda q: duck.execute(q).fetchall(), a.runs)

    # The DuckDB build Floe embeds, in-process over the same files: what Floe's
    # engine costs before any server, protocol or planning work.
    setup = a.work / "embedded-setup.sql"
    setup.write_text("".join(
        f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{', '.join(repr(x.removeprefix('file://')) for x in paths)}]);\n"
        for t, paths in files.items()))
    qfiles = []
    for n, sql in QUERIES.items():
        f = a.work / f"q{n}.sql"
        f.write_text(sql)
        qfiles.append(str(f))
    out = subprocess.run([a.embedded, str(setup), str(a.runs), *qfiles],
                         capture_output=True, text=True, check=True).stdout
    embedded_times = {n: float(line.split()[1]) for n, line in zip(QUERIES, out.splitlines())}
    log(f"embedded DuckDB total {sum(embedded_times.values()):.3f}")

    floe = FloeServer(a.floe, floe_dir)
    conn = floe.connect()
    floe_times, floe_rows = measure("floe", lambda q: conn.execute(q).fetchall(), a.runs)
    # The same tables written by Floe itself (its default Parquet layout),
    # read by Floe and by DuckDB in-process over those very files.
    conn.execute("CREATE SCHEMA tpch_floe")
    for t in files:
        conn.execute(f"CREATE TABLE tpch_floe.{t} AS SELECT * FROM tpch.{t}")
    log("tables rewritten by Floe into tpch_floe")
    conn.execute("SET search_path = tpch_floe")
    own_times, own_rows = measure("floe on its files", lambda q: conn.execute(q).fetchall(), a.runs)
    conn.close()
    floe.stop()
    local = SqlCatalog("floe", uri=f"sqlite:///{floe_dir}/catalog.db",
                       warehouse=f"file://{floe_dir}/warehouse")
    duck_own = duckdb.connect()
    for t in files:
        paths = local.load_table(f"tpch_floe.{t}").inspect.files().column("file_path").to_pylist()
        plain = ", ".join(f"'{x.removeprefix('file://')}'" for x in paths)
        duck_own.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{plain}])")
    duck_own_times, _ = measure("duckdb on floe's files", lambda q: duck_own.execute(q).fetchall(), a.runs)

    pg = psycopg.connect(a.pg_dsn, autocommit=True)
    pg_load(pg, a.csv, a.parquet)
    pg.execute(f"SET statement_timeout = '{a.pg_timeout}s'")
    pg_times, pg_rows = measure("postgres", lambda q: pg.execute(q).fetchall(), 1)
    pg.close()

    # Cold: the same tables on moto S3, a Floe with an empty cache, each query once.
    s3_opts = {"s3.endpoint": a.s3_endpoint, "s3.access-key-id": "bench",
               "s3.secret-access-key": "bench", "s3.region": "us-east-1"}
    import boto3
    boto3.client("s3", endpoint_url=a.s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="bench", aws_secret_access_key="bench").create_bucket(Bucket="tpch")
    s3_dir = a.work / "floe-s3"
    s3_dir.mkdir()
    remote = SqlCatalog("floe", uri=f"sqlite:///{s3_dir}/catalog.db", warehouse="s3://tpch/wh", **s3_opts)
    load_iceberg(remote, a.parquet)
    floe_s3 = FloeServer(a.floe, s3_dir, config=(
        f'[storage]\nendpoint = "{a.s3_endpoint}"\nregion = "us-east-1"\n'
        'access_key_id = "bench"\nsecret_access_key = "bench"\nallow_http = "true"\n'
        f'[catalog]\nwarehouse = "s3://tpch/wh"\n'))
    conn = floe_s3.connect()
    cold_times = {}
    for n, sql in QUERIES.items():
        cold_times[n], rows = timed(lambda q: conn.execute(q).fetchall(), sql)
        if normalize(rows) != normalize(duck_rows[n]):
            cold_times[n] = None
        log(f"floe cold Q{n}: {cold_times[n]}")
    conn.close()
    floe_s3.stop()

    print(f"DuckDB {duckdb.__version__} in-process ({threads} threads); Floe one session; "
          f"PostgreSQL 15; median of {a.runs} warm runs after one warm-up "
          f"(PostgreSQL: one run after load and ANALYZE, timeout {a.pg_timeout} s).")
    print()
    print("| query | DuckDB in-process (s) | Floe's DuckDB build in-process (s) | Floe warm (s) | Floe / DuckDB | PostgreSQL 15 (s) | Floe cold from S3 (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    totals = [0.0, 0.0, 0.0, 0.0, 0.0]
    mismatches = []
    for n in QUERIES:
        d, f, pgt, c = duck_times[n], floe_times[n], pg_times[n], cold_times[n]
        same = f is not None and normalize(floe_rows[n]) == normalize(duck_rows[n])
        if not same:
            mismatches.append(n)
        e = embedded_times[n]
        ratio = f"{f / d:.2f}×" if f and d else "—"
        print(f"| Q{n} | {fmt(d)} | {fmt(e)} | {fmt(f)}{'' if same else ' (rows differ)'} | {ratio} | {fmt(pgt)} | {fmt(c)} |")
        for i, v in enumerate([d, e, f, pgt, c]):
            totals[i] += v or 0.0
    print(f"| **total** | **{totals[0]:.3f}** | **{totals[1]:.3f}** | **{totals[2]:.3f}** | **{totals[2] / totals[0]:.2f}×** "
          f"| **{totals[3]:.3f}**{' (incl. timeouts as 0)' if None in pg_times.values() else ''} | **{totals[4]:.3f}** |")
    print()
    print(f"Floe over the DuckDB build it embeds: {totals[2] / totals[1]:.2f}× "
          "(planning, the Postgres protocol through router and worker, psycopg).")
    print()
    print("The same tables as Floe writes them (`CREATE TABLE tpch_floe.t AS SELECT * FROM tpch.t`), "
          "read by DuckDB in-process over Floe's files and by Floe, warm:")
    print()
    print("| query | DuckDB on Floe's files (s) | Floe on its files (s) | Floe / DuckDB |")
    print("|---|---:|---:|---:|")
    own_total = [0.0, 0.0]
    for n in QUERIES:
        d, f = duck_own_times[n], own_times[n]
        same = f is not None and normalize(own_rows[n]) == normalize(duck_rows[n])
        if not same:
            mismatches.append(n)
        ratio = f"{f / d:.2f}×" if f and d else "—"
        print(f"| Q{n} | {fmt(d)} | {fmt(f)}{'' if same else ' (rows differ)'} | {ratio} |")
        own_total[0] += d or 0.0
        own_total[1] += f or 0.0
    print(f"| **total** | **{own_total[0]:.3f}** | **{own_total[1]:.3f}** | **{own_total[1] / own_total[0]:.2f}×** |")
    print()
    failed = [n for n, r in pg_rows.items() if isinstance(r, str)]
    if failed:
        print("PostgreSQL did not finish: " + ", ".join(f"Q{n} ({pg_rows[n]})" for n in failed))
    print("Floe's rows equal DuckDB's for every query." if not mismatches
          else f"Rows differ from DuckDB's for: {', '.join(f'Q{n}' for n in mismatches)}")


if __name__ == "__main__":
    main()
