"""Starts a real Floe server for the conformance suite and hands its port to the
tests, and a real PostgreSQL 15 for the tests that compare the two."""

import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def floe_binary() -> str:
    explicit = os.environ.get("FLOE_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(pathlib.Path(target) / "release" / "floe")


def conninfo(defaults, extra):
    """A libpq connection string: `defaults` overridden by `extra`."""
    return " ".join(f"{k}={v}" for k, v in {**defaults, **extra}.items())


def stop_process(proc):
    """Asks a server to stop, killing it after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


class Server:
    def __init__(self, config_text=None):
        self.config_text = config_text
        self.data_dir = tempfile.TemporaryDirectory(prefix="floe-conformance-")
        args = [floe_binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir.name]
        if config_text is not None:
            config = pathlib.Path(self.data_dir.name) / "floe.toml"
            config.write_text(config_text)
            args += ["--config", str(config)]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        m = None
        line = ""
        for _ in range(20):
            line = self.proc.stdout.readline()
            m = re.match(r"floe listening on 127\.0\.0\.1:(\d+)", line)
            if m or not line:
                break
        if not m:
            self.proc.kill()
            raise RuntimeError(f"floe did not start: {line!r} {self.log}")
        self.port = int(m.group(1))
        self.host = "127.0.0.1"

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def dsn(self, **extra):
        return conninfo({"host": self.host, "port": self.port, "user": "floe", "dbname": "floe"}, extra)

    def stop(self):
        stop_process(self.proc)
        self.data_dir.cleanup()


class LakeServer:
    """A server whose lake is a SQLite catalog and a local warehouse in a temporary
    directory that PyIceberg opens too (`catalog`), with no metadata caching."""

    def __init__(self, prefix, extra_config=""):
        from pyiceberg.catalog.sql import SqlCatalog

        self.root = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
        self.catalog = SqlCatalog(
            "floe",
            uri=f"sqlite:///{self.root}/catalog.db",
            warehouse=f"file://{self.root}/warehouse",
        )
        self.server = Server(
            f'[catalog]\nuri = "sqlite:{self.root}/catalog.db"\n'
            f'warehouse = "file://{self.root}/warehouse"\n'
            'refresh_ms = 0\n[admin]\nlisten = ""\n' + extra_config
        )

    def stop(self):
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tls_server():
    """A server with a generated development certificate and a SCRAM user."""
    s = Server('[tls]\nself_signed = true\n[admin]\nlisten = ""\n')
    yield s
    s.stop()


class Postgres:
    """A real PostgreSQL 15 (the Debian package) on a private port, in a
    throwaway data directory, for comparing Floe with."""

    BIN = pathlib.Path("/usr/lib/postgresql/15/bin")

    def __init__(self, settings=()):
        self.root = tempfile.mkdtemp(prefix="floe-pg15-")
        run_as = []
        if os.geteuid() == 0:  # the server refuses to run as root
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.root, "data")
        subprocess.run(
            run_as + [str(self.BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8", "--locale", "C"],
            check=True, capture_output=True,
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host = "127.0.0.1"
        self.proc = subprocess.Popen(
            run_as + [str(self.BIN / "postgres"), "-D", data, "-p", str(self.port),
                      "-k", self.root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
            + [arg for setting in settings for arg in ("-c", setting)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                psycopg.connect(self.dsn(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("PostgreSQL 15 did not start")
                time.sleep(0.2)

    def dsn(self, **extra):
        return conninfo(
            {"host": self.host, "port": self.port, "user": "postgres", "dbname": "postgres"}, extra
        )

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()


def script_outcomes(dsn, setup, script):
    """Runs `setup`, then each statement of `script` on one autocommit
    connection: (statement, tag or SQLSTATE, column names, rows) for each, to
    compare with what PostgreSQL gives for the same script."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as c:
        for sql in setup:
            c.execute(sql)
        for sql in script:
            cur = c.cursor()
            try:
                cur.execute(sql)
                rows = cur.fetchall() if cur.description else None
                names = [d.name for d in cur.description] if cur.description else None
                out.append((sql, cur.statusmessage, names, rows))
            except psycopg.Error as e:
                out.append((sql, e.sqlstate, None, None))
    return out


def run_node_test(server, script):
    """Runs node-postgres test file `script` (under conformance/node) against
    `server`; fails with its output when it does."""
    here = pathlib.Path(__file__).resolve().parent / "node"
    env = dict(os.environ, FLOE_PORT=str(server.port))
    r = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(here / script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=here,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def fails(conn, sql, error):
    """Runs `sql` on `conn` and checks it fails with `error` (a psycopg error class)."""
    with pytest.raises(error):
        conn.execute(sql)


def lake_with(prefix, *setup):
    """A module's lake server, its lake set up by the `setup` statements
    (autocommit); yields (server, catalog, root) and stops it afterwards."""
    lake = LakeServer(prefix)
    with psycopg.connect(lake.server.dsn(), autocommit=True) as conn:
        for sql in setup:
            conn.execute(sql)
    yield lake.server, lake.catalog, lake.root
    lake.stop()
