"""Clients over TLS to the router: psycopg (require, verify-full) and pgjdbc."""

import pathlib

import psycopg
from jdbc import run_jdbc_conformance


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
    run_jdbc_conformance(f"jdbc:postgresql://127.0.0.1:{tls_server.port}/floe?user=floe&sslmode=require")
