//! The admin endpoint: /health and Prometheus /metrics reflecting real traffic.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::FloeServer;

fn get(port: u16, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect admin");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    s.write_all(request.as_bytes()).expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("floe.toml");
    std::fs::write(&file, "[admin]\nlisten = \"127.0.0.1:0\"\n").expect("config");
    let server = FloeServer::start_with_args(&["--config", file.to_str().expect("path")]);
    assert!(server.wait_for_log(Duration::from_secs(10), |l| l.contains("admin endpoint")));
    let line = server
        .log()
        .into_iter()
        .find(|l| l.contains("admin endpoint"))
        .expect("admin log line");
    let port: u16 = line
        .split("listen=127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("admin port");

    let (status, body) = get(port, "/health");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "ok\n");

    let c = server.connect().await;
    c.simple_query("SELECT 1").await.expect("query");
    let _ = c.simple_query("SELECT 1 / 0").await.expect_err("error");
    c.query("SELECT $1::INTEGER", &[&1i32])
        .await
        .expect("extended");
    let (status, body) = get(port, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("floe_sessions_active 1"), "{body}");
    assert!(
        body.contains("floe_errors_total{sqlstate=\"22012\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("floe_queries_total{protocol=\"simple\"} 2"),
        "{body}"
    );
    assert!(
        body.contains("floe_queries_total{protocol=\"extended\"} 1"),
        "{body}"
    );
    assert!(body.contains("floe_worker_up{worker=\"unix:"), "{body}");
    assert!(
        body.contains("floe_statements_total{class=\"query\"} 3"),
        "{body}"
    );
    let count: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("floe_query_duration_seconds_count "))
        .and_then(|v| v.parse().ok())
        .expect("latency count");
    assert!(count >= 3, "{body}");
    let (status, _) = get(port, "/nope");
    assert!(status.contains("404"));
}

#[test]
fn beyond_loopback_without_users_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("floe serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("requires authentication"), "{err}");
}
