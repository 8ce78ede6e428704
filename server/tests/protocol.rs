//! End-to-end protocol tests: a real `floe serve` and tokio-postgres (extended
//! protocol, binary results).

mod common;

use std::time::Duration;

use common::FloeServer;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::SimpleQueryMessage;

fn text_rows(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

fn command_counts(msgs: &[SimpleQueryMessage]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect()
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// Postgres `interval` in binary form, for checking the encoding.
#[derive(Debug, PartialEq)]
struct Interval {
    micros: i64,
    days: i32,
    months: i32,
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if raw.len() != 16 {
            return Err("bad interval".into());
        }
        Ok(Interval {
            micros: i64::from_be_bytes(raw[0..8].try_into()?),
            days: i32::from_be_bytes(raw[8..12].try_into()?),
            months: i32::from_be_bytes(raw[12..16].try_into()?),
        })
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_type_round_trips_in_binary() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let row = c
        .query_one(
            "SELECT true, 1::TINYINT, 2::SMALLINT, 3::INTEGER, 4::BIGINT, 5::UTINYINT, 6::USMALLINT, 7::UINTEGER, \
             8::UBIGINT, 9::HUGEINT, 1.5::REAL, 2.25::DOUBLE, 12.30::DECIMAL(10,2), -0.0005::DECIMAL(18,4), \
             123456789012345678901234.5::DECIMAL(38,1), 'héllo'::VARCHAR, unhex('dead00'), DATE '2024-02-29', \
             TIME '12:34:56.789', TIMESTAMP '2024-02-29 12:34:56.789', TIMESTAMPTZ '2024-02-29 12:34:56.5+00', \
             INTERVAL '1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, \
             '{\"a\": [1, 2]}'::JSON, [1, NULL, 3]::INTEGER[], ['x', 'y z']::VARCHAR[], {'k': 1, 's': 'v'}, \
             'infinity'::DOUBLE, 'infinity'::DATE, 'x'::ENUM('x', 'y')",
            &[],
        )
        .await
        .expect("query");
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i16>(1), 1);
    assert_eq!(row.get::<_, i16>(2), 2);
    assert_eq!(row.get::<_, i32>(3), 3);
    assert_eq!(row.get::<_, i64>(4), 4);
    assert_eq!(row.get::<_, i16>(5), 5);
    assert_eq!(row.get::<_, i32>(6), 6);
    assert_eq!(row.get::<_, i64>(7), 7);
    assert_eq!(row.get::<_, rust_decimal::Decimal>(8).to_string(), "8");
    assert_eq!(row.get::<_, rust_decimal::Decimal>(9).to_string(), "9");
    assert_eq!(row.get::<_, f32>(10), 1.5);
    assert_eq!(row.get::<_, f64>(11), 2.25);
    assert_eq!(row.get::<_, rust_decimal::Decimal>(12).to_string(), "12.30");
    assert_eq!(
        row.get::<_, rust_decimal::Decimal>(13).to_string(),
        "-0.0005"
    );
    assert_eq!(
        row.get::<_, rust_decimal::Decimal>(14).to_string(),
        "123456789012345678901234.5"
    );
    assert_eq!(row.get::<_, String>(15), "héllo");
    assert_eq!(row.get::<_, Vec<u8>>(16), vec![0xde, 0xad, 0x00]);
    assert_eq!(
        row.get::<_, chrono::NaiveDate>(17),
        chrono::NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")
    );
    assert_eq!(
        row.get::<_, chrono::NaiveTime>(18),
        chrono::NaiveTime::from_hms_milli_opt(12, 34, 56, 789).expect("time")
    );
    assert_eq!(
        row.get::<_, chrono::NaiveDateTime>(19).to_string(),
        "2024-02-29 12:34:56.789"
    );
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>(20).to_rfc3339(),
        "2024-02-29T12:34:56.500+00:00"
    );
    assert_eq!(
        row.get::<_, Interval>(21),
        Interval {
            micros: 14_706_500_000,
            days: 3,
            months: 14
        }
    );
    assert_eq!(
        row.get::<_, uuid::Uuid>(22).to_string(),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(
        row.get::<_, serde_json::Value>(23),
        serde_json::json!({"a": [1, 2]})
    );
    assert_eq!(
        row.get::<_, Vec<Option<i32>>>(24),
        vec![Some(1), None, Some(3)]
    );
    assert_eq!(
        row.get::<_, Vec<String>>(25),
        vec!["x".to_string(), "y z".to_string()]
    );
    assert_eq!(
        row.get::<_, serde_json::Value>(26),
        serde_json::json!({"k": 1, "s": "v"})
    );
    assert_eq!(row.get::<_, f64>(27), f64::INFINITY);
    assert_eq!(row.columns()[28].type_(), &Type::DATE);
    assert_eq!(row.get::<_, String>(29), "x");
    // Column types as announced.
    let types: Vec<&Type> = row.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types[12], &Type::NUMERIC);
    assert_eq!(types[23], &Type::JSON);
    assert_eq!(types[24], &Type::INT4_ARRAY);
    assert_eq!(types[29], &Type::TEXT);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_matches_postgres() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let msgs = c
        .simple_query(
            "SELECT true, false, 1.5::REAL, 0.1::DOUBLE, 1e20::DOUBLE, 12.30::DECIMAL(10,2), unhex('dead'), \
             DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.789', TIMESTAMPTZ '2024-02-29 12:34:56+00', \
             INTERVAL '1 year 2 months 3 days 04:05:06', INTERVAL '0 seconds', [1, 2, NULL], \
             ['a b', 'c\"d', NULL, '', 'NULL'], 'NaN'::DOUBLE, '-infinity'::DOUBLE, 'infinity'::DATE, \
             {'a': 1, 'b': 'x'}, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID, TIME '01:02:03', \
             NULL::INTEGER, DATE '0044-03-15' - INTERVAL 100 YEAR, 1::HUGEINT, -5::TINYINT",
        )
        .await
        .expect("query");
    let rows = text_rows(&msgs);
    let want = [
        "t",
        "f",
        "1.5",
        "0.1",
        "1e+20",
        "12.30",
        "\\xdead",
        "2024-02-29",
        "2024-02-29 12:34:56.789",
        "2024-02-29 12:34:56+00",
        "1 year 2 mons 3 days 04:05:06",
        "00:00:00",
        "{1,2,NULL}",
        "{\"a b\",\"c\\\"d\",NULL,\"\",\"NULL\"}",
        "NaN",
        "-Infinity",
        "infinity",
        "{\"a\":1,\"b\":\"x\"}",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "01:02:03",
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(rows[0][i].as_deref(), Some(*w), "column {i}");
    }
    assert_eq!(rows[0][20], None);
    assert_eq!(rows[0][21].as_deref(), Some("0057-03-15 00:00:00 BC"));
    assert_eq!(rows[0][22].as_deref(), Some("1"));
    assert_eq!(rows[0][23].as_deref(), Some("-5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn timezone_setting_changes_timestamptz_output() {
    let server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("SET TimeZone = 'America/New_York'")
        .await
        .expect("set");
    let rows = text_rows(
        &c.simple_query("SELECT TIMESTAMPTZ '2024-01-15 12:00:00+00'; SHOW TimeZone")
            .await
            .expect("q"),
    );
    assert_eq!(rows[0][0].as_deref(), Some("2024-01-15 07:00:00-05"));
    assert_eq!(rows[1][0].as_deref(), Some("America/New_York"));
    let e = c
        .batch_execute("SET TimeZone = 'Nowhere/Land'")
        .await
        .expect_err("bad tz");
    assert_eq!(code(&e), "22023");
    let rows = text_rows(
        &c.simple_query("RESET TimeZone; SHOW timezone")
            .await
            .expect("q"),
    );
    assert_eq!(rows[0][0].as_deref(), Some("UTC"));
    // set_config() is a SET that returns the value (simple and extended protocol).
    let rows = text_rows(
        &c.simple_query("SELECT set_config('TimeZone', 'Asia/Tokyo', false); SHOW TimeZone")
            .await
            .expect("set_config"),
    );
    assert_eq!(rows[0][0].as_deref(), Some("Asia/Tokyo"));
    assert_eq!(rows[1][0].as_deref(), Some("Asia/Tokyo"));
    let v: String = c
        .query_one(
            "SELECT pg_catalog.set_config('application_name', 'cfg', false)",
            &[],
        )
        .await
        .expect("extended set_config")
        .get(0);
    assert_eq!(v, "cfg");
}

/// Without a configured zone, sessions start in the machine's (as a
/// PostgreSQL cluster initdb configured), the log is written in it, and
/// pg_settings says where each value came from; RESET returns to the value
/// the session started with.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_start_in_the_machines_zone() {
    let server = FloeServer::start_with(&[("TZ", "Asia/Kolkata")]);
    let c = server.connect().await;
    let rows = text_rows(
        &c.simple_query(
            "SET TimeZone = 'Asia/Tokyo'; RESET TimeZone; \
             SELECT name, setting, source, reset_val FROM pg_settings \
             WHERE name IN ('TimeZone', 'log_timezone', 'server_version') ORDER BY name",
        )
        .await
        .expect("settings"),
    );
    let want = [
        [
            "TimeZone",
            "Asia/Kolkata",
            "configuration file",
            "Asia/Kolkata",
        ],
        [
            "log_timezone",
            "Asia/Kolkata",
            "configuration file",
            "Asia/Kolkata",
        ],
        ["server_version", "15.8", "default", "15.8"],
    ];
    for (row, want) in rows.iter().zip(want) {
        assert_eq!(
            row.iter().map(|v| v.as_deref()).collect::<Vec<_>>(),
            want.map(Some)
        );
    }
    assert!(server.log().iter().any(|l| l.contains("+05:30")));
    let e = c
        .batch_execute("SET log_timezone = 'UTC'")
        .await
        .expect_err("log_timezone is the server's");
    assert_eq!(code(&e), "55P02");

    // A zone the client sends at startup is the session's own, until RESET
    // (which returns to it).
    let (client, conn) = tokio_postgres::connect(
        &format!("{} options='-c TimeZone=Europe/Paris'", server.conn_str()),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect with options");
    tokio::spawn(conn);
    let rows = text_rows(
        &client
            .simple_query(
                "SET TimeZone = 'UTC'; RESET TimeZone; \
                 SELECT setting, source FROM pg_settings WHERE name = 'TimeZone'",
            )
            .await
            .expect("client zone"),
    );
    assert_eq!(rows[0][0].as_deref(), Some("Europe/Paris"));
    assert_eq!(rows[0][1].as_deref(), Some("client"));
}

#[tokio::test(flavor = "multi_thread")]
async fn parameters_in_text_and_binary() {
    let server = FloeServer::start();
    let c = server.connect().await;
    // Binary parameters of declared types.
    let row = c
        .query_one(
            "SELECT $1::INTEGER + 1, $2::BIGINT * 2, $3::DOUBLE / 2, $4::VARCHAR || '!', $5::BOOLEAN, $6::DATE, $7::BLOB, $8::UUID",
            &[
                &41i32,
                &21i64,
                &5.0f64,
                &"hi",
                &true,
                &chrono::NaiveDate::from_ymd_opt(2020, 1, 2).expect("date"),
                &vec![1u8, 2, 3],
                &uuid::Uuid::nil(),
            ],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, i32>(0), 42);
    assert_eq!(row.get::<_, i64>(1), 42);
    assert_eq!(row.get::<_, f64>(2), 2.5);
    assert_eq!(row.get::<_, String>(3), "hi!");
    assert!(row.get::<_, bool>(4));
    assert_eq!(row.get::<_, chrono::NaiveDate>(5).to_string(), "2020-01-02");
    assert_eq!(row.get::<_, Vec<u8>>(6), vec![1, 2, 3]);
    assert_eq!(row.get::<_, uuid::Uuid>(7), uuid::Uuid::nil());

    // Parameter types come back in ParameterDescription.
    let stmt = c.prepare("SELECT $1::INTEGER + 1").await.expect("prepare");
    assert_eq!(stmt.params(), &[Type::INT4]);
    assert_eq!(stmt.columns()[0].type_(), &Type::INT4);
    // Client-declared types are honored.
    let stmt = c
        .prepare_typed("SELECT $1", &[Type::INT8])
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[Type::INT8]);
    assert_eq!(stmt.columns()[0].type_(), &Type::INT8);
    let row = c.query_one(&stmt, &[&7i64]).await.expect("query");
    assert_eq!(row.get::<_, i64>(0), 7);
    // An untyped parameter is text, never OID 0.
    let stmt = c.prepare("SELECT $1").await.expect("prepare");
    assert_eq!(stmt.params(), &[Type::TEXT]);
    assert_eq!(stmt.columns()[0].type_(), &Type::TEXT);
    let row = c.query_one(&stmt, &[&"abc"]).await.expect("query");
    assert_eq!(row.get::<_, String>(0), "abc");
    // NULL parameters.
    let row = c
        .query_one("SELECT $1::INTEGER IS NULL", &[&None::<i32>])
        .await
        .expect("query");
    assert!(row.get::<_, bool>(0));
    // Array parameters in binary.
    let row = c
        .query_one("SELECT list_sum($1::INTEGER[])", &[&vec![1i32, 2, 3]])
        .await
        .expect("query");
    assert_eq!(row.get::<_, rust_decimal::Decimal>(0).to_string(), "6");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_carry_the_right_sqlstate() {
    let server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE nn (a INTEGER NOT NULL)")
        .await
        .expect("create");
    let cases: &[(&str, &str)] = &[
        ("SELEC 1", "42601"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM (SELECT 1 AS a)", "42703"),
        ("SELECT no_such_function(1)", "42883"),
        ("SELECT 1 / 0", "22012"),
        ("SELECT 'abc'::INTEGER", "22P02"),
        ("SELECT 70000::SMALLINT", "22003"),
        ("INSERT INTO nn VALUES (NULL)", "23502"),
        ("SAVEPOINT sp", "25P01"),
        ("SET no_such_setting = 1", "42704"),
    ];
    for (sql, want) in cases {
        let e = c.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&e), *want, "{sql}: {e:?}");
        let e = c.query(*sql, &[]).await.expect_err(sql);
        assert_eq!(code(&e), *want, "extended {sql}: {e:?}");
    }
    // Syntax errors point at the offending token (1-based).
    let e = c
        .simple_query("SELECT 1 FROM WHERE")
        .await
        .expect_err("syntax");
    let db = e.as_db_error().expect("db error");
    assert_eq!(db.code(), &SqlState::SYNTAX_ERROR);
    assert!(db.position().is_some(), "position: {db:?}");
    // The session survives every error.
    let rows = text_rows(&c.simple_query("SELECT 42").await.expect("still usable"));
    assert_eq!(rows[0][0].as_deref(), Some("42"));
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_and_failed_state() {
    let server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (a INTEGER)")
        .await
        .expect("create");
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1); ROLLBACK")
        .await
        .expect("rollback");
    let n: i64 = common::scalar(&c, "SELECT count(*) FROM t").await;
    assert_eq!(n, 0);
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1); COMMIT")
        .await
        .expect("commit");
    let n: i64 = common::scalar(&c, "SELECT count(*) FROM t").await;
    assert_eq!(n, 1);

    // An error inside a transaction fails it until ROLLBACK.
    c.batch_execute("BEGIN").await.expect("begin");
    c.batch_execute("INSERT INTO t VALUES (2)")
        .await
        .expect("insert");
    assert_eq!(
        code(&c.batch_execute("SELECT 1 / 0").await.expect_err("div")),
        "22012"
    );
    assert_eq!(
        code(&c.batch_execute("SELECT 1").await.expect_err("failed")),
        "25P02"
    );
    assert_eq!(
        code(&c.query("SELECT 1", &[]).await.expect_err("failed ext")),
        "25P02"
    );
    let msgs = c
        .simple_query("COMMIT")
        .await
        .expect("commit of failed txn");
    // One CommandComplete and no rows (its tag, ROLLBACK, is checked on the
    // wire in wire_protocol.rs).
    assert_eq!(command_counts(&msgs), vec![0]);
    assert!(text_rows(&msgs).is_empty());
    let n: i64 = common::scalar(&c, "SELECT count(*) FROM t").await;
    assert_eq!(n, 1, "the failed transaction's insert is gone");

    // A multi-statement query is atomic.
    let e = c
        .batch_execute("INSERT INTO t VALUES (5); SELECT 1 / 0")
        .await
        .expect_err("atomic");
    assert_eq!(code(&e), "22012");
    let n: i64 = common::scalar(&c, "SELECT count(*) FROM t").await;
    assert_eq!(n, 1, "the first statement was rolled back");

    // tokio-postgres transactions (extended protocol).
    let mut c2 = server.connect().await;
    let tx = c2.transaction().await.expect("tx");
    tx.execute("INSERT INTO t VALUES (3)", &[])
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let n: i64 = common::scalar(&c2, "SELECT count(*) FROM t").await;
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn command_tags_report_row_counts() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let msgs = c
        .simple_query(
            "CREATE TABLE tags (a INTEGER, b VARCHAR); INSERT INTO tags VALUES (1, 'x'), (2, 'y'), (3, 'z'); \
             UPDATE tags SET b = 'w' WHERE a >= 2; DELETE FROM tags WHERE a = 1; SELECT * FROM tags",
        )
        .await
        .expect("query");
    assert_eq!(command_counts(&msgs), vec![0, 3, 2, 1, 2]);
    assert_eq!(
        c.execute("INSERT INTO tags VALUES ($1, $2)", &[&9i32, &"q"])
            .await
            .expect("insert"),
        1
    );
    let rows = c
        .query("INSERT INTO tags VALUES (10, 'r') RETURNING a * 2", &[])
        .await
        .expect("returning");
    assert_eq!(rows[0].get::<_, i32>(0), 20);
    // Empty query.
    let msgs = c.simple_query("").await.expect("empty");
    assert!(text_rows(&msgs).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_interrupts_and_session_survives() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token
            .cancel_query(tokio_postgres::NoTls)
            .await
            .expect("cancel");
    });
    let e = c
        .query("SELECT sum(i * 2) FROM range(100000000000) t(i)", &[])
        .await
        .expect_err("canceled");
    assert_eq!(code(&e), "57014");
    canceller.await.expect("canceller");
    let n: i32 = c.query_one("SELECT 7", &[]).await.expect("usable").get(0);
    assert_eq!(n, 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn statement_timeout_cancels() {
    let server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("SET statement_timeout = 300")
        .await
        .expect("set");
    let e = c
        .query("SELECT sum(i * 2) FROM range(100000000000) t(i)", &[])
        .await
        .expect_err("timed out");
    assert_eq!(code(&e), "57014");
    let message = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("statement timeout"), "{message}");
    c.batch_execute("SET statement_timeout = 0")
        .await
        .expect("reset");
    let n: i32 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_queries_keep_order_and_isolate_errors() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let (a, b, d, e) = tokio::join!(
        c.query_one("SELECT 1::INTEGER", &[]),
        c.query_one("SELECT 1 / 0", &[]),
        c.query_one("SELECT 3::INTEGER", &[]),
        c.query_one("SELECT $1::INTEGER", &[&4i32]),
    );
    assert_eq!(a.expect("a").get::<_, i32>(0), 1);
    assert_eq!(code(&b.expect_err("b")), "22012");
    assert_eq!(d.expect("d").get::<_, i32>(0), 3);
    assert_eq!(e.expect("e").get::<_, i32>(0), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn portals_return_rows_in_batches() {
    let server = FloeServer::start();
    let mut c = server.connect().await;
    let tx = c.transaction().await.expect("tx");
    let stmt = tx
        .prepare("SELECT i FROM range(10) t(i)")
        .await
        .expect("prepare");
    let p1 = tx.bind(&stmt, &[]).await.expect("bind");
    let p2 = tx.bind(&stmt, &[]).await.expect("bind");
    // (portal, rows asked for, the values it gives): two open portals interleaved.
    let reads: [(&tokio_postgres::Portal, i32, &[i64]); 5] = [
        (&p1, 3, &[0, 1, 2]),
        (&p2, 4, &[0, 1, 2, 3]),
        (&p1, 3, &[3, 4, 5]),
        (&p1, 10, &[6, 7, 8, 9]),
        (&p2, 100, &[4, 5, 6, 7, 8, 9]),
    ];
    for (portal, max_rows, want) in reads {
        let rows = tx.query_portal(portal, max_rows).await.expect("portal");
        let got: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(got, want);
    }
    assert!(tx.query_portal(&p1, 10).await.expect("p1 done").is_empty());
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_sessions_and_long_queries_do_not_block_connects() {
    let server = FloeServer::start();
    // A long query in one session...
    let long = server.connect().await;
    let token = long.cancel_token();
    let long_task = tokio::spawn(async move {
        long.query("SELECT sum(i * 2) FROM range(100000000000) t(i)", &[])
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...while fifty others connect and query at once.
    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let conn_str = server.conn_str();
        tasks.push(tokio::spawn(async move {
            let (client, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let row = client
                .query_one("SELECT sum(i) + $1::BIGINT FROM range(100000) t(i)", &[&i])
                .await
                .expect("query");
            row.get::<_, rust_decimal::Decimal>(0).to_string()
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let got = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("not blocked")
            .expect("task");
        assert_eq!(got, (4_999_950_000i64 + i as i64).to_string());
    }
    token
        .cancel_query(tokio_postgres::NoTls)
        .await
        .expect("cancel");
    let r = long_task.await.expect("long task");
    assert_eq!(code(&r.expect_err("canceled")), "57014");
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_refuses_outside_access() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let hostile = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/floe-sandbox-test.csv'",
        "ATTACH '/tmp/floe-sandbox-test.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM read_text('/etc/hostname')",
    ];
    for sql in hostile {
        let e = c.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&e), "42501", "{sql}: {e:?}");
    }
    assert!(!std::path::Path::new("/tmp/floe-sandbox-test.csv").exists());
    let n: i32 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_mid_result_frees_the_query() {
    let server = FloeServer::start();
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    let conn_task = tokio::spawn(conn);
    let mut stream = Box::pin(
        client
            .query_raw(
                "SELECT i, i::VARCHAR FROM range(1000000000) t(i)",
                Vec::<i32>::new(),
            )
            .await
            .expect("stream"),
    );
    use futures::StreamExt;
    for _ in 0..1000 {
        stream.next().await.expect("row").expect("row ok");
    }
    // Drop the client mid-result.
    drop(stream);
    drop(client);
    conn_task.abort();
    assert!(
        server.wait_for_log(Duration::from_secs(10), |l| l.contains("floe_worker")
            && l.contains("session ended")),
        "session did not end after the client left: {:?}",
        server.log()
    );
    // The server is still fine.
    let c = server.connect().await;
    let n: i32 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_keeps_memory_bounded() {
    let server = FloeServer::start();
    let c = server.connect().await;
    let baseline = server.rss_bytes();
    let stream = c
        .query_raw(
            "SELECT i, i * 2.5, 'row ' || i::VARCHAR FROM range(20000000) t(i)",
            Vec::<i32>::new(),
        )
        .await
        .expect("stream");
    futures::pin_mut!(stream);
    use futures::StreamExt;
    let mut n = 0u64;
    let mut peak = 0;
    while let Some(row) = stream.next().await {
        row.expect("row");
        n += 1;
        if n.is_multiple_of(1_000_000) {
            peak = peak.max(server.rss_bytes());
        }
    }
    assert_eq!(n, 20_000_000);
    // 20M rows are over 600 MB on the wire; a materialized result would show.
    assert!(
        peak < baseline + 400 * 1024 * 1024,
        "RSS grew from {baseline} to {peak} bytes while streaming"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly() {
    let mut server = FloeServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE kept (a INTEGER); INSERT INTO kept VALUES (1)")
        .await
        .expect("create");
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(server.log().iter().any(|l| l.contains("stopped")));
}
