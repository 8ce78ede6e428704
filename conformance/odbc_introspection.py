"""psqlODBC's catalog functions through pyodbc over the differential fixture
(differential/fixture.sql), with the driver's default settings: what ODBC tools
(Power BI, Excel, Tableau) call before they show a table. Used by
test_odbc.py to compare Floe with PostgreSQL 15, and by
scripts/collect-client-sql to collect the SQL the driver sends."""

import pyodbc

CALLS = [
    ("tables", lambda c: c.tables(schema="fx")),
    ("tables TABLE", lambda c: c.tables(schema="fx", tableType="TABLE")),
    ("tables VIEW", lambda c: c.tables(schema="fx", tableType="VIEW")),
    ("columns", lambda c: c.columns(schema="fx", table="orders")),
    ("columns all", lambda c: c.columns(schema="fx")),
    ("primaryKeys", lambda c: c.primaryKeys("orders", schema="fx")),
    ("foreignKeys", lambda c: c.foreignKeys(table="orders", schema="fx")),
    ("foreignKeys referenced", lambda c: c.foreignKeys(foreignTable="orders", foreignSchema="fx")),
    ("statistics", lambda c: c.statistics("orders", schema="fx")),
    ("specialColumns", lambda c: c.rowIdColumns("orders", schema="fx")),
    ("rowVerColumns", lambda c: c.rowVerColumns("orders", schema="fx")),
    ("procedures", lambda c: c.procedures(schema="fx")),
    ("procedureColumns", lambda c: c.procedureColumns(schema="fx")),
    ("getTypeInfo", lambda c: c.getTypeInfo()),
    ("query orders", lambda c: c.execute("SELECT id, amount, placed, note FROM fx.orders ORDER BY id")),
    ("query with a parameter", lambda c: c.execute(
        "SELECT id, note FROM fx.orders WHERE customer_id = ? ORDER BY id", 1)),
    ("transaction with parameters", lambda c: c.execute(
        "SELECT count(*) FROM fx.orders WHERE amount > ?", 10)),
]


def connection_string(host, port, user, database="postgres"):
    return (f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};"
            f"Database={database};Uid={user};Pwd=;")


def run(connstr, marker=None):
    """Each call's (column names, rows as text) or ("error", SQLSTATE), by name.
    With `marker`, each call is preceded by `SELECT 'marker', 'call'`."""
    out = {}
    conn = pyodbc.connect(connstr, autocommit=False)
    try:
        for name, call in CALLS:
            cur = conn.cursor()
            if marker:
                cur.execute(f"SELECT '{marker}', '{name}'").fetchall()
            try:
                result = call(cur)
                names = [d[0] for d in result.description] if result.description else None
                rows = [tuple(None if v is None else str(v) for v in row)
                        for row in result.fetchall()] if names else None
                out[name] = (names, rows)
            except pyodbc.Error as e:
                out[name] = ("error", e.args[0] if e.args else "?")
            cur.close()
        conn.commit()
    finally:
        conn.close()
    return out
