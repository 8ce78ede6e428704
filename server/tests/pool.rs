//! Pooled worker sessions: a client that leaves cleanly hands its worker session
//! to the next client, reset; one that leaves mid-transaction does not.

mod common;

use std::time::Duration;

use common::FloeServer;

fn worker_pids_of_ended_sessions(server: &FloeServer) -> Vec<String> {
    server
        .log()
        .iter()
        .filter(|l| l.contains("client session ended"))
        .filter_map(|l| {
            l.split("worker_pid=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
        .collect()
}

async fn ended_sessions(server: &FloeServer, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let pids = worker_pids_of_ended_sessions(server);
        if pids.len() >= n {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("sessions did not end: {:?}", server.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_sessions_are_reused_and_reset() {
    let server = FloeServer::start();
    {
        let c = server.connect().await;
        c.batch_execute(
            "SET TimeZone = 'Asia/Tokyo'; CREATE TEMP TABLE scratch AS SELECT 1 AS a; SET application_name = 'first'",
        )
        .await
        .expect("first client");
        c.prepare("SELECT 42").await.expect("prepare");
    }
    let first = ended_sessions(&server, 1).await;

    let c = server.connect().await;
    let rows = c.simple_query("SHOW TimeZone").await.expect("show");
    let tz = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(tz.as_deref(), Some("UTC"), "settings were reset");
    let e = c
        .query("SELECT * FROM scratch", &[])
        .await
        .expect_err("temp table dropped");
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    // The session's own functions survive the reset.
    let total: i64 = common::scalar(&c, "SELECT sum(x) FROM (VALUES (1), (2)) t(x)").await;
    assert_eq!(total, 3);
    drop(c);
    let second = ended_sessions(&server, 2).await;
    assert_eq!(
        first[0], second[1],
        "the second client got the first one's worker session"
    );

    // A client that leaves inside a transaction does not hand its session on.
    {
        let c = server.connect().await;
        c.batch_execute("BEGIN; CREATE TABLE half (a INTEGER)")
            .await
            .expect("begin");
    }
    let third = ended_sessions(&server, 3).await;
    let c = server.connect().await;
    let e = c
        .query("SELECT * FROM half", &[])
        .await
        .expect_err("rolled back");
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    drop(c);
    let fourth = ended_sessions(&server, 4).await;
    assert_ne!(
        third[2], fourth[3],
        "a session left mid-transaction is not reused"
    );
}
