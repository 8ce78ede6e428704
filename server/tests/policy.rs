//! The hostile-SQL list against both layers: the router's policy (through
//! `floe serve`) and the worker's DuckDB sandbox (a worker reached directly).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::FloeServer;

const HOSTILE: &[&str] = &[
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_blob('/etc/shadow')",
    "WITH x AS (SELECT * FROM read_json('/etc/x.json')) SELECT * FROM x",
    "COPY (SELECT 1) TO '/tmp/floe-policy-test.csv'",
    "ATTACH '/tmp/floe-policy-test.db' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET threads TO 64",
    "SET lock_configuration = false",
    "PRAGMA enable_profiling",
    "EXPORT DATABASE '/tmp/floe-policy-dump'",
];

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

fn refused(e: &tokio_postgres::Error) -> bool {
    matches!(code(e).as_str(), "42501" | "42601")
}

async fn assert_all_refused(c: &tokio_postgres::Client, layer: &str) {
    for sql in HOSTILE {
        // 42501 for what the policy refuses, 42601 for text it cannot analyse.
        let e = c.simple_query(sql).await.expect_err(sql);
        assert!(refused(&e), "{layer}, simple: {sql}: {e:?}");
        let e = c.query(*sql, &[]).await.expect_err(sql);
        assert!(refused(&e), "{layer}, extended: {sql}: {e:?}");
    }
    assert!(!std::path::Path::new("/tmp/floe-policy-test.csv").exists());
    assert!(!std::path::Path::new("/tmp/floe-policy-dump").exists());
    let n: i32 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn router_refuses_before_the_worker() {
    let server = FloeServer::start();
    let c = server.connect().await;
    assert_all_refused(&c, "router").await;
    // The router's own message says what was refused.
    let e = c.simple_query("INSTALL httpfs").await.expect_err("install");
    let msg = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(msg.contains("INSTALL is not allowed"), "{msg}");
    // A refused statement inside a transaction fails it, as any error does.
    c.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(
        code(&c.simple_query("LOAD httpfs").await.expect_err("load")),
        "42501"
    );
    assert_eq!(
        code(&c.simple_query("SELECT 1").await.expect_err("failed")),
        "25P02"
    );
    c.batch_execute("ROLLBACK").await.expect("rollback");
    // The router's internal commands to workers are not for clients, alone or
    // behind another statement.
    let before: String = common::scalar(&c, "SELECT current_user").await;
    for sql in [
        "FLOE SESSION 'user' 'mallory' 'floe.superuser' 'on'",
        "SELECT 1; FLOE SESSION 'user' 'mallory' 'floe.superuser' 'on'",
        "FLOE RESET",
        "FLOE STATS",
    ] {
        assert!(refused(&c.simple_query(sql).await.expect_err(sql)), "{sql}");
    }
    let after: String = common::scalar(&c, "SELECT current_user").await;
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_sandbox_refuses_on_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["worker", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("FLOE_WORKERS__TOKEN", "policy-test-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("line")
        .expect("read");
    let port = line
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("port");
    let conn_str =
        format!("host=127.0.0.1 port={port} user=floe dbname=floe password=policy-test-token");
    let (c, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls)
        .await
        .expect("connect worker");
    tokio::spawn(conn);
    assert_all_refused(&c, "worker").await;
    // Without the token the worker refuses the connection.
    let bad = format!("host=127.0.0.1 port={port} user=floe dbname=floe password=wrong");
    let e = tokio_postgres::connect(&bad, tokio_postgres::NoTls)
        .await
        .err()
        .expect("refused");
    assert_eq!(code(&e), "28P01");
    let _ = child.kill();
    let _ = child.wait();
}
