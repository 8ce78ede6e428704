//! `floe load tpch` against a real server: the eight tables land in the lake with
//! the row counts TPC-H defines for the scale factor, a query over them answers
//! as the specification's generator does, and a second load without `--replace`
//! refuses to touch existing tables.

mod common;

use std::process::Command;

use common::FloeServer;

fn load(server: &FloeServer, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_floe"))
        .args(["load", "tpch", "--scale", "0.01", "--port"])
        .arg(server.port.to_string())
        .args(extra)
        .env_remove("PGHOST")
        .env_remove("PGUSER")
        .env_remove("PGDATABASE")
        .output()
        .expect("run floe load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_tpch_tables_into_the_lake() {
    let server = FloeServer::start();
    let out = load(&server, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("lineitem: 60175 rows"), "{stdout}");

    let client = server.connect().await;
    let expected = [
        ("region", 5i64),
        ("nation", 25),
        ("supplier", 100),
        ("customer", 1500),
        ("part", 2000),
        ("partsupp", 8000),
        ("orders", 15000),
        ("lineitem", 60175),
    ];
    for (table, rows) in expected {
        let row = client
            .query_one(&format!("SELECT count(*) FROM tpch.{table}"), &[])
            .await
            .expect("count");
        assert_eq!(row.get::<_, i64>(0), rows, "{table}");
    }
    // The tables are lake tables: the virtual schema lists them.
    let listed = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'tpch'",
            &[],
        )
        .await
        .expect("listed");
    assert_eq!(listed.get::<_, i64>(0), 8);
    // Typed columns: TPC-H Q6 over them.
    let q6 = client
        .query_one(
            "SELECT CAST(sum(l_extendedprice * l_discount) AS text) FROM tpch.lineitem \
             WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' \
             AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
            &[],
        )
        .await
        .expect("q6");
    let revenue: String = q6.get(0);
    assert!(revenue.starts_with("1193053.2253"), "{revenue}");

    let again = load(&server, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    let replaced = load(&server, &["--replace"]);
    assert!(replaced.status.success());
    let row = client
        .query_one("SELECT count(*) FROM tpch.orders", &[])
        .await
        .expect("count");
    assert_eq!(row.get::<_, i64>(0), 15000);
}
