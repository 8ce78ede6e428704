"""pgjdbc and node-postgres, run as their own programs against the shared server."""

import os
import pathlib
import subprocess

from jdbc import run_jdbc_conformance

HERE = pathlib.Path(__file__).resolve().parent.parent


def test_pgjdbc(server):
    run_jdbc_conformance(f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe")


def test_node_postgres(server):
    env = dict(os.environ, FLOE_PORT=str(server.port))
    r = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HERE / "node" / "pg.test.js")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE / "node",
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
