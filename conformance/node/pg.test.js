// node-postgres against Floe; FLOE_PORT names the server.
const test = require('node:test');
const assert = require('node:assert');
const { Client } = require('pg');

// Runs `body` with a connected client, closed afterwards however it ends.
async function withClient(body) {
  const c = new Client({ host: '127.0.0.1', port: Number(process.env.FLOE_PORT), user: 'floe', database: 'floe' });
  await c.connect();
  try {
    await body(c);
  } finally {
    await c.end();
  }
}

test('types in text format', () => withClient(async (c) => {
  const r = await c.query(
    "SELECT true AS b, 3::INTEGER AS i, 4::BIGINT AS big, 2.25::DOUBLE AS f, 12.30::DECIMAL(10,2) AS n, " +
      "'txt' AS t, [1, 2, 3]::INTEGER[] AS arr, '{\"a\": 1}'::JSON AS j, NULL::INTEGER AS nul, " +
      "TIMESTAMPTZ '2024-02-29 12:34:56+00' AS ts, DATE '2024-02-29' AS d"
  );
  const row = r.rows[0];
  assert.strictEqual(row.b, true);
  assert.strictEqual(row.i, 3);
  assert.strictEqual(row.big, '4');
  assert.strictEqual(row.f, 2.25);
  assert.strictEqual(row.n, '12.30');
  assert.strictEqual(row.t, 'txt');
  assert.deepStrictEqual(row.arr, [1, 2, 3]);
  assert.deepStrictEqual(row.j, { a: 1 });
  assert.strictEqual(row.nul, null);
  assert.strictEqual(row.ts.toISOString(), '2024-02-29T12:34:56.000Z');
  assert.strictEqual(r.fields[1].dataTypeID, 23);
}));

test('parameters, prepared statements and errors', () => withClient(async (c) => {
  const r = await c.query('SELECT $1::INTEGER + 1 AS x, $2::VARCHAR AS y', [41, 'hi']);
  assert.deepStrictEqual(r.rows[0], { x: 42, y: 'hi' });
  for (let i = 0; i < 3; i++) {
    const p = await c.query({ name: 'double', text: 'SELECT $1::BIGINT * 2 AS v', values: [i] });
    assert.strictEqual(p.rows[0].v, String(i * 2));
  }
  await c.query('CREATE TABLE node_t (a INTEGER)');
  const ins = await c.query('INSERT INTO node_t VALUES (1), (2), (3)');
  assert.strictEqual(ins.rowCount, 3);
  assert.strictEqual(ins.command, 'INSERT');
  await assert.rejects(c.query('SELECT 1 / 0'), (e) => e.code === '22012');
  await assert.rejects(c.query('SELECT * FROM nope'), (e) => e.code === '42P01');
  const after = await c.query('SELECT count(*)::INTEGER AS n FROM node_t');
  assert.strictEqual(after.rows[0].n, 3);
}));

test('transactions', () => withClient(async (c) => {
  await c.query('CREATE TABLE node_tx (a INTEGER)');
  await c.query('BEGIN');
  await c.query('INSERT INTO node_tx VALUES (1)');
  await c.query('ROLLBACK');
  assert.strictEqual((await c.query('SELECT count(*)::INTEGER AS n FROM node_tx')).rows[0].n, 0);
  await c.query('BEGIN');
  await assert.rejects(c.query('SELECT 1 / 0'));
  await assert.rejects(c.query('SELECT 1'), (e) => e.code === '25P02');
  await c.query('ROLLBACK');
}));
