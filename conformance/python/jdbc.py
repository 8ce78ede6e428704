"""Runs the single-file pgjdbc conformance program (conformance/java) against a URL."""

import os
import pathlib
import subprocess

PROGRAM = pathlib.Path(__file__).resolve().parent.parent / "java" / "JdbcConformance.java"
JDBC_JAR = os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar")


def run_jdbc_conformance(url):
    r = subprocess.run(
        ["java", "-cp", JDBC_JAR, str(PROGRAM), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "jdbc ok" in r.stdout
