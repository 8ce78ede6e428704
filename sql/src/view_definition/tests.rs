//! Definitions compared with what PostgreSQL 15's `pg_get_viewdef` gives for
//! the same views over the same tables (the expected text was taken from
//! PostgreSQL 15, both forms).

use super::types::{self as t, PgType};
use super::*;

struct Fixture;

fn numeric(p: i32, s: i32) -> PgType {
    PgType {
        oid: t::NUMERIC,
        typmod: ((p << 16) | s) + 4,
    }
}

impl ViewCatalog for Fixture {
    fn relation(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Option<(String, Vec<(String, PgType)>)> {
        let of = PgType::of;
        if schema == Some("insp") && name == "orders" {
            let cols = [
                ("id", of(t::INT8)),
                ("customer", of(t::TEXT)),
                ("amount", numeric(10, 2)),
                ("paid", of(t::BOOL)),
                ("placed", of(t::DATE)),
                ("at", of(t::TIMESTAMP)),
                ("score", of(t::FLOAT8)),
                ("qty", of(t::INT4)),
                (
                    "code",
                    PgType {
                        oid: t::VARCHAR,
                        typmod: 12,
                    },
                ),
            ];
            return Some((
                "insp".into(),
                cols.into_iter()
                    .map(|(n, ty)| (n.to_string(), ty))
                    .collect(),
            ));
        }
        if schema != Some("fx") {
            return None;
        }
        let cols: Vec<(&str, PgType)> = match name {
            "t" => vec![
                ("i", of(t::INT4)),
                ("b", of(t::INT8)),
                ("s", of(t::INT2)),
                ("n", of(t::NUMERIC)),
                ("n2", numeric(10, 2)),
                ("f", of(t::FLOAT8)),
                ("r", of(t::FLOAT4)),
                ("t", of(t::TEXT)),
                (
                    "v",
                    PgType {
                        oid: t::VARCHAR,
                        typmod: 24,
                    },
                ),
                (
                    "c",
                    PgType {
                        oid: t::BPCHAR,
                        typmod: 7,
                    },
                ),
                ("d", of(t::DATE)),
                ("ts", of(t::TIMESTAMP)),
                ("tz", of(t::TIMESTAMPTZ)),
                ("ok", of(t::BOOL)),
            ],
            "orders" => vec![
                ("id", of(t::INT8)),
                ("customer_id", of(t::INT4)),
                ("amount", numeric(10, 2)),
                ("placed", of(t::TIMESTAMP)),
                ("note", of(t::TEXT)),
            ],
            "customers" => vec![
                ("id", of(t::INT4)),
                ("name", of(t::TEXT)),
                (
                    "email",
                    PgType {
                        oid: t::VARCHAR,
                        typmod: 204,
                    },
                ),
                ("created", of(t::DATE)),
            ],
            _ => return None,
        };
        Some((
            "fx".into(),
            cols.into_iter()
                .map(|(n, ty)| (n.to_string(), ty))
                .collect(),
        ))
    }

    fn relation_name(&self, schema: &str, name: &str) -> String {
        format!("{schema}.{name}")
    }

    fn quote_ident(&self, name: &str) -> String {
        crate::quote::ident_as_postgres(name, |_| false)
    }
}

/// (the view's query, `pg_get_viewdef(v)`, `pg_get_viewdef(v, true)`).
const CASES: &[(&str, &str, &str)] = &[
    (
        r#"SELECT id, amount FROM fx.orders WHERE amount > 100"#,
        r#" SELECT orders.id,
    orders.amount
   FROM fx.orders
  WHERE (orders.amount > (100)::numeric);"#,
        r#" SELECT orders.id,
    orders.amount
   FROM fx.orders
  WHERE orders.amount > 100::numeric;"#,
    ),
    (
        r#"select * from fx.t"#,
        r#" SELECT t.i,
    t.b,
    t.s,
    t.n,
    t.n2,
    t.f,
    t.r,
    t.t,
    t.v,
    t.c,
    t.d,
    t.ts,
    t.tz,
    t.ok
   FROM fx.t;"#,
        r#" SELECT t.i,
    t.b,
    t.s,
    t.n,
    t.n2,
    t.f,
    t.r,
    t.t,
    t.v,
    t.c,
    t.d,
    t.ts,
    t.tz,
    t.ok
   FROM fx.t;"#,
    ),
    (
        r#"select i, b + 1 as b1, i * 2 as i2, n + 1 as n1, f > 1 as f1, r < 2.5 as r1, t || 'x' as tx, v = 'a' as va, d > '2024-01-01' as d1, ts >= '2024-01-01 00:00' as ts1, s + 1 as s1, n2 * 2 as m, f + i as fi from fx.t where ok and not (i is null) or s between 1 and 5"#,
        r#" SELECT t.i,
    (t.b + 1) AS b1,
    (t.i * 2) AS i2,
    (t.n + (1)::numeric) AS n1,
    (t.f > (1)::double precision) AS f1,
    (t.r < (2.5)::double precision) AS r1,
    (t.t || 'x'::text) AS tx,
    ((t.v)::text = 'a'::text) AS va,
    (t.d > '2024-01-01'::date) AS d1,
    (t.ts >= '2024-01-01 00:00:00'::timestamp without time zone) AS ts1,
    (t.s + 1) AS s1,
    (t.n2 * (2)::numeric) AS m,
    (t.f + (t.i)::double precision) AS fi
   FROM fx.t
  WHERE ((t.ok AND (NOT (t.i IS NULL))) OR ((t.s >= 1) AND (t.s <= 5)));"#,
        r#" SELECT t.i,
    t.b + 1 AS b1,
    t.i * 2 AS i2,
    t.n + 1::numeric AS n1,
    t.f > 1::double precision AS f1,
    t.r < 2.5::double precision AS r1,
    t.t || 'x'::text AS tx,
    t.v::text = 'a'::text AS va,
    t.d > '2024-01-01'::date AS d1,
    t.ts >= '2024-01-01 00:00:00'::timestamp without time zone AS ts1,
    t.s + 1 AS s1,
    t.n2 * 2::numeric AS m,
    t.f + t.i::double precision AS fi
   FROM fx.t
  WHERE t.ok AND NOT t.i IS NULL OR t.s >= 1 AND t.s <= 5;"#,
    ),
    (
        r#"select i, count(*), sum(i) as si, sum(b), avg(n2), min(t), max(d) from fx.t group by i having count(*) > 1 order by 2 desc, i limit 10 offset 2"#,
        r#" SELECT t.i,
    count(*) AS count,
    sum(t.i) AS si,
    sum(t.b) AS sum,
    avg(t.n2) AS avg,
    min(t.t) AS min,
    max(t.d) AS max
   FROM fx.t
  GROUP BY t.i
 HAVING (count(*) > 1)
  ORDER BY (count(*)) DESC, t.i
 OFFSET 2
 LIMIT 10;"#,
        r#" SELECT t.i,
    count(*) AS count,
    sum(t.i) AS si,
    sum(t.b) AS sum,
    avg(t.n2) AS avg,
    min(t.t) AS min,
    max(t.d) AS max
   FROM fx.t
  GROUP BY t.i
 HAVING count(*) > 1
  ORDER BY (count(*)) DESC, t.i
 OFFSET 2
 LIMIT 10;"#,
    ),
    (
        r#"select x.i, y.t from fx.t x left join fx.t y on x.i = y.i and y.ok where x.i in (1, 2, 3) and y.t in ('a', 'b') and x.t like '%a' and x.t ilike 'b%'"#,
        r#" SELECT x.i,
    y.t
   FROM (fx.t x
     LEFT JOIN fx.t y ON (((x.i = y.i) AND y.ok)))
  WHERE ((x.i = ANY (ARRAY[1, 2, 3])) AND (y.t = ANY (ARRAY['a'::text, 'b'::text])) AND (x.t ~~ '%a'::text) AND (x.t ~~* 'b%'::text));"#,
        r#" SELECT x.i,
    y.t
   FROM fx.t x
     LEFT JOIN fx.t y ON x.i = y.i AND y.ok
  WHERE (x.i = ANY (ARRAY[1, 2, 3])) AND (y.t = ANY (ARRAY['a'::text, 'b'::text])) AND x.t ~~ '%a'::text AND x.t ~~* 'b%'::text;"#,
    ),
    (
        r#"select distinct coalesce(t, 'none') as c, lower(t), upper(v), case when i > 0 then 'pos' when i < 0 then 'neg' else 'zero' end as sign, -i as neg, i::text, cast(n as int) as ni, 'lit', 42 as ft, 1.5 as onef, true as tr, null as nu, v::text as vt, 5000000000 as big, -3 as m3, -2.5 as m25 from fx.t"#,
        r#" SELECT DISTINCT COALESCE(t.t, 'none'::text) AS c,
    lower(t.t) AS lower,
    upper((t.v)::text) AS upper,
        CASE
            WHEN (t.i > 0) THEN 'pos'::text
            WHEN (t.i < 0) THEN 'neg'::text
            ELSE 'zero'::text
        END AS sign,
    (- t.i) AS neg,
    (t.i)::text AS i,
    (t.n)::integer AS ni,
    'lit'::text AS "?column?",
    42 AS ft,
    1.5 AS onef,
    true AS tr,
    NULL::text AS nu,
    (t.v)::text AS vt,
    '5000000000'::bigint AS big,
    '-3'::integer AS m3,
    '-2.5'::numeric AS m25
   FROM fx.t;"#,
        r#" SELECT DISTINCT COALESCE(t.t, 'none'::text) AS c,
    lower(t.t) AS lower,
    upper(t.v::text) AS upper,
        CASE
            WHEN t.i > 0 THEN 'pos'::text
            WHEN t.i < 0 THEN 'neg'::text
            ELSE 'zero'::text
        END AS sign,
    - t.i AS neg,
    t.i::text AS i,
    t.n::integer AS ni,
    'lit'::text AS "?column?",
    42 AS ft,
    1.5 AS onef,
    true AS tr,
    NULL::text AS nu,
    t.v::text AS vt,
    '5000000000'::bigint AS big,
    '-3'::integer AS m3,
    '-2.5'::numeric AS m25
   FROM fx.t;"#,
    ),
    (
        r#"select a.i, b.i as j from fx.t a, fx.t b cross join fx.t c where a.i = b.i"#,
        r#" SELECT a.i,
    b.i AS j
   FROM fx.t a,
    (fx.t b
     CROSS JOIN fx.t c)
  WHERE (a.i = b.i);"#,
        r#" SELECT a.i,
    b.i AS j
   FROM fx.t a,
    fx.t b
     CROSS JOIN fx.t c
  WHERE a.i = b.i;"#,
    ),
    (
        r#"select i, (i + 1) * 2 as e1, i + 1 * 2 as e2, i - (1 - 2) as e3, i - 1 - 2 as e4, (i > 1) = (i < 5) as e5, not ok as e6 from fx.t where i <> 1 and (i = 2 or i = 3) and t is not null"#,
        r#" SELECT t.i,
    ((t.i + 1) * 2) AS e1,
    (t.i + (1 * 2)) AS e2,
    (t.i - (1 - 2)) AS e3,
    ((t.i - 1) - 2) AS e4,
    ((t.i > 1) = (t.i < 5)) AS e5,
    (NOT t.ok) AS e6
   FROM fx.t
  WHERE ((t.i <> 1) AND ((t.i = 2) OR (t.i = 3)) AND (t.t IS NOT NULL));"#,
        r#" SELECT t.i,
    (t.i + 1) * 2 AS e1,
    t.i + 1 * 2 AS e2,
    t.i - (1 - 2) AS e3,
    t.i - 1 - 2 AS e4,
    (t.i > 1) = (t.i < 5) AS e5,
    NOT t.ok AS e6
   FROM fx.t
  WHERE t.i <> 1 AND (t.i = 2 OR t.i = 3) AND t.t IS NOT NULL;"#,
    ),
    (
        r#"select i from fx.t order by i nulls first, t desc nulls last"#,
        r#" SELECT t.i
   FROM fx.t
  ORDER BY t.i NULLS FIRST, t.t DESC NULLS LAST;"#,
        r#" SELECT t.i
   FROM fx.t
  ORDER BY t.i NULLS FIRST, t.t DESC NULLS LAST;"#,
    ),
    (
        r#"select t.i, o.amount from fx.t join fx.orders o on o.id = t.b"#,
        r#" SELECT t.i,
    o.amount
   FROM (fx.t
     JOIN fx.orders o ON ((o.id = t.b)));"#,
        r#" SELECT t.i,
    o.amount
   FROM fx.t
     JOIN fx.orders o ON o.id = t.b;"#,
    ),
    (
        r#"select count(*) from fx.t where b in (1,2) and v in ('a','b') and c = 'ab' and n2 > 10 and f < 3 and r > 1"#,
        r#" SELECT count(*) AS count
   FROM fx.t
  WHERE ((t.b = ANY (ARRAY[(1)::bigint, (2)::bigint])) AND ((t.v)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])) AND (t.c = 'ab'::bpchar) AND (t.n2 > (10)::numeric) AND (t.f < (3)::double precision) AND (t.r > (1)::double precision));"#,
        r#" SELECT count(*) AS count
   FROM fx.t
  WHERE (t.b = ANY (ARRAY[1::bigint, 2::bigint])) AND (t.v::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])) AND t.c = 'ab'::bpchar AND t.n2 > 10::numeric AND t.f < 3::double precision AND t.r > 1::double precision;"#,
    ),
    (
        r#"select a.i from fx.t a join fx.t b on a.i = b.i left join fx.t c on c.i = b.i full join fx.t d on d.i = a.i where a.i in (1) and a.t not in ('x','y') and a.i not between 1 and 2 and a.v like 'x%' and a.t not like 'y' and a.c > 'a'"#,
        r#" SELECT a.i
   FROM (((fx.t a
     JOIN fx.t b ON ((a.i = b.i)))
     LEFT JOIN fx.t c ON ((c.i = b.i)))
     FULL JOIN fx.t d ON ((d.i = a.i)))
  WHERE ((a.i = 1) AND (a.t <> ALL (ARRAY['x'::text, 'y'::text])) AND ((a.i < 1) OR (a.i > 2)) AND ((a.v)::text ~~ 'x%'::text) AND (a.t !~~ 'y'::text) AND (a.c > 'a'::bpchar));"#,
        r#" SELECT a.i
   FROM fx.t a
     JOIN fx.t b ON a.i = b.i
     LEFT JOIN fx.t c ON c.i = b.i
     FULL JOIN fx.t d ON d.i = a.i
  WHERE a.i = 1 AND (a.t <> ALL (ARRAY['x'::text, 'y'::text])) AND (a.i < 1 OR a.i > 2) AND a.v::text ~~ 'x%'::text AND a.t !~~ 'y'::text AND a.c > 'a'::bpchar;"#,
    ),
    (
        r#"select i::numeric as x, (i + 1)::numeric * 2 as y, sum(i + 1) as z, count(distinct i) as k, min(v) as mv, true, 'a'::text, 42::text as ft, max(length(t)), i, '5'::int as five, i::bigint as ib from fx.t group by 1, 10 order by 1"#,
        r#" SELECT (t.i)::numeric AS x,
    (((t.i + 1))::numeric * (2)::numeric) AS y,
    sum((t.i + 1)) AS z,
    count(DISTINCT t.i) AS k,
    min((t.v)::text) AS mv,
    true AS "?column?",
    'a'::text AS text,
    (42)::text AS ft,
    max(length(t.t)) AS max,
    t.i,
    5 AS five,
    (t.i)::bigint AS ib
   FROM fx.t
  GROUP BY ((t.i)::numeric), t.i
  ORDER BY ((t.i)::numeric);"#,
        r#" SELECT t.i::numeric AS x,
    (t.i + 1)::numeric * 2::numeric AS y,
    sum(t.i + 1) AS z,
    count(DISTINCT t.i) AS k,
    min(t.v::text) AS mv,
    true AS "?column?",
    'a'::text AS text,
    42::text AS ft,
    max(length(t.t)) AS max,
    t.i,
    5 AS five,
    t.i::bigint AS ib
   FROM fx.t
  GROUP BY (t.i::numeric), t.i
  ORDER BY (t.i::numeric);"#,
    ),
    (
        r#"select i from fx.t where v = v and t = v and c = t and d < ts and n = f"#,
        r#" SELECT t.i
   FROM fx.t
  WHERE (((t.v)::text = (t.v)::text) AND (t.t = (t.v)::text) AND ((t.c)::text = t.t) AND (t.d < t.ts) AND ((t.n)::double precision = t.f));"#,
        r#" SELECT t.i
   FROM fx.t
  WHERE t.v::text = t.v::text AND t.t = t.v::text AND t.c::text = t.t AND t.d < t.ts AND t.n::double precision = t.f;"#,
    ),
    (
        r#"select o.id, c.name, o.amount * 2 as dbl from fx.orders o join fx.customers c on c.id = o.customer_id where c.name like 'A%' and o.note is not null order by 1 limit 5"#,
        r#" SELECT o.id,
    c.name,
    (o.amount * (2)::numeric) AS dbl
   FROM (fx.orders o
     JOIN fx.customers c ON ((c.id = o.customer_id)))
  WHERE ((c.name ~~ 'A%'::text) AND (o.note IS NOT NULL))
  ORDER BY o.id
 LIMIT 5;"#,
        r#" SELECT o.id,
    c.name,
    o.amount * 2::numeric AS dbl
   FROM fx.orders o
     JOIN fx.customers c ON c.id = o.customer_id
  WHERE c.name ~~ 'A%'::text AND o.note IS NOT NULL
  ORDER BY o.id
 LIMIT 5;"#,
    ),
    (
        r#"select customer_id, sum(amount) total, 'x' as lit, 1.5 as n from fx.orders group by customer_id having sum(amount) > 10"#,
        r#" SELECT orders.customer_id,
    sum(orders.amount) AS total,
    'x'::text AS lit,
    1.5 AS n
   FROM fx.orders
  GROUP BY orders.customer_id
 HAVING (sum(orders.amount) > (10)::numeric);"#,
        r#" SELECT orders.customer_id,
    sum(orders.amount) AS total,
    'x'::text AS lit,
    1.5 AS n
   FROM fx.orders
  GROUP BY orders.customer_id
 HAVING sum(orders.amount) > 10::numeric;"#,
    ),
    (
        r#"select id from fx.orders where note = 'x' or note is null order by id desc limit 3"#,
        r#" SELECT orders.id
   FROM fx.orders
  WHERE ((orders.note = 'x'::text) OR (orders.note IS NULL))
  ORDER BY orders.id DESC
 LIMIT 3;"#,
        r#" SELECT orders.id
   FROM fx.orders
  WHERE orders.note = 'x'::text OR orders.note IS NULL
  ORDER BY orders.id DESC
 LIMIT 3;"#,
    ),
    (
        r#"select c.name, count(o.id) as n from fx.customers c left join fx.orders o on o.customer_id = c.id group by c.name order by n desc"#,
        r#" SELECT c.name,
    count(o.id) AS n
   FROM (fx.customers c
     LEFT JOIN fx.orders o ON ((o.customer_id = c.id)))
  GROUP BY c.name
  ORDER BY (count(o.id)) DESC;"#,
        r#" SELECT c.name,
    count(o.id) AS n
   FROM fx.customers c
     LEFT JOIN fx.orders o ON o.customer_id = c.id
  GROUP BY c.name
  ORDER BY (count(o.id)) DESC;"#,
    ),
    (
        r#"select name from fx.customers where email like '%@x.com' and created >= '2024-01-01' and id <> 5"#,
        r#" SELECT customers.name
   FROM fx.customers
  WHERE (((customers.email)::text ~~ '%@x.com'::text) AND (customers.created >= '2024-01-01'::date) AND (customers.id <> 5));"#,
        r#" SELECT customers.name
   FROM fx.customers
  WHERE customers.email::text ~~ '%@x.com'::text AND customers.created >= '2024-01-01'::date AND customers.id <> 5;"#,
    ),
    (
        r#"select amount / 2 as half, amount % 3 as m, -amount as neg, customer_id % 2 as odd, customer_id / 2 as ci from fx.orders"#,
        r#" SELECT (orders.amount / (2)::numeric) AS half,
    (orders.amount % (3)::numeric) AS m,
    (- orders.amount) AS neg,
    (orders.customer_id % 2) AS odd,
    (orders.customer_id / 2) AS ci
   FROM fx.orders;"#,
        r#" SELECT orders.amount / 2::numeric AS half,
    orders.amount % 3::numeric AS m,
    - orders.amount AS neg,
    orders.customer_id % 2 AS odd,
    orders.customer_id / 2 AS ci
   FROM fx.orders;"#,
    ),
    (
        r#"select o.id::text || ':' || note as label, upper(email) from fx.orders o, fx.customers"#,
        r#" SELECT (((o.id)::text || ':'::text) || o.note) AS label,
    upper((customers.email)::text) AS upper
   FROM fx.orders o,
    fx.customers;"#,
        r#" SELECT (o.id::text || ':'::text) || o.note AS label,
    upper(customers.email::text) AS upper
   FROM fx.orders o,
    fx.customers;"#,
    ),
    (
        r#"select max(amount) - min(amount) as spread, avg(customer_id) from fx.orders"#,
        r#" SELECT (max(orders.amount) - min(orders.amount)) AS spread,
    avg(orders.customer_id) AS avg
   FROM fx.orders;"#,
        r#" SELECT max(orders.amount) - min(orders.amount) AS spread,
    avg(orders.customer_id) AS avg
   FROM fx.orders;"#,
    ),
    (
        r#"select distinct customer_id from fx.orders where amount between 10 and 20.5 and placed < '2024-06-01 12:30:00.25'"#,
        r#" SELECT DISTINCT orders.customer_id
   FROM fx.orders
  WHERE (((orders.amount >= (10)::numeric) AND (orders.amount <= 20.5)) AND (orders.placed < '2024-06-01 12:30:00.25'::timestamp without time zone));"#,
        r#" SELECT DISTINCT orders.customer_id
   FROM fx.orders
  WHERE orders.amount >= 10::numeric AND orders.amount <= 20.5 AND orders.placed < '2024-06-01 12:30:00.25'::timestamp without time zone;"#,
    ),
    (
        r#"select t.*, 1 as one from fx.t where (ok or i > 1) and not (ok and i < 0)"#,
        r#" SELECT t.i,
    t.b,
    t.s,
    t.n,
    t.n2,
    t.f,
    t.r,
    t.t,
    t.v,
    t.c,
    t.d,
    t.ts,
    t.tz,
    t.ok,
    1 AS one
   FROM fx.t
  WHERE ((t.ok OR (t.i > 1)) AND (NOT (t.ok AND (t.i < 0))));"#,
        r#" SELECT t.i,
    t.b,
    t.s,
    t.n,
    t.n2,
    t.f,
    t.r,
    t.t,
    t.v,
    t.c,
    t.d,
    t.ts,
    t.tz,
    t.ok,
    1 AS one
   FROM fx.t
  WHERE (t.ok OR t.i > 1) AND NOT (t.ok AND t.i < 0);"#,
    ),
    (
        r#"SELECT * FROM insp.orders"#,
        r#" SELECT orders.id,
    orders.customer,
    orders.amount,
    orders.paid,
    orders.placed,
    orders.at,
    orders.score,
    orders.qty,
    orders.code
   FROM insp.orders;"#,
        r#" SELECT orders.id,
    orders.customer,
    orders.amount,
    orders.paid,
    orders.placed,
    orders.at,
    orders.score,
    orders.qty,
    orders.code
   FROM insp.orders;"#,
    ),
    (
        r#"SELECT customer, count(*), sum(amount) AS total, avg(qty) FROM insp.orders WHERE paid AND placed >= '2024-01-01' GROUP BY customer HAVING sum(amount) > 10 ORDER BY 3 DESC LIMIT 10"#,
        r#" SELECT orders.customer,
    count(*) AS count,
    sum(orders.amount) AS total,
    avg(orders.qty) AS avg
   FROM insp.orders
  WHERE (orders.paid AND (orders.placed >= '2024-01-01'::date))
  GROUP BY orders.customer
 HAVING (sum(orders.amount) > (10)::numeric)
  ORDER BY (sum(orders.amount)) DESC
 LIMIT 10;"#,
        r#" SELECT orders.customer,
    count(*) AS count,
    sum(orders.amount) AS total,
    avg(orders.qty) AS avg
   FROM insp.orders
  WHERE orders.paid AND orders.placed >= '2024-01-01'::date
  GROUP BY orders.customer
 HAVING sum(orders.amount) > 10::numeric
  ORDER BY (sum(orders.amount)) DESC
 LIMIT 10;"#,
    ),
    (
        r#"SELECT o.id, o.amount * 2 AS doubled, o.score + o.qty AS s, -o.qty AS neg, o.code = 'x' AS is_x FROM insp.orders o LEFT JOIN insp.orders p ON p.id = o.id AND p.paid WHERE o.customer LIKE 'A%' AND o.qty IN (1, 2, 3) AND o.id NOT IN (7, 8) AND o.amount BETWEEN 1 AND 99.5 OR o.customer IS NULL"#,
        r#" SELECT o.id,
    (o.amount * (2)::numeric) AS doubled,
    (o.score + (o.qty)::double precision) AS s,
    (- o.qty) AS neg,
    ((o.code)::text = 'x'::text) AS is_x
   FROM (insp.orders o
     LEFT JOIN insp.orders p ON (((p.id = o.id) AND p.paid)))
  WHERE (((o.customer ~~ 'A%'::text) AND (o.qty = ANY (ARRAY[1, 2, 3])) AND (o.id <> ALL (ARRAY[(7)::bigint, (8)::bigint])) AND ((o.amount >= (1)::numeric) AND (o.amount <= 99.5))) OR (o.customer IS NULL));"#,
        r#" SELECT o.id,
    o.amount * 2::numeric AS doubled,
    o.score + o.qty::double precision AS s,
    - o.qty AS neg,
    o.code::text = 'x'::text AS is_x
   FROM insp.orders o
     LEFT JOIN insp.orders p ON p.id = o.id AND p.paid
  WHERE o.customer ~~ 'A%'::text AND (o.qty = ANY (ARRAY[1, 2, 3])) AND (o.id <> ALL (ARRAY[7::bigint, 8::bigint])) AND o.amount >= 1::numeric AND o.amount <= 99.5 OR o.customer IS NULL;"#,
    ),
    (
        r#"SELECT DISTINCT coalesce(customer, 'none') AS who, upper(code), CASE WHEN qty > 10 THEN 'many' ELSE 'few' END AS size, qty::text AS q, 1.5 AS k FROM insp.orders ORDER BY who NULLS FIRST"#,
        r#" SELECT DISTINCT COALESCE(orders.customer, 'none'::text) AS who,
    upper((orders.code)::text) AS upper,
        CASE
            WHEN (orders.qty > 10) THEN 'many'::text
            ELSE 'few'::text
        END AS size,
    (orders.qty)::text AS q,
    1.5 AS k
   FROM insp.orders
  ORDER BY COALESCE(orders.customer, 'none'::text) NULLS FIRST;"#,
        r#" SELECT DISTINCT COALESCE(orders.customer, 'none'::text) AS who,
    upper(orders.code::text) AS upper,
        CASE
            WHEN orders.qty > 10 THEN 'many'::text
            ELSE 'few'::text
        END AS size,
    orders.qty::text AS q,
    1.5 AS k
   FROM insp.orders
  ORDER BY (COALESCE(orders.customer, 'none'::text)) NULLS FIRST;"#,
    ),
];

#[test]
fn definitions_read_as_postgres_deparses_them() {
    let mut failures = Vec::new();
    for (sql, plain, pretty) in CASES {
        match view_definitions(sql, &[], &Fixture) {
            Some(d) if d.plain == *plain && d.pretty == *pretty => {}
            Some(d) => failures.push(format!(
                "{sql}\n-- got plain:\n{}\n-- want:\n{plain}\n-- got pretty:\n{}\n-- want:\n{pretty}",
                d.plain, d.pretty
            )),
            None => failures.push(format!("{sql}\n-- not analysed")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn what_is_not_analysed_is_left_as_written() {
    for sql in [
        "SELECT * FROM fx.nothing",
        "SELECT i FROM fx.t UNION SELECT i FROM fx.t",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SELECT i FROM fx.t a JOIN fx.t b USING (i)",
        "SELECT some_function(i) FROM fx.t",
        "SELECT i FROM fx.t t JOIN fx.t t ON true",
        "SELECT tz > '2024-01-01' FROM fx.t",
        "SELECT 1; SELECT 2",
    ] {
        assert_eq!(view_definitions(sql, &[], &Fixture), None, "{sql}");
    }
}

#[test]
fn the_views_own_column_names_name_the_targets() {
    // CREATE VIEW fx.named (who, total) AS SELECT customer_id, sum(amount) …
    let d = view_definitions(
        "SELECT customer_id, sum(amount) FROM fx.orders GROUP BY customer_id",
        &["who", "total"],
        &Fixture,
    )
    .expect("analysed");
    assert_eq!(
        d.plain,
        " SELECT orders.customer_id AS who,\n    sum(orders.amount) AS total\n   FROM fx.orders\n  GROUP BY orders.customer_id;"
    );
    assert_eq!(
        view_definitions("SELECT 1 AS a", &["x", "y"], &Fixture),
        None
    );
}

#[test]
fn the_routers_zoned_casts_read_as_the_casts() {
    // CREATE VIEW fx.dv AS SELECT placed::date AS day, placed::timestamptz AS at
    // FROM fx.orders, as the router passes it on.
    let d = view_definitions(
        "SELECT floe_as_date(placed) AS day, floe_as_timestamptz(placed) AS at FROM fx.orders",
        &[],
        &Fixture,
    )
    .expect("analysed");
    assert_eq!(
        d.plain,
        " SELECT (orders.placed)::date AS day,\n    (orders.placed)::timestamp with time zone AS at\n   FROM fx.orders;"
    );
    assert_eq!(
        d.pretty,
        " SELECT orders.placed::date AS day,\n    orders.placed::timestamp with time zone AS at\n   FROM fx.orders;"
    );
    let d = view_definitions(
        "SELECT floe_as_text(placed) AS t, floe_as_varchar(placed) AS v FROM fx.orders",
        &[],
        &Fixture,
    )
    .expect("analysed");
    assert_eq!(
        d.pretty,
        " SELECT orders.placed::text AS t,\n    orders.placed::character varying AS v\n   FROM fx.orders;"
    );
}
