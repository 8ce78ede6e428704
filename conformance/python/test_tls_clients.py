"""Clients over TLS to the router: psycopg (require, verify-full) and pgjdbc."""

import os
import pathlib
import subprocess

import psycopg

HERE = pathlib.Path(__file__).resolve().parent.parent
JDBC_JAR = os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar")


def test_psycopg_require_and_verify_full(tls_server):
    with psycopg.connect(tls_server.dsn(sslmode="require"), autocommit=True) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 41 + 1").fetchone()[0] == 42
    ca = pathlib.Path(tls_server.data_dir.name) / "tls" / "ca.crt"
    dsn = tls_server.dsn(host="localhost", sslmode="verify-full", sslrootcert=str(ca))
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 'verified'").fetchone()[0] == "verified"


def test_pgjdbc_over_tls(tls_server):
    url = f"jdbc:postgresql://127.0.0.1:{tls_server.port}/floe?user=floe&sslmode=require"
    r = subprocess.run(
        ["java", "-cp", JDBC_JAR, str(HERE / "java" / "JdbcConformance.java"), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "jdbc ok" in r.stdout
