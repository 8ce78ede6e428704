"""pgjdbc and node-postgres, run as their own programs against the shared server."""

from conftest import run_node_test
from jdbc import run_jdbc_conformance


def test_pgjdbc(server):
    run_jdbc_conformance(f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe")


def test_node_postgres(server):
    run_node_test(server, "pg.test.js")
