//! Streams a query's result through tokio-postgres and discards it, reporting the
//! row count, the rate, and the peak resident memory of the server processes
//! (summed) sampled while the rows flow. Used by `bench/run` to show that Floe
//! streams with bounded memory.
//!
//! cargo run --release --example stream_sink -- "<conninfo>" "<query>" <pid>[,<pid>…]

use std::time::{Duration, Instant};

use futures::StreamExt;

fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (conninfo, query) = match (args.get(1), args.get(2)) {
        (Some(c), Some(q)) => (c.clone(), q.clone()),
        _ => return Err("usage: stream_sink <conninfo> <query> [server-pid]".into()),
    };
    let pids: Vec<u32> = args
        .get(3)
        .map(|p| p.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let total = move || pids.iter().map(|p| rss_bytes(*p)).sum::<u64>();
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let baseline = total();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        let total = total.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(total(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let start = Instant::now();
    let stream = client.query_raw(query.as_str(), Vec::<i32>::new()).await?;
    futures::pin_mut!(stream);
    let mut rows = 0u64;
    while let Some(row) = stream.next().await {
        row?;
        rows += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    sampler.abort();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "rows={rows} seconds={secs:.2} rows_per_sec={:.0} server_rss_before_mib={:.0} server_rss_peak_mib={:.0}",
        rows as f64 / secs,
        mib(baseline),
        mib(peak.load(std::sync::atomic::Ordering::Relaxed))
    );
    Ok(())
}
