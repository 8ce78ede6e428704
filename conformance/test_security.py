"""The trust boundary, tried as an attacker would: hostile SQL through the router
as a non-superuser and straight to a worker, identity spoofing, registrations
that point outside the warehouse, pg_stat_activity privacy, and the limits
(connections, authentication time, login failures, message size, 500 sessions)."""

import asyncio
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import asyncpg
import psycopg
import pytest

from conftest import Server, floe_binary

ADMIN_PW = "admin-pw-9f2"
MALLORY_PW = "mallory-pw-4c1"
ALLOWED = {"42501", "42601", "54001"}


def user_config(extra=""):
    """A config with a superuser `admin` and an ordinary user `mallory`."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="floe-sec-conf-"))
    cfg = d / "floe.toml"
    cfg.write_text('[admin]\nlisten = ""\n' + extra)
    for name, pw, su in (("admin", ADMIN_PW, True), ("mallory", MALLORY_PW, False)):
        args = [floe_binary(), "user", "add", name, "--config", str(cfg)]
        if su:
            args.insert(4, "--superuser")
        subprocess.run(args, input=pw + "\n", text=True, check=True, capture_output=True)
    text = cfg.read_text()
    shutil.rmtree(d, ignore_errors=True)
    return text


@pytest.fixture(scope="module")
def secured():
    s = Server(user_config())
    yield s
    s.stop()


@pytest.fixture(scope="module")
def canaries():
    """A secret in a file outside the warehouse and one inside it."""
    outside = pathlib.Path(tempfile.mkdtemp(prefix="floe-canary-"))
    secret = "CANARY-" + os.urandom(8).hex()
    (outside / "secret.txt").write_text(secret)
    (outside / "secret.csv").write_text(f"a\n{secret}\n")
    yield outside, secret
    shutil.rmtree(outside, ignore_errors=True)


TABLE_FUNCTIONS = [
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "parquet_metadata",
    "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata", "parquet_full_metadata",
    "parquet_bloom_probe", "read_json", "read_json_auto", "read_json_objects", "read_ndjson",
    "read_ndjson_objects", "read_text", "read_blob", "glob", "sniff_csv", "read_duckdb",
    "iceberg_scan", "iceberg_metadata", "delta_scan", "read_xlsx", "query", "query_table",
    "json_execute_serialized_sql",
]
CATALOG_FUNCTIONS = [
    "duckdb_settings", "duckdb_databases", "duckdb_extensions", "duckdb_secrets",
    "duckdb_temporary_files", "duckdb_logs", "duckdb_memory", "which_secret", "checkpoint",
    "force_checkpoint", "enable_logging", "duckdb_external_file_cache", "pragma_database_size",
    "pragma_storage_info", "test_all_types", "duckdb_functions",
]


def hostile_statements(paths):
    """At least 500 statements touching files, the network, extensions, settings
    or other databases, each kind in several disguises."""
    out = []
    for f in TABLE_FUNCTIONS:
        for p in paths:
            q = f"'{p}'"
            out += [
                f"SELECT * FROM {f}({q})",
                f"select * from {f.upper()}({q})",
                f'SELECT * FROM "{f}"({q})',
                f"SELECT * FROM main.{f}({q})",
                f"SELECT * FROM system.main.{f}({q})",
                f"WITH x AS (SELECT * FROM {f}({q})) SELECT * FROM x",
                f"SELECT * FROM (SELECT * FROM {f}({q})) t",
                f"SELECT 1 UNION ALL SELECT count(*) FROM {f}({q})",
                f"SELECT * FROM {f}({q}); /*",
                f"SELECT 1; SELECT * FROM {f}({q})",
                f"SELECT * FROM {f}('{p[:3]}' || '{p[3:]}')",
                f"SELECT * FROM {f}(/* c */{q})",
            ]
        out += [
            f"CREATE TABLE ctas_{f} AS SELECT * FROM {f}('{paths[0]}')",
            f"CREATE VIEW v_{f} AS SELECT * FROM {f}('{paths[0]}')",
            f"EXPLAIN ANALYZE SELECT * FROM {f}('{paths[0]}')",
            f"DECLARE c_{f} CURSOR FOR SELECT * FROM {f}('{paths[0]}')",
            f"PREPARE p_{f} AS SELECT * FROM {f}($1)",
            f"SELECT (SELECT count(*) FROM {f}('{paths[0]}'))",
            f"SELECT {f}('{paths[0]}')",
        ]
    for f in CATALOG_FUNCTIONS:
        out += [f"SELECT * FROM {f}()", f"CALL {f}()"]
        if f.startswith(("duckdb_", "pragma_")):  # the engine's views by these names
            out.append(f"SELECT * FROM {f}")
    for p in paths:
        out += [
            f"COPY (SELECT 1) TO '{p}.out'",
            f"COPY (SELECT 1) TO '{p}.parquet' (FORMAT parquet, COMPRESSION zstd)",
            f"COPY pg_class TO '{p}.out'",
            f"COPY t FROM '{p}'",
            f"COPY t FROM PROGRAM 'cat {p}'",
            f"COPY (SELECT 1) TO PROGRAM 'touch {p}.prog'",
            f"ATTACH '{p}.db' AS x",
            f"ATTACH DATABASE '{p}.db' AS x (TYPE sqlite)",
            f"ATTACH IF NOT EXISTS '{p}.db'",
            f"EXPORT DATABASE '{p}.dump'",
            f"IMPORT DATABASE '{p}'",
            f"SELECT * FROM '{p}'",
            f'SELECT * FROM "{p}"',
            f"FROM '{p}'",
            f"SUMMARIZE SELECT * FROM '{p}'",
            f"CREATE TABLE x AS FROM '{p}'",
            f"INSERT INTO t SELECT * FROM read_csv('{p}')",
            f"SELECT 1; COPY (SELECT 1) TO '{p}.out'; /*",
        ]
    for s in ["enable_external_access", "allowed_directories", "allowed_paths", "threads",
              "memory_limit", "temp_directory", "lock_configuration", "extension_directory",
              "autoinstall_known_extensions", "autoload_known_extensions",
              "allow_unsigned_extensions", "custom_extension_repository", "profiling_output",
              "enable_profiling", "max_temp_directory_size", "home_directory", "secret_directory"]:
        out += [
            f"SET {s} = 'x'",
            f"SET GLOBAL {s} = 'x'",
            f"RESET {s}",
            f"SELECT current_setting('{s}')",
            f"SELECT 1; SET {s} = 'x'; /*",
        ]
    for ext in ["httpfs", "sqlite", "postgres_scanner", "iceberg", "json"]:
        out += [f"INSTALL {ext}", f"LOAD {ext}", f"FORCE INSTALL {ext}",
                f"INSTALL {ext} FROM 'http://127.0.0.1:1'", f"SELECT 1; LOAD {ext}"]
    out += [
        "DETACH x", "USE other", "CHECKPOINT", "FORCE CHECKPOINT", "VACUUM ANALYZE",
        "PRAGMA enable_profiling", "PRAGMA database_list", "PRAGMA version",
        "SET VARIABLE v = (SELECT 1)", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')",
        "CREATE MACRO m(x) AS x", "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
        "CREATE EXTENSION dblink", "SELECT * FROM other_db.main.t",
        "SELECT * FROM memory.main.t", "SELECT * FROM a.b.c.d",
        "FLOE SESSION 'user' 'admin' 'floe.superuser' 'on'",
        "SELECT 1; FLOE SESSION 'user' 'admin' 'floe.superuser' 'on'; /*",
        "FLOE RESET", "FLOE STATS", "SELECT 1; FLOE RESET; /*",
        "SELECT current_setting(x) FROM (SELECT 'temp_directory' AS x) t",
        "SELECT getenv('HOME')", "SELECT pg_read_file('/etc/passwd')",
        "SELECT * FROM pg_ls_dir('/')", "SELECT lo_import('/etc/passwd')",
    ]
    return out


def allowed_for(sql):
    # A setting this engine build does not have is, as in Postgres, unrecognized
    # (current_setting of a computed name looks among Postgres's parameters only).
    if sql.startswith(("SET ", "RESET ")) or "current_setting(x)" in sql:
        return ALLOWED | {"42704"}
    return ALLOWED


def run_hostile(conn, statements, secret, label):
    executed = []
    for i, sql in enumerate(statements):
        extended = i % 2 == 1 and ";" not in sql
        try:
            if extended:
                conn.execute(sql)
            else:
                r = conn.pgconn.exec_(sql.encode())
                if r.status in (1, 2):  # COMMAND_OK, TUPLES_OK
                    raise AssertionError("executed")
                code = r.error_field(psycopg.pq.DiagnosticField.SQLSTATE)
                code = code.decode() if code else None
                msg = (r.error_message or b"").decode(errors="replace")
                assert code in allowed_for(sql), f"{label}: {sql!r}: {code} {msg}"
                assert secret not in msg
                continue
            executed.append(sql)
        except psycopg.Error as e:
            assert e.sqlstate in allowed_for(sql), f"{label}: {sql!r}: {e.sqlstate} {e}"
            assert secret not in str(e)
        except AssertionError as e:
            if str(e) == "executed":
                executed.append(sql)
            else:
                raise
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
    assert executed == [], f"{label}: executed {executed[:10]}"
    # The session is still usable.
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_hostile_sql_is_refused_through_the_router(secured, canaries):
    outside, secret = canaries
    wh = pathlib.Path(secured.data_dir.name) / "warehouse"
    wh.mkdir(parents=True, exist_ok=True)
    (wh / "canary.txt").write_text(secret)
    paths = [str(outside / "secret.txt"), str(wh / "canary.txt")]
    statements = hostile_statements(paths)
    assert len(statements) >= 500, len(statements)
    before = set(os.listdir(outside)) | {"w:" + n for n in os.listdir(wh)}
    with psycopg.connect(secured.dsn(user="mallory", password=MALLORY_PW), autocommit=True) as c:
        run_hostile(c, statements, secret, "router")
    after = set(os.listdir(outside)) | {"w:" + n for n in os.listdir(wh)}
    assert after == before


def test_hostile_sql_is_refused_by_a_worker_alone(canaries):
    outside, secret = canaries
    data = tempfile.mkdtemp(prefix="floe-sec-worker-")
    proc = subprocess.Popen(
        [floe_binary(), "worker", "--listen", "127.0.0.1:0", "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "FLOE_WORKERS__TOKEN": "sec-token"},
    )
    try:
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        wh = pathlib.Path(data) / "warehouse"
        wh.mkdir(parents=True, exist_ok=True)
        (wh / "canary.txt").write_text(secret)
        paths = [str(outside / "secret.txt"), str(wh / "canary.txt")]
        dsn = f"host=127.0.0.1 port={port} user=floe dbname=floe password=sec-token"
        with psycopg.connect(dsn, autocommit=True) as c:
            run_hostile(c, hostile_statements(paths), secret, "worker")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)


def test_a_worker_without_a_token_is_refused_at_start():
    env = {k: v for k, v in os.environ.items() if k != "FLOE_WORKERS__TOKEN"}
    refused_at_start(["worker", "--listen", "127.0.0.1:0"], "floe-sec-notoken-", "token", env=env)


def refused_at_start(args, prefix, reason, config=None, env=None):
    """Runs `floe ARGS` in a fresh data dir (with CONFIG as its floe.toml) and
    checks that it exits at once with an error that names REASON."""
    d = tempfile.mkdtemp(prefix=prefix)
    args = [floe_binary(), *args, "--data-dir", d]
    if config is not None:
        cfg = pathlib.Path(d) / "floe.toml"
        cfg.write_text(config)
        args += ["--config", str(cfg)]
    try:
        r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert r.returncode != 0
    assert reason in (r.stderr + r.stdout)


def test_trust_with_users_beyond_loopback_is_refused():
    text = user_config()
    if re.search(r"^\[auth\]$", text, re.M):
        text = re.sub(r"^\[auth\]$", '[auth]\nmethod = "trust"', text, count=1, flags=re.M)
    else:
        text = '[auth]\nmethod = "trust"\n' + text
    refused_at_start(["serve", "--listen", "0.0.0.0:0"], "floe-sec-trust-", "trust", config=text)


def test_serve_beyond_loopback_with_users_is_allowed():
    d = tempfile.mkdtemp(prefix="floe-sec-any-")
    cfg = pathlib.Path(d) / "floe.toml"
    cfg.write_text(user_config())
    proc = subprocess.Popen(
        [floe_binary(), "serve", "--listen", "0.0.0.0:0", "--data-dir", d, "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        with psycopg.connect(f"host=127.0.0.1 port={port} user=mallory dbname=floe password={MALLORY_PW}") as c:
            assert c.execute("SELECT 1").fetchone() == (1,)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(d, ignore_errors=True)


def test_identity_cannot_be_spoofed(secured):
    async def run():
        c = await asyncpg.connect(
            host=secured.host, port=secured.port, user="mallory", password=MALLORY_PW,
            database="floe", server_settings={"floe.superuser": "on", "application_name": "x"},
            statement_cache_size=0,
        )
        try:
            assert await c.fetchval("SHOW is_superuser") == "off"
            for sql in [
                "SELECT 1; FLOE SESSION 'user' 'admin' 'floe.superuser' 'on'; /*",
                "FLOE RESET", "FLOE SESSION 'user' 'admin'",
            ]:
                with pytest.raises(asyncpg.PostgresError) as e:
                    await c.execute(sql)
                assert e.value.sqlstate in ALLOWED
            await c.execute("DISCARD ALL")
            await c.execute("RESET ALL")
            assert await c.fetchval("SHOW is_superuser") == "off"
            assert await c.fetchval("SHOW session_authorization") == "mallory"
            with pytest.raises(asyncpg.PostgresError) as e:
                await c.execute("CALL floe_remove_orphan_files('s.t', 0)")
            assert e.value.sqlstate == "42501"
        finally:
            await c.close()
        a = await asyncpg.connect(host=secured.host, port=secured.port, user="admin",
                                  password=ADMIN_PW, database="floe")
        try:
            assert await a.fetchval("SHOW is_superuser") == "on"
        finally:
            await a.close()

    asyncio.run(run())


def test_pg_stat_activity_hides_other_roles_queries(secured):
    with psycopg.connect(secured.dsn(user="admin", password=ADMIN_PW), autocommit=True) as a, \
            psycopg.connect(secured.dsn(user="mallory", password=MALLORY_PW), autocommit=True) as m:
        a.execute("SELECT 'admin secret query'")
        rows = m.execute(
            "SELECT usename, query, client_addr, state FROM pg_stat_activity ORDER BY usename"
        ).fetchall()
        admin_rows = [r for r in rows if r[0] == "admin"]
        assert admin_rows and all(r[1] == "<insufficient privilege>" for r in admin_rows)
        assert all(r[2] is None and r[3] is None for r in admin_rows)
        own = [r for r in rows if r[0] == "mallory"]
        assert own and "pg_stat_activity" in own[0][1]
        seen = a.execute("SELECT query FROM pg_stat_activity WHERE usename = 'mallory'").fetchall()
        assert seen and seen[0][0] != "<insufficient privilege>"


def test_registrations_outside_the_warehouse_are_refused(secured):
    outside = pathlib.Path(tempfile.mkdtemp(prefix="floe-sec-outside-"))
    victim = outside / "data" / "keep.txt"
    victim.parent.mkdir(parents=True)
    victim.write_text("keep")
    try:
        with psycopg.connect(secured.dsn(user="admin", password=ADMIN_PW), autocommit=True) as c:
            c.execute("CREATE SCHEMA IF NOT EXISTS sec")
            c.execute("CREATE TABLE sec.t AS SELECT 1 AS a")
            wh = pathlib.Path(secured.data_dir.name) / "warehouse"
            metas = sorted(wh.rglob("*.metadata.json"), key=lambda p: p.stat().st_mtime)
            assert metas
            meta = json.loads(metas[-1].read_text())
            meta["location"] = f"file://{outside}"
            evil = wh / "evil.metadata.json"
            evil.write_text(json.dumps(meta))
            with pytest.raises(psycopg.Error) as e:
                c.execute(f"CALL floe_register_iceberg('sec.evil', '{evil}')")
            assert e.value.sqlstate == "42501"
            # A symlink inside the warehouse to a directory outside it.
            link = wh / "link"
            link.symlink_to(outside)
            with pytest.raises(psycopg.Error) as e:
                c.execute(f"CALL floe_register_parquet('sec.p', '{link}/data/')")
            assert e.value.sqlstate == "42501"
            # Object-store locations must be under the warehouse or allowed prefixes.
            with pytest.raises(psycopg.Error) as e:
                c.execute("CALL floe_register_parquet('sec.s3', 's3://any-bucket/x.parquet')")
            assert e.value.sqlstate == "42501"
            c.execute("CALL floe_remove_orphan_files('sec.t', 0)")
        assert victim.read_text() == "keep"
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def limited_server():
    return Server(user_config(
        "[router]\nmax_connections = 8\nauthentication_timeout = 1\n"
        "max_login_failures = 3\nmax_message_bytes = 1048576\n"
    ))


def test_limits_like_postgres():
    s = limited_server()
    try:
        dsn = s.dsn(user="mallory", password=MALLORY_PW)
        # authentication_timeout: a silent connection is closed.
        sock = socket.create_connection((s.host, s.port))
        sock.settimeout(5)
        start = time.time()
        assert sock.recv(1) == b""
        assert time.time() - start < 4
        sock.close()
        # max_connections: the ninth gets 53300.
        conns = [psycopg.connect(dsn) for _ in range(8)]
        with pytest.raises(psycopg.OperationalError) as e:
            psycopg.connect(dsn)
        assert "too many clients" in str(e.value)
        for c in conns:
            c.close()
        time.sleep(1)
        # A message over max_message_bytes ends that session, not the server.
        with psycopg.connect(dsn) as c:
            with pytest.raises(psycopg.Error):
                c.execute("SELECT '" + "x" * 2_000_000 + "'")
        with psycopg.connect(dsn) as c:
            assert c.execute("SELECT 1").fetchone() == (1,)
        # Failed logins: after three, this address is refused even with the right password.
        for _ in range(3):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(s.dsn(user="mallory", password="wrong"))
        with pytest.raises(psycopg.OperationalError) as e:
            psycopg.connect(dsn)
        assert "too many failed" in str(e.value)
    finally:
        s.stop()


def test_sessions_beyond_a_workers_limit_get_53300():
    s = Server(user_config("[workers]\ncount = 1\nmax_sessions = 3\n"))
    try:
        dsn = s.dsn(user="mallory", password=MALLORY_PW)
        held = [psycopg.connect(dsn) for _ in range(3)]
        start = time.time()
        with pytest.raises(psycopg.OperationalError) as e:
            psycopg.connect(dsn, connect_timeout=30)
        assert "too many clients" in str(e.value)
        assert e.value.sqlstate in (None, "53300")
        assert time.time() - start < 20, "a bounded wait, not forever"
        held.pop().close()
        with psycopg.connect(dsn) as c:  # room again once one leaves
            assert c.execute("SELECT 1").fetchone() == (1,)
        for c in held:
            c.close()
    finally:
        s.stop()
    # A worker reached directly refuses sessions beyond its limit and reserve.
    data = tempfile.mkdtemp(prefix="floe-sec-maxsess-")
    cfg = pathlib.Path(data) / "floe.toml"
    cfg.write_text("[workers]\nmax_sessions = 2\n")
    proc = subprocess.Popen(
        [floe_binary(), "worker", "--listen", "127.0.0.1:0", "--data-dir", data,
         "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "FLOE_WORKERS__TOKEN": "sec-token"},
    )
    try:
        port = int(proc.stdout.readline().rsplit(":", 1)[1])
        dsn = f"host=127.0.0.1 port={port} user=floe dbname=floe password=sec-token"
        held = []
        with pytest.raises(psycopg.OperationalError) as e:
            for _ in range(50):
                held.append(psycopg.connect(dsn))
        assert "too many clients" in str(e.value)
        assert 2 <= len(held) <= 20
        for c in held:
            c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)


def test_five_hundred_concurrent_sessions(server):
    async def run():
        conns = await asyncio.gather(*[
            asyncpg.connect(host=server.host, port=server.port, user="floe", database="floe")
            for _ in range(500)
        ])
        try:
            got = await asyncio.gather(*[c.fetchval("SELECT $1::int + 1", i) for i, c in enumerate(conns)])
            assert got == [i + 1 for i in range(500)]
        finally:
            await asyncio.gather(*[c.close() for c in conns])

    asyncio.run(run())


def test_deep_statements_get_54001_and_the_server_lives(server):
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        for sql in [
            "SELECT " + "+".join(["1"] * 200_000),
            "SELECT 1 WHERE " + " OR ".join(["true"] * 50_000),
            "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        ]:
            with pytest.raises(psycopg.Error) as e:
                c.execute(sql)
            assert e.value.sqlstate == "54001"
        assert c.execute("SELECT 1").fetchone() == (1,)
