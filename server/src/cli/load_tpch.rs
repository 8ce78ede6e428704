//! `floe load tpch`: creates the eight TPC-H tables in a schema of a running Floe
//! and fills them from an in-process generator (the `tpchgen` crate) with
//! `COPY … FROM STDIN`, one progress bar per table. It is an ordinary client: the
//! rows take the same path as any other COPY, so the tables land wherever the
//! server keeps its lake (local warehouse, S3, a REST catalog).

use std::fmt::{Display, Write as _};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::SinkExt;
use indicatif::{ProgressBar, ProgressStyle};
use tpchgen::csv::{
    CustomerCsv, LineItemCsv, NationCsv, OrderCsv, PartCsv, PartSuppCsv, RegionCsv, SupplierCsv,
};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};

/// COPY data is sent in messages of about this size.
const SEND_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot connect to Floe at {target}: {source}")]
    Connect {
        target: String,
        source: tokio_postgres::Error,
    },
    #[error("{what}: {source}")]
    Sql {
        what: String,
        source: tokio_postgres::Error,
    },
    #[error("table {0} already exists; pass --replace to drop and reload it")]
    Exists(String),
    #[error("the scale factor must be a positive number, not {0}")]
    Scale(f64),
}

/// Where and what to load (`floe load tpch`'s options).
#[derive(Debug, Clone, clap::Args)]
pub struct LoadOptions {
    /// TPC-H scale factor (1 = 6 million line items, about 1 GB of CSV).
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
    /// The schema (lake namespace) the tables go to.
    #[arg(long, default_value = "tpch")]
    pub schema: String,
    #[arg(long, env = "PGHOST", default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, env = "PGPORT", default_value_t = 5432)]
    pub port: u16,
    #[arg(long, env = "PGUSER", default_value = "floe")]
    pub user: String,
    #[arg(long, env = "PGDATABASE", default_value = "floe")]
    pub database: String,
    /// From PGPASSWORD only (a flag would show in the process list).
    #[arg(skip = std::env::var("PGPASSWORD").ok())]
    pub password: Option<String>,
    /// Drop and reload tables that already exist.
    #[arg(long)]
    pub replace: bool,
}

/// The tables in load order, with their Postgres column definitions.
const TABLES: &[(&str, &str)] = &[
    ("region", "r_regionkey integer, r_name text, r_comment text"),
    (
        "nation",
        "n_nationkey integer, n_name text, n_regionkey integer, n_comment text",
    ),
    (
        "supplier",
        "s_suppkey bigint, s_name text, s_address text, s_nationkey integer, s_phone text, \
         s_acctbal decimal(15,2), s_comment text",
    ),
    (
        "customer",
        "c_custkey bigint, c_name text, c_address text, c_nationkey integer, c_phone text, \
         c_acctbal decimal(15,2), c_mktsegment text, c_comment text",
    ),
    (
        "part",
        "p_partkey bigint, p_name text, p_mfgr text, p_brand text, p_type text, p_size integer, \
         p_container text, p_retailprice decimal(15,2), p_comment text",
    ),
    (
        "partsupp",
        "ps_partkey bigint, ps_suppkey bigint, ps_availqty integer, ps_supplycost decimal(15,2), \
         ps_comment text",
    ),
    (
        "orders",
        "o_orderkey bigint, o_custkey bigint, o_orderstatus text, o_totalprice decimal(15,2), \
         o_orderdate date, o_orderpriority text, o_clerk text, o_shippriority integer, \
         o_comment text",
    ),
    (
        "lineitem",
        "l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber integer, \
         l_quantity decimal(15,2), l_extendedprice decimal(15,2), l_discount decimal(15,2), \
         l_tax decimal(15,2), l_returnflag text, l_linestatus text, l_shipdate date, \
         l_commitdate date, l_receiptdate date, l_shipinstruct text, l_shipmode text, \
         l_comment text",
    ),
];

use floe_catalog::pg_schema::types::quote_ident;

/// Creates the schema and tables and loads every table; prints one line per table.
pub async fn load_tpch(opts: LoadOptions) -> Result<(), LoadError> {
    if !(opts.scale > 0.0 && opts.scale.is_finite()) {
        return Err(LoadError::Scale(opts.scale));
    }
    let mut config = tokio_postgres::Config::new();
    config
        .host(&opts.host)
        .port(opts.port)
        .user(&opts.user)
        .dbname(&opts.database)
        .application_name("floe load tpch")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = &opts.password {
        config.password(p);
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|source| LoadError::Connect {
            target: format!("{}:{}", opts.host, opts.port),
            source,
        })?;
    let connection = tokio::spawn(connection);
    let schema = quote_ident(&opts.schema);
    let sql = |what: String| move |source| LoadError::Sql { what, source };
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .map_err(sql(format!("CREATE SCHEMA {}", opts.schema)))?;
    let started = Instant::now();
    let mut total = 0u64;
    for (table, columns) in TABLES {
        let qualified = format!("{schema}.{}", quote_ident(table));
        let exists = client
            .query_opt(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
                &[&opts.schema, table],
            )
            .await
            .map_err(sql(format!("looking up {}.{table}", opts.schema)))?
            .is_some();
        if exists && !opts.replace {
            return Err(LoadError::Exists(format!("{}.{table}", opts.schema)));
        }
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {qualified}; CREATE TABLE {qualified} ({columns})"
            ))
            .await
            .map_err(sql(format!("creating {}.{table}", opts.schema)))?;
        let rows = load_table(&client, &qualified, table, opts.scale).await?;
        total += rows;
    }
    println!(
        "TPC-H SF{} loaded into schema {}: {total} rows in {:.1} s",
        opts.scale,
        opts.schema,
        started.elapsed().as_secs_f64()
    );
    drop(client);
    let _ = connection.await;
    Ok(())
}

/// Streams one table's generated rows into `COPY … FROM STDIN (FORMAT csv)`.
async fn load_table(
    client: &tokio_postgres::Client,
    qualified: &str,
    table: &str,
    scale: f64,
) -> Result<u64, LoadError> {
    // Each table's generator, as CSV rows, and how many rows it makes.
    macro_rules! csv_rows {
        ($generator:ident, $csv:ident) => {
            Box::new(
                $generator::new(scale, 1, 1)
                    .iter()
                    .map(|r| Box::new($csv::new(r)) as Box<dyn Display>),
            ) as Box<dyn Iterator<Item = Box<dyn Display>>>
        };
    }
    let count = |rows: i64| rows as u64;
    let (expected, rows) = match table {
        "region" => (5, csv_rows!(RegionGenerator, RegionCsv)),
        "nation" => (25, csv_rows!(NationGenerator, NationCsv)),
        "supplier" => (
            count(SupplierGenerator::calculate_row_count(scale, 1, 1)),
            csv_rows!(SupplierGenerator, SupplierCsv),
        ),
        "customer" => (
            count(CustomerGenerator::calculate_row_count(scale, 1, 1)),
            csv_rows!(CustomerGenerator, CustomerCsv),
        ),
        "part" => (
            count(PartGenerator::calculate_row_count(scale, 1, 1)),
            csv_rows!(PartGenerator, PartCsv),
        ),
        "partsupp" => (
            count(PartSuppGenerator::calculate_row_count(scale, 1, 1)),
            csv_rows!(PartSuppGenerator, PartSuppCsv),
        ),
        "orders" => (
            count(OrderGenerator::calculate_row_count(scale, 1, 1)),
            csv_rows!(OrderGenerator, OrderCsv),
        ),
        // About four line items per order.
        _ => (
            count(OrderGenerator::calculate_row_count(scale, 1, 1)) * 4,
            csv_rows!(LineItemGenerator, LineItemCsv),
        ),
    };
    let started = Instant::now();
    let bar = ProgressBar::new(expected).with_message(table.to_string());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {human_pos:>11}/{human_len} rows {per_sec:>14} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let what = format!("COPY {table}");
    let sink = client
        .copy_in::<_, Bytes>(&format!("COPY {qualified} FROM STDIN (FORMAT csv)"))
        .await
        .map_err(|source| LoadError::Sql {
            what: what.clone(),
            source,
        })?;
    futures::pin_mut!(sink);
    let mut buf = String::with_capacity(SEND_BYTES + 4096);
    let mut count = 0u64;
    let mut since_tick = 0u64;
    for row in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(buf, "{row}");
        count += 1;
        since_tick += 1;
        if buf.len() >= SEND_BYTES {
            let chunk = Bytes::from(std::mem::replace(
                &mut buf,
                String::with_capacity(SEND_BYTES + 4096),
            ));
            sink.send(chunk).await.map_err(|source| LoadError::Sql {
                what: what.clone(),
                source,
            })?;
            bar.inc(since_tick);
            since_tick = 0;
        }
    }
    if !buf.is_empty() {
        sink.send(Bytes::from(buf))
            .await
            .map_err(|source| LoadError::Sql {
                what: what.clone(),
                source,
            })?;
    }
    let loaded = sink
        .finish()
        .await
        .map_err(|source| LoadError::Sql { what, source })?;
    bar.set_length(count);
    bar.finish_and_clear();
    println!(
        "{table:>9}: {loaded} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(loaded)
}
