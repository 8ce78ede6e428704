//! Client authentication through the router: SCRAM-SHA-256 and md5 against users
//! written by `floe user add`, with PostgreSQL's error codes for failures.

mod common;

use std::process::Command;

use common::FloeServer;

fn add_user(config: &std::path::Path, name: &str, password: &str, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["user", "add", name, "--password", password, "--config"])
        .arg(config)
        .args(extra)
        .status()
        .expect("floe user add");
    assert!(status.success());
}

async fn connect(
    server: &FloeServer,
    user: &str,
    password: &str,
    db: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let conn_str = format!(
        "host=127.0.0.1 port={} user={user} password={password} dbname={db}",
        server.port
    );
    let (client, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn scram_users_and_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("floe.toml");
    add_user(&config, "alice", "s3cret", &["--superuser"]);
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(text.contains("SCRAM-SHA-256$4096:"), "{text}");
    assert!(
        !text.contains("s3cret"),
        "the password itself is never stored"
    );
    let server = FloeServer::start_with_args(&["--config", config.to_str().expect("path")]);

    let c = logged_in(&server, "alice", "s3cret").await;
    let su = c.simple_query("SHOW is_superuser").await.expect("show");
    assert!(matches!(&su[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("on")));
    let e = connect(&server, "alice", "wrong", "floe")
        .await
        .expect_err("wrong password");
    assert_eq!(code(&e), "28P01");
    let e = connect(&server, "mallory", "s3cret", "floe")
        .await
        .expect_err("unknown user");
    assert_eq!(code(&e), "28P01", "unknown users fail like wrong passwords");
    let e = connect(&server, "alice", "s3cret", "nope")
        .await
        .expect_err("unknown database");
    assert_eq!(code(&e), "3D000");

    // psql (libpq) through SCRAM.
    let mut psql = psql(&server, "alice", "SELECT 40 + 2");
    psql.args(["-d", "floe"]).env("PGPASSWORD", "s3cret");
    assert_eq!(output_of(psql), "42");
    // `floe passwd` rewrites the stored verifier (read at the next start).
    let status = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["passwd", "alice", "--password", "n3w", "--config"])
        .arg(&config)
        .status()
        .expect("floe passwd");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn md5_method() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("floe.toml");
    std::fs::write(&config, "[auth]\nmethod = \"md5\"\n").expect("write");
    add_user(&config, "bob", "hunter2", &["--md5"]);
    add_user(&config, "carol", "scrampw", &[]);
    let server = FloeServer::start_with_args(&["--config", config.to_str().expect("path")]);
    let c = logged_in(&server, "bob", "hunter2").await;
    let su = c.simple_query("SHOW is_superuser").await.expect("show");
    assert!(
        matches!(&su[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("off"))
    );
    assert_eq!(
        code(
            &connect(&server, "bob", "nope", "floe")
                .await
                .expect_err("wrong")
        ),
        "28P01"
    );
    // A SCRAM verifier under method md5 uses SCRAM, as PostgreSQL does.
    logged_in(&server, "carol", "scrampw").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_psql_connects_on_the_default() {
    // The README promise: with no users, `psql -h 127.0.0.1 -p PORT` (user and
    // database named after the OS user) connects at once.
    let server = FloeServer::start();
    let mut psql = psql(&server, "someone", "SELECT 'hi'");
    psql.env_remove("PGDATABASE");
    assert_eq!(output_of(psql), "hi");
}

/// A session of `user` (database `floe`) that answers a query.
async fn logged_in(server: &FloeServer, user: &str, password: &str) -> tokio_postgres::Client {
    let c = connect(server, user, password, "floe").await.expect(user);
    let n: i32 = c.query_one("SELECT 1", &[]).await.expect("query").get(0);
    assert_eq!(n, 1);
    c
}

/// `psql -X -At` as `user` on the server, running `sql`.
fn psql(server: &FloeServer, user: &str, sql: &str) -> Command {
    let mut psql = Command::new("psql");
    let port = server.port.to_string();
    psql.args([
        "-X",
        "-At",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        user,
        "-c",
        sql,
    ]);
    psql
}

/// What a command that must succeed prints, trimmed.
fn output_of(mut command: Command) -> String {
    let out = command.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
