"""asyncpg (binary everywhere, prepared statements) against Floe."""

import asyncio
import datetime
import decimal
import uuid

import asyncpg
import pytest


def run(coro):
    return asyncio.run(coro)


def test_types_binary(server):
    async def go():
        conn = await asyncpg.connect(host=server.host, port=server.port, user="floe", database="floe")
        try:
            row = await conn.fetchrow(
                "SELECT true, 2::SMALLINT, 3::INTEGER, 4::BIGINT, 1.5::REAL, 2.25::DOUBLE, "
                "12.30::DECIMAL(10,2), 'txt', unhex('beef'), DATE '2024-02-29', "
                "TIMESTAMP '2024-02-29 12:34:56.5', TIMESTAMPTZ '2024-02-29 12:34:56+00', "
                "INTERVAL '1 day 02:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, "
                "NULL::VARCHAR, TIME '01:02:03', '\"x\"'::JSON"
            )
            assert list(row) == [
                True,
                2,
                3,
                4,
                1.5,
                2.25,
                decimal.Decimal("12.30"),
                "txt",
                b"\xbe\xef",
                datetime.date(2024, 2, 29),
                datetime.datetime(2024, 2, 29, 12, 34, 56, 500000),
                datetime.datetime(2024, 2, 29, 12, 34, 56, tzinfo=datetime.timezone.utc),
                datetime.timedelta(days=1, hours=2),
                uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                None,
                datetime.time(1, 2, 3),
                '"x"',
            ]
        finally:
            await conn.close()

    run(go())


def test_prepared_statements_and_params(server):
    async def go():
        conn = await asyncpg.connect(host=server.host, port=server.port, user="floe", database="floe")
        try:
            stmt = await conn.prepare("SELECT $1::BIGINT * 2, $2::VARCHAR, $3::DATE, $4::NUMERIC(10,3)")
            for i in range(5):
                r = await stmt.fetchrow(i, f"s{i}", datetime.date(2021, 1, 1 + i), decimal.Decimal("1.5") * i)
                assert r[0] == i * 2 and r[1] == f"s{i}"
                assert r[2] == datetime.date(2021, 1, 1 + i)
                assert r[3] == decimal.Decimal("1.5") * i
            assert len(stmt.get_attributes()) == 4
            await conn.execute("CREATE TABLE apg (a INTEGER, b VARCHAR)")
            await conn.executemany("INSERT INTO apg VALUES ($1, $2)", [(i, str(i)) for i in range(20)])
            assert await conn.fetchval("SELECT count(*) FROM apg") == 20
            async with conn.transaction():
                await conn.execute("DELETE FROM apg WHERE a < 10")
            assert await conn.fetchval("SELECT count(*) FROM apg") == 10
            with pytest.raises(asyncpg.exceptions.UndefinedColumnError):
                await conn.fetch("SELECT nope FROM apg")
            with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
                await conn.fetch("SELECT 1 / 0")
            # Cursor-style fetching through portals inside a transaction.
            async with conn.transaction():
                seen = [r[0] async for r in conn.cursor("SELECT i FROM range(250) t(i)", prefetch=40)]
            assert seen == list(range(250))
        finally:
            await conn.close()

    run(go())
