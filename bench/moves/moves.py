"""What a session move costs: sessions opened on one worker, each with its
settings and 0 or 20 server-side prepared statements, spread to a second
worker the fleet adds; the statement that moves a session is timed against
the same statement when the session stays. Prints Markdown."""

import argparse
import pathlib
import re
import statistics
import sys
import subprocess
import tempfile
import time

import psycopg

CONFIG = """
[workers]
min = 1
max = 2
target_sessions = 8
cooldown_ms = 600000
[admin]
listen = ""
"""


def start(floe, work):
    (work / "floe.toml").write_text(CONFIG)
    proc = subprocess.Popen(
        [floe, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(work),
         "--config", str(work / "floe.toml")],
        stdout=subprocess.PIPE, stderr=open(work / "floe.log", "w"), text=True)
    for _ in range(20):
        m = re.match(r"floe listening on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
        if m:
            return proc, f"host=127.0.0.1 port={m.group(1)} user=floe dbname=floe"
    proc.kill()
    raise RuntimeError("floe did not start")


def timed(conn, sql):
    t = time.perf_counter()
    worker = conn.execute(sql, prepare=False).fetchone()[0]
    return (time.perf_counter() - t) * 1000, worker


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floe", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    moved = {0: [], 20: []}
    stayed = {0: [], 20: []}
    server_us = {0: [], 20: []}
    for r in range(args.rounds):
        work = pathlib.Path(tempfile.mkdtemp(prefix="floe-moves-"))
        proc, dsn = start(args.floe, work)
        try:
            sessions = []
            for i in range(12):
                c = psycopg.connect(dsn, autocommit=True, application_name=f"bench-{i}")
                c.execute("SET TimeZone = 'Europe/Paris'")
                prepared = 20 if i % 2 else 0
                for k in range(prepared):
                    c.execute(f"SELECT {k} + %s::int", (k,), prepare=True)
                sessions.append((c, prepared))
            print(f"round {r + 1}: 12 sessions on worker 0", file=sys.stderr)
            deadline = time.time() + 60
            while time.time() < deadline:
                with psycopg.connect(dsn, autocommit=True) as m:
                    ready = m.execute("SELECT count(*) FROM pg_stat_floe_workers "
                                      "WHERE state = 'ready'", prepare=False).fetchone()[0]
                if ready == 2:
                    break
                time.sleep(0.1)
            time.sleep(1.2)
            for c, prepared in sessions:
                ms, worker = timed(c, "SHOW floe.worker")
                again, worker_again = timed(c, "SHOW floe.worker")
                assert worker == worker_again
                (moved if worker == "1" else stayed)[prepared].append(ms)
                stayed[prepared].append(again)
            for c, _ in sessions:
                c.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        for line in (work / "floe.log").read_text().splitlines():
            m = re.search(r"session moved to another worker.*statements=(\d+) move_us=(\d+)", line)
            if m:
                n = int(m.group(1))
                server_us[20 if n >= 20 else 0].append(int(m.group(2)))
    print("| prepared statements per session | statement that moved the session (median ms, n) "
          "| same statement, no move (median ms) | move on the router (median ms) |")
    print("|---:|---:|---:|---:|")
    for k in (0, 20):
        fmt = lambda xs: f"{statistics.median(xs):.2f}" if xs else "—"
        print(f"| {k} | {fmt(moved[k])} ({len(moved[k])}) | {fmt(stayed[k])} "
              f"| {fmt([u / 1000 for u in server_us[k]])} |")


if __name__ == "__main__":
    main()
