//! The router with several supervised workers: balancing, a worker killed in the
//! middle of a query (or of a CREATE TABLE AS, which leaves no table), and its
//! restart.

mod common;

use std::time::Duration;

use common::FloeServer;

async fn worker_id(c: &tokio_postgres::Client) -> String {
    // Each worker reports its --id as the read-only parameter floe.worker.
    let rows = c.simple_query("SHOW floe.worker").await.expect("worker id");
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("a row")
}

fn pid_of_worker(server: &FloeServer, id: &str) -> u32 {
    server
        .worker_pids()
        .into_iter()
        .find(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.windows(2)
                .any(|w| w[0] == b"--id" && w[1] == id.as_bytes())
        })
        .expect("worker pid")
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_spread_over_workers() {
    let server = FloeServer::start_with_args(&["--workers", "2"]);
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(server.connect().await);
    }
    let mut ids = Vec::new();
    for c in &clients {
        ids.push(worker_id(c).await);
    }
    ids.sort();
    assert_eq!(ids, vec!["0", "0", "1", "1"], "least-loaded balancing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_worker_ends_only_its_sessions_and_comes_back() {
    let server = FloeServer::start_with_args(&["--workers", "2"]);
    let victim = server.connect().await;
    let survivor = server.connect().await;
    let victim_id = worker_id(&victim).await;
    let survivor_id = worker_id(&survivor).await;
    assert_ne!(victim_id, survivor_id);
    let victim_pid = pid_of_worker(&server, &victim_id);

    let long = tokio::spawn(async move {
        victim
            .query("SELECT sum(i * 2) FROM range(100000000000) t(i)", &[])
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: kill(2) with SIGKILL on the worker process we started.
    unsafe {
        libc_kill(victim_pid as i32, 9);
    }
    let err = tokio::time::timeout(Duration::from_secs(10), long)
        .await
        .expect("the victim's query ends")
        .expect("task")
        .expect_err("worker died");
    let code = err.code().map(|c| c.code().to_string());
    // The router ends the session with PostgreSQL's error, not a bare close.
    assert_eq!(
        code.as_deref(),
        Some("57P01"),
        "clean error for the dead worker's session: {err:?}"
    );
    // The other worker's session is untouched.
    let n: i32 = common::scalar(&survivor, "SELECT 5").await;
    assert_eq!(n, 5);
    // New sessions work at once (on the healthy worker, or the restarted one).
    let fresh = server.connect().await;
    let n: i32 = common::scalar(&fresh, "SELECT 6").await;
    assert_eq!(n, 6);
    // The dead worker is restarted and rejoins.
    assert!(
        server.wait_for_log(Duration::from_secs(30), |l| l.contains("worker restarted")),
        "no restart: {:?}",
        server.log()
    );
    // It rejoins the rotation once a health check finds it (every 500 ms).
    let mut keep = Vec::new();
    let mut rejoined = false;
    for _ in 0..50 {
        let c = server.connect().await;
        if worker_id(&c).await == victim_id {
            rejoined = true;
            break;
        }
        keep.push(c);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejoined, "the restarted worker takes sessions again");
    let restart_line = server
        .log()
        .into_iter()
        .find(|l| l.contains("worker restarted"))
        .unwrap_or_default();
    println!("{restart_line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_table_as_cut_short_by_a_dead_worker_leaves_no_table() {
    let server = FloeServer::start_with_args(&["--workers", "2"]);
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE SCHEMA shop")
        .await
        .expect("schema");
    let victim = server.connect().await;
    let victim_pid = pid_of_worker(&server, &worker_id(&victim).await);
    let ctas = tokio::spawn(async move {
        victim
            .batch_execute(
                "CREATE TABLE shop.big AS \
                 SELECT i, md5(i::varchar) AS h FROM range(300000000) t(i)",
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !ctas.is_finished(),
        "the CTAS is still running when its worker dies"
    );
    // SAFETY: kill(2) with SIGKILL on the worker process we started.
    unsafe {
        libc_kill(victim_pid as i32, 9);
    }
    let ended = tokio::time::timeout(Duration::from_secs(10), ctas)
        .await
        .expect("the CTAS ends")
        .expect("task");
    let err = ended.expect_err("the CTAS failed with its worker");
    assert_eq!(
        err.code().map(|c| c.code()),
        Some("57P01"),
        "the CTAS's session ends with PostgreSQL's error: {err:?}"
    );
    // Every session (on any worker) sees no table, and the name is free.
    for _ in 0..2 {
        let c = server.connect().await;
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = 'shop' AND table_name = 'big'",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(n, 0, "no table left behind");
    }
    setup
        .batch_execute("CREATE TABLE shop.big AS SELECT 1 AS i")
        .await
        .expect("the name is free");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
