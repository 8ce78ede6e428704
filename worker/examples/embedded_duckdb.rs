//! Times queries in the DuckDB that Floe embeds (the same build, in-process, no
//! server), for benchmarks that separate Floe's own cost from its engine's:
//!   embedded_duckdb SETUP.sql RUNS QUERY.sql…
//! runs the setup statements, then each query once to warm up and RUNS times,
//! printing `<file> <median seconds> <rows>` per query.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, setup, runs, queries @ ..] = args.as_slice() else {
        return Err("usage: embedded_duckdb SETUP.sql RUNS QUERY.sql…".into());
    };
    let runs: usize = runs.parse()?;
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch(&std::fs::read_to_string(setup)?)?;
    for file in queries {
        let sql = std::fs::read_to_string(file)?;
        let run = || -> Result<(f64, usize), duckdb::Error> {
            let start = Instant::now();
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            let mut n = 0;
            while rows.next()?.is_some() {
                n += 1;
            }
            Ok((start.elapsed().as_secs_f64(), n))
        };
        let (_, rows) = run()?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(run()?.0);
        }
        times.sort_by(f64::total_cmp);
        println!("{file} {:.6} {rows}", times[times.len() / 2]);
    }
    Ok(())
}
