//! pg_stat_activity from the router's live sessions, and pg_cancel_backend /
//! pg_terminate_backend across sessions (and workers).

mod common;

use std::time::Duration;

use common::FloeServer;
use tokio_postgres::SimpleQueryMessage;

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

async fn my_pid(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

async fn connect_as(server: &FloeServer, app: &str) -> tokio_postgres::Client {
    let conn_str = format!("{} application_name={app}", server.conn_str());
    let (client, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_cancel_and_terminate() {
    let server = FloeServer::start_with_args(&["--workers", "2"]);
    let admin = connect_as(&server, "admin-tool").await;
    let busy = connect_as(&server, "busy-job").await;
    let idle = connect_as(&server, "idle-one").await;
    let busy_pid = my_pid(&busy).await;
    let idle_pid = my_pid(&idle).await;
    assert_ne!(busy_pid, idle_pid);

    let long = tokio::spawn(async move {
        busy.query("SELECT sum(i * 2) FROM range(100000000000) t(i)", &[])
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rows = admin
        .query(
            "SELECT pid, usename, application_name, state, query, backend_start IS NOT NULL \
             FROM pg_stat_activity ORDER BY pid",
            &[],
        )
        .await
        .expect("pg_stat_activity");
    assert!(rows.len() >= 3, "{rows:?}");
    let busy_row = rows
        .iter()
        .find(|r| r.get::<_, i32>(0) == busy_pid)
        .expect("busy session listed");
    assert_eq!(busy_row.get::<_, String>(1), "floe");
    assert_eq!(busy_row.get::<_, String>(2), "busy-job");
    assert_eq!(busy_row.get::<_, String>(3), "active");
    assert!(busy_row.get::<_, String>(4).contains("range(100000000000)"));
    assert!(busy_row.get::<_, bool>(5));
    let idle_row = rows
        .iter()
        .find(|r| r.get::<_, i32>(0) == idle_pid)
        .expect("idle session listed");
    assert_eq!(idle_row.get::<_, String>(3), "idle");

    // Cancel the busy session's query from another session (maybe on another worker).
    let msgs = admin
        .simple_query(&format!("SELECT pg_cancel_backend({busy_pid})"))
        .await
        .expect("cancel");
    let canceled = msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(canceled.as_deref(), Some("t"));
    let e = tokio::time::timeout(Duration::from_secs(10), long)
        .await
        .expect("canceled in time")
        .expect("task")
        .expect_err("canceled");
    assert_eq!(code(&e), "57014");

    // Terminate the idle session.
    let ok: bool = admin
        .query_one(&format!("SELECT pg_terminate_backend({idle_pid})"), &[])
        .await
        .expect("terminate")
        .get(0);
    assert!(ok);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        idle.query_one("SELECT 1", &[]).await.is_err(),
        "terminated session is gone"
    );
    let gone: bool = admin
        .query_one(
            &format!("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {idle_pid}"),
            &[],
        )
        .await
        .expect("listed")
        .get(0);
    assert!(gone);
}
