// node-postgres inserting into `public` lake tables and relying on the server
// for ids and defaults (serial, identity, DEFAULT), over a pool whose
// connections land on different workers; FLOE_PORT names the server.
const test = require('node:test');
const assert = require('node:assert');
const { Pool } = require('pg');

test('serial, identity and DEFAULT through a pool', async () => {
  const pool = new Pool({
    host: '127.0.0.1', port: Number(process.env.FLOE_PORT), user: 'floe', database: 'floe', max: 3,
  });
  try {
    await pool.query(
      'CREATE TABLE node_orders (id serial PRIMARY KEY, ref bigint GENERATED ALWAYS AS IDENTITY, ' +
        "status text NOT NULL DEFAULT 'new', qty int DEFAULT 1 CHECK (qty > 0))"
    );
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const ids = [];
    try {
      for (let round = 0; round < 4; round++) {
        for (const c of clients) {
          const r = await c.query('INSERT INTO node_orders (qty) VALUES ($1) RETURNING id, ref, status', [round + 1]);
          assert.strictEqual(r.command, 'INSERT');
          assert.strictEqual(r.rowCount, 1);
          assert.strictEqual(r.rows[0].status, 'new');
          ids.push(r.rows[0].id);
        }
      }
      // Every connection sees every row at once.
      for (const c of clients) {
        const r = await c.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, count(DISTINCT ref)::int AS r FROM node_orders');
        assert.deepStrictEqual(r.rows[0], { n: 12, d: 12, r: 12 });
      }
    } finally {
      clients.forEach((c) => c.release());
    }
    assert.strictEqual(new Set(ids).size, 12);
    const named = await pool.query({
      name: 'insert-order',
      text: 'INSERT INTO node_orders (status) VALUES ($1) RETURNING *',
      values: ['paid'],
    });
    assert.deepStrictEqual(Object.keys(named.rows[0]), ['id', 'ref', 'status', 'qty']);
    assert.strictEqual(named.rows[0].qty, 1);
    await assert.rejects(pool.query('INSERT INTO node_orders (ref) VALUES (1)'), (e) => e.code === '428C9');
    await assert.rejects(pool.query('INSERT INTO node_orders (qty) VALUES (0)'), (e) => e.code === '23514');
    await assert.rejects(pool.query('INSERT INTO node_orders (status) VALUES (NULL)'), (e) => e.code === '23502');
    const up = await pool.query("UPDATE node_orders SET status = 'done' WHERE qty = 1");
    assert.strictEqual(up.rowCount, 4);
    const del = await pool.query('DELETE FROM node_orders WHERE qty = 4');
    assert.strictEqual(del.rowCount, 3);
    await pool.query('DROP TABLE node_orders');
  } finally {
    await pool.end();
  }
});
