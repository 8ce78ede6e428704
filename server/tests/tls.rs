//! TLS between clients and the router, checked with psql (libpq): sslmode=require,
//! verify-full against the generated CA, require_tls, and cleartext passwords only
//! over TLS.

mod common;

use std::process::{Command, Output};

use common::FloeServer;

fn psql(server: &FloeServer, conninfo: &str, password: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-At", "-c", sql])
        .arg(format!("port={} dbname=floe {conninfo}", server.port))
        .env("PGCONNECT_TIMEOUT", "10");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("psql")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn server_with(config: &str) -> (FloeServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("floe.toml");
    std::fs::write(&file, config).expect("config");
    let server = FloeServer::start_with_args(&["--config", file.to_str().expect("path")]);
    (server, dir)
}

#[test]
fn sslmode_require_and_verify_full() {
    let (server, _dir) = server_with("[tls]\nself_signed = true\n");
    let o = psql(
        &server,
        "host=127.0.0.1 user=floe sslmode=require",
        None,
        "SELECT ssl FROM (SELECT true AS ssl)",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "t");
    // The session really is encrypted: psql reports it.
    let o = psql(
        &server,
        "host=127.0.0.1 user=floe sslmode=require",
        None,
        "\\conninfo",
    );
    assert!(stdout(&o).contains("SSL connection"), "{}", stdout(&o));
    let ca = server.data_dir.path().join("tls").join("ca.crt");
    let o = psql(
        &server,
        &format!(
            "host=localhost user=floe sslmode=verify-full sslrootcert={}",
            ca.display()
        ),
        None,
        "SELECT 7",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "7");
    // Plain connections still work when TLS is not required.
    let o = psql(
        &server,
        "host=127.0.0.1 user=floe sslmode=disable",
        None,
        "SELECT 8",
    );
    assert_eq!(stdout(&o), "8", "{}", stderr(&o));
}

#[test]
fn require_tls_and_cleartext_passwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("floe.toml");
    std::fs::write(
        &file,
        "[tls]\nself_signed = true\nrequire = true\n[auth]\nmethod = \"password\"\n",
    )
    .expect("config");
    let status = Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["user", "add", "dana", "--password", "pw-dana", "--config"])
        .arg(&file)
        .status()
        .expect("floe user add");
    assert!(status.success());
    let server = FloeServer::start_with_args(&["--config", file.to_str().expect("path")]);
    let o = psql(
        &server,
        "host=127.0.0.1 user=dana sslmode=disable",
        Some("pw-dana"),
        "SELECT 1",
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("SSL off"), "{}", stderr(&o));
    let o = psql(
        &server,
        "host=127.0.0.1 user=dana sslmode=require",
        Some("pw-dana"),
        "SELECT 2",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2");
    let o = psql(
        &server,
        "host=127.0.0.1 user=dana sslmode=require",
        Some("wrong"),
        "SELECT 3",
    );
    assert!(
        stderr(&o).contains("password authentication failed"),
        "{}",
        stderr(&o)
    );
}
