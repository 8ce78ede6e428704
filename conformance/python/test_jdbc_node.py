"""pgjdbc and node-postgres, run as their own programs against the shared server."""

import os
import pathlib
import subprocess

HERE = pathlib.Path(__file__).resolve().parent.parent
JDBC_JAR = os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar")


def test_pgjdbc(server):
    url = f"jdbc:postgresql://{server.host}:{server.port}/floe?user=floe"
    r = subprocess.run(
        ["java", "-cp", JDBC_JAR, str(HERE / "java" / "JdbcConformance.java"), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "jdbc ok" in r.stdout


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
