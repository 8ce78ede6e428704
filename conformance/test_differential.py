"""The differential suite: the SQL real clients send (collected by running
them, see scripts/collect-client-sql, into differential/corpus.jsonl), run on
Floe and on a real PostgreSQL 15 over the same fixture objects, compared on
success, SQLSTATE, column names, column types and rows (rows sorted; columns
holding OIDs, which each server assigns, compared on whether they are NULL;
date and time values of statements that read the clock, on their type and
UTC offset).

Each statement has a level: `same` (everything equal), `shape` (success or
SQLSTATE, column names and row count equal; types or values differ) or
`different`. differential/levels.txt records each statement's level; none may
fall below it. FLOE_COMPAT_REPORT=1 also rewrites docs/compatibility.md and
levels.txt from this run (scripts/compatibility-report)."""

import json
import os
import pathlib
import re

import psycopg
import pytest

from conftest import Server

HERE = pathlib.Path(__file__).resolve().parent / "differential"
DOCS = HERE.parent.parent / "docs" / "compatibility.md"

# Types whose values each server assigns (OIDs and their aliases).
OID_TYPES = {26, 2202, 2205, 2206, 3734, 4089, 4096, 24, 28, 29}


def corpus():
    with open(HERE / "corpus.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def setup(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP SCHEMA IF EXISTS fx CASCADE")
        for stmt in (HERE / "fixture.sql").read_text().split(";\n"):
            if stmt.strip():
                c.execute(stmt)
        return {rel: str(c.execute(f"SELECT '{rel}'::regclass::oid").fetchone()[0])
                for rel in ("fx.orders", "fx.customers", "fx.big_orders")}


# Functions reading the clock: no two runs give the same value.
CLOCK = re.compile(r"\b(?:now\s*\(|(?:current_timestamp|clock_timestamp|statement_timestamp|"
                   r"transaction_timestamp|localtimestamp|current_time)\b)", re.IGNORECASE)
# Date and time types, whose values a clock reading gives.
TIME_TYPES = {1082, 1083, 1114, 1184, 1266}


def outcome(conn, sql):
    """What a client sees: ('ok', names, types, rows) or ('error', sqlstate).
    A statement that reads the clock has its date and time values compared on
    their type and UTC offset (the rows are deterministic but for those)."""
    try:
        cur = conn.execute(sql.replace("%", "%%"))
    except psycopg.Error as e:
        return ("error", e.sqlstate)
    if cur.description is None:
        return ("ok", None, None, None)
    types = [d.type_code for d in cur.description]
    clock = CLOCK.search(sql) is not None

    def value(v, t):
        if t in OID_TYPES:
            return v is None
        if clock and t in TIME_TYPES and v is not None:
            offset = v.utcoffset() if hasattr(v, "utcoffset") else None
            return f"{type(v).__name__} at {offset}"
        return repr(v)

    rows = [tuple(value(v, t) for v, t in zip(row, types)) for row in cur.fetchall()]
    return ("ok", [d.name for d in cur.description], types, sorted(rows))


def difference(want, got):
    """Why two outcomes differ, in a few words; None when they are the same."""
    if want == got:
        return None
    if want[0] != got[0]:
        return (f"PostgreSQL succeeds, Floe fails with {got[1]}" if want[0] == "ok"
                else f"PostgreSQL fails with {want[1]}, Floe succeeds")
    if want[0] == "error":
        return f"SQLSTATE {got[1]} where PostgreSQL gives {want[1]}"
    if want[1] != got[1]:
        return f"column names {got[1]} where PostgreSQL gives {want[1]}"
    if want[2] != got[2]:
        diff = [f"{n}: {g} not {w}" for n, w, g in zip(want[1], want[2], got[2]) if w != g]
        return "column types differ (" + "; ".join(diff[:4]) + ")"
    if len(want[3]) != len(got[3]):
        return f"{len(got[3])} rows where PostgreSQL gives {len(want[3])}"
    return "row values differ"


LEVELS = ["different", "shape", "same"]


def level(want, got):
    if want == got:
        return "same"
    if want[0] == got[0] == "ok" and want[1] == got[1] and len(want[3] or []) == len(got[3] or []):
        return "shape"
    return "different"


@pytest.fixture(scope="module")
def servers(postgres):
    """A Floe server and a PostgreSQL database of their own: nothing other
    suites create shows up in the answers."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS differential")
        c.execute("CREATE DATABASE differential")
    floe = Server()
    yield postgres.dsn(dbname="differential"), floe.dsn()
    floe.stop()


def run_both(pg_dsn, floe_dsn):
    pg_oids, floe_oids = setup(pg_dsn), setup(floe_dsn)
    results = []
    with psycopg.connect(pg_dsn, autocommit=True) as pg, \
            psycopg.connect(floe_dsn, autocommit=True) as floe:
        for n, entry in enumerate(corpus(), 1):
            def text(oids):
                return re.sub(r"\{\{oid:([\w.]+)\}\}", lambda m: oids[m.group(1)], entry["sql"])
            want = outcome(pg, text(pg_oids))
            got = outcome(floe, text(floe_oids))
            results.append((n, entry, difference(want, got), level(want, got)))
    return results


def write_report(results):
    same = [r for r in results if r[2] is None]
    lines = [
        "# Compatibility with PostgreSQL 15",
        "",
        "Generated by `scripts/compatibility-report` from the differential suite",
        "(`conformance/test_differential.py`): the SQL each client sends, collected by",
        "running the client against PostgreSQL 15 (`scripts/collect-client-sql`), run on",
        "Floe and on PostgreSQL 15 over the same objects",
        "(`conformance/differential/fixture.sql`) and compared on success, SQLSTATE,",
        "column names, column types and rows (OID values, which each server assigns,",
        "compared on being NULL or not; date and time values of statements that read",
        "the clock, on their type and UTC offset).",
        "",
        f"**{len(same)} of {len(results)} statements are the same "
        f"({100 * len(same) / len(results):.1f}%); "
        f"{sum(r[3] == 'shape' for r in results)} more have the same shape (success, column "
        "names and row count) with different column types or values.**",
        "",
        "| client | statements | same |",
        "|---|---|---|",
    ]
    clients = sorted({r[1]["client"] for r in results})
    for client in clients:
        mine = [r for r in results if r[1]["client"] == client]
        lines.append(f"| {client} | {len(mine)} | {sum(r[2] is None for r in mine)} |")
    for client in clients:
        lines += ["", f"## {client}", "", "| # | source | first line | result |", "|---|---|---|---|"]
        for n, entry, why, _ in results:
            if entry["client"] != client:
                continue
            first = entry["sql"].splitlines()[0][:60].replace("|", "\\|")
            source = entry["source"].replace("|", "\\|")
            verdict = "same" if why is None else "different: " + why.replace("|", "\\|")
            lines.append(f"| {n} | `{source}` | `{first}` | {verdict} |")
    DOCS.write_text("\n".join(lines) + "\n")
    (HERE / "levels.txt").write_text(
        "".join(f"{r[0]}\t{r[3]}\t{r[1]['client']}\t{r[1]['source']}\n" for r in results))


def test_client_sql_is_answered_as_postgres_answers_it(servers):
    results = run_both(*servers)
    if os.environ.get("FLOE_COMPAT_REPORT") == "1":
        write_report(results)
    recorded = [line.split("\t") for line in (HERE / "levels.txt").read_text().splitlines()]
    assert len(recorded) == len(results), "levels.txt is out of step with the corpus"
    by_number = {r[0]: r for r in results}
    regressed = []
    for n, was, *_ in recorded:
        _, entry, why, now = by_number[int(n)]
        if LEVELS.index(now) < LEVELS.index(was):
            regressed.append(f"#{n} {entry['source']}: was {was}, now {now}: {why}")
    assert not regressed, "statements answered worse than before:\n" + "\n".join(regressed)
