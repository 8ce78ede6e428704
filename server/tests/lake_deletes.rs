//! Iceberg v2 delete files end to end: position and equality delete files
//! written with iceberg-rust's writers (PyIceberg cannot write them) and
//! committed with Floe's snapshot commit, then read through `floe serve`. Also
//! the sequence-number rule (an equality delete does not touch rows added
//! after it) and the refusal of deletion vectors.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use common::FloeServer;
use floe_catalog::{LakeConfig, Lakehouse};
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::spec::{
    DataContentType, DataFile, DataFileBuilder, DataFileFormat, NestedField, Operation,
    PrimitiveType, Schema, Struct, Type,
};
use iceberg::table::Table;
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::base_writer::equality_delete_writer::{
    EqualityDeleteFileWriterBuilder, EqualityDeleteWriterConfig,
};
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::{NamespaceIdent, TableCreation};
use parquet::file::properties::WriterProperties;

async fn open_lake(data_dir: &std::path::Path) -> Lakehouse {
    Lakehouse::open(LakeConfig::embedded(data_dir, Duration::ZERO))
        .await
        .expect("open lake")
}

fn item_schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)).into(),
            NestedField::required(2, "name", Type::Primitive(PrimitiveType::String)).into(),
            NestedField::optional(3, "qty", Type::Primitive(PrimitiveType::Int)).into(),
        ])
        .build()
        .expect("schema")
}

async fn create_table(lake: &Lakehouse, name: &str) -> Table {
    let ns = NamespaceIdent::new("shop".into());
    if !lake.catalog().namespace_exists(&ns).await.expect("ns") {
        lake.catalog()
            .create_namespace(&ns, HashMap::new())
            .await
            .expect("create namespace");
    }
    lake.catalog()
        .create_table(
            &ns,
            TableCreation::builder()
                .name(name.into())
                .schema(item_schema())
                .build(),
        )
        .await
        .expect("create table")
}

fn rolling(
    table: &Table,
    schema: Arc<Schema>,
    prefix: &str,
) -> RollingFileWriterBuilder<
    ParquetWriterBuilder,
    DefaultLocationGenerator,
    DefaultFileNameGenerator,
> {
    RollingFileWriterBuilder::new_with_default_file_size(
        ParquetWriterBuilder::new(WriterProperties::default(), schema),
        table.file_io().clone(),
        DefaultLocationGenerator::new(table.metadata()).expect("locations"),
        DefaultFileNameGenerator::new(prefix.into(), None, DataFileFormat::Parquet),
    )
}

fn items(rows: &[(i64, &str, Option<i32>)]) -> RecordBatch {
    let schema = Arc::new(schema_to_arrow_schema(&item_schema()).expect("arrow schema"));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.2))),
    ];
    RecordBatch::try_new(schema, columns).expect("batch")
}

async fn write_data(table: &Table, prefix: &str, rows: &[(i64, &str, Option<i32>)]) -> DataFile {
    let schema = table.metadata().current_schema().clone();
    let mut w = DataFileWriterBuilder::new(rolling(table, schema, prefix))
        .build(None)
        .await
        .expect("data writer");
    w.write(items(rows)).await.expect("write");
    let mut files = w.close().await.expect("close");
    assert_eq!(files.len(), 1);
    files.remove(0)
}

/// A position delete file (the spec's `file_path`, `pos` schema) for `positions`
/// of `data`.
async fn write_position_deletes(table: &Table, data: &DataFile, positions: &[i64]) -> DataFile {
    let schema = Arc::new(
        Schema::builder()
            .with_fields(vec![
                NestedField::required(
                    2147483546,
                    "file_path",
                    Type::Primitive(PrimitiveType::String),
                )
                .into(),
                NestedField::required(2147483545, "pos", Type::Primitive(PrimitiveType::Long))
                    .into(),
            ])
            .build()
            .expect("delete schema"),
    );
    let arrow = Arc::new(schema_to_arrow_schema(&schema).expect("arrow"));
    let batch = RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(StringArray::from_iter_values(
                positions.iter().map(|_| data.file_path()),
            )) as ArrayRef,
            Arc::new(Int64Array::from_iter_values(positions.iter().copied())),
        ],
    )
    .expect("batch");
    let mut w = rolling(table, schema, "pos-del").build();
    w.write(&None, &batch).await.expect("write");
    let mut builders: Vec<DataFileBuilder> = w.close().await.expect("close");
    assert_eq!(builders.len(), 1);
    builders
        .remove(0)
        .content(DataContentType::PositionDeletes)
        .partition(Struct::empty())
        .partition_spec_id(0)
        .build()
        .expect("delete file")
}

/// An equality delete file on `name`, deleting every row with one of `names`.
async fn write_equality_deletes(table: &Table, names: &[&str]) -> DataFile {
    let schema = table.metadata().current_schema().clone();
    let config = EqualityDeleteWriterConfig::new(vec![2], schema).expect("config");
    let delete_schema = Arc::new(
        iceberg::arrow::arrow_schema_to_schema(config.projected_arrow_schema_ref())
            .expect("projected schema"),
    );
    let mut w =
        EqualityDeleteFileWriterBuilder::new(rolling(table, delete_schema, "eq-del"), config)
            .build(None)
            .await
            .expect("writer");
    let rows: Vec<(i64, &str, Option<i32>)> = names.iter().map(|n| (0, *n, None)).collect();
    w.write(items(&rows)).await.expect("write");
    let mut files = w.close().await.expect("close");
    assert_eq!(files.len(), 1);
    files.remove(0)
}

async fn ids(c: &tokio_postgres::Client, sql: &str) -> Vec<i64> {
    // The server refreshes table metadata every second.
    c.query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn wait_for_ids(c: &tokio_postgres::Client, sql: &str, want: &[i64]) {
    let mut got = Vec::new();
    for _ in 0..50 {
        got = ids(c, sql).await;
        if got == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got, want, "{sql}");
}

#[tokio::test(flavor = "multi_thread")]
async fn position_and_equality_deletes_are_applied() {
    let server = FloeServer::start();
    let lake = open_lake(server.data_dir.path()).await;
    let table = create_table(&lake, "items").await;
    let a = write_data(
        &table,
        "a",
        &[
            (1, "apple", Some(3)),
            (2, "pear", Some(1)),
            (3, "plum", None),
            (4, "fig", Some(7)),
            (5, "kiwi", Some(2)),
            (6, "pear", Some(5)),
        ],
    )
    .await;
    let b = write_data(
        &table,
        "b",
        &[
            (7, "pear", Some(1)),
            (8, "lime", Some(4)),
            (9, "date", None),
        ],
    )
    .await;
    let table = lake
        .append_files(&table, vec![a.clone(), b], Operation::Append)
        .await
        .expect("append");
    let first = table.metadata().current_snapshot_id().expect("snapshot");

    let c = server.connect().await;
    let all = "SELECT id FROM shop.items ORDER BY id";
    wait_for_ids(&c, all, &[1, 2, 3, 4, 5, 6, 7, 8, 9]).await;

    // Position deletes: rows 1 and 4 of file a (ids 2 and 5).
    let pos = write_position_deletes(&table, &a, &[1, 4]).await;
    let table = lake
        .append_files(&table, vec![pos], Operation::Delete)
        .await
        .expect("commit position deletes");
    let after_pos = table.metadata().current_snapshot_id().expect("snapshot");
    wait_for_ids(&c, all, &[1, 3, 4, 6, 7, 8, 9]).await;

    // Equality deletes on name: every pear so far (6 in a, 7 in b; 2 is gone).
    let eq = write_equality_deletes(&table, &["pear", "date"]).await;
    let table = lake
        .append_files(&table, vec![eq], Operation::Delete)
        .await
        .expect("commit equality deletes");
    wait_for_ids(&c, all, &[1, 3, 4, 8]).await;

    // A pear added after the equality delete has a higher sequence number: kept.
    let later = write_data(&table, "c", &[(10, "pear", Some(9))]).await;
    lake.append_files(&table, vec![later], Operation::Append)
        .await
        .expect("append later");
    wait_for_ids(&c, all, &[1, 3, 4, 8, 10]).await;

    // Predicates and aggregates see the same rows; older snapshots are unaffected.
    let n: i64 = common::scalar(&c, "SELECT count(*) FROM shop.items WHERE name = 'pear'").await;
    assert_eq!(n, 1);
    assert_eq!(
        ids(
            &c,
            &format!("SELECT id FROM shop.items AT (VERSION => {first}) ORDER BY id")
        )
        .await,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
    assert_eq!(
        ids(
            &c,
            &format!("SELECT id FROM shop.items AT (VERSION => {after_pos}) ORDER BY id")
        )
        .await,
        vec![1, 3, 4, 6, 7, 8, 9]
    );
    // Prepared statements are re-planned when the table moves on.
    let stmt = c.prepare(all).await.expect("prepare");
    let before: Vec<i64> = c
        .query(&stmt, &[])
        .await
        .expect("q")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(before, vec![1, 3, 4, 8, 10]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deletion_vectors_are_refused_not_ignored() {
    let server = FloeServer::start();
    let lake = open_lake(server.data_dir.path()).await;
    let table = create_table(&lake, "dv").await;
    let a = write_data(&table, "a", &[(1, "apple", None), (2, "pear", None)]).await;
    let table = lake
        .append_files(&table, vec![a.clone()], Operation::Append)
        .await
        .expect("append");
    let c = server.connect().await;
    wait_for_ids(&c, "SELECT id FROM shop.dv ORDER BY id", &[1, 2]).await;

    // A deletion vector (a Puffin blob) for row 1 of the data file.
    let dv = DataFileBuilder::default()
        .content(DataContentType::PositionDeletes)
        .file_path(format!("{}/data/dv-1.puffin", table.metadata().location()))
        .file_format(DataFileFormat::Puffin)
        .partition(Struct::empty())
        .partition_spec_id(0)
        .record_count(1)
        .file_size_in_bytes(64)
        .referenced_data_file(Some(a.file_path().to_string()))
        .content_offset(Some(4))
        .content_size_in_bytes(Some(40))
        .build()
        .expect("dv");
    lake.append_files(&table, vec![dv], Operation::Delete)
        .await
        .expect("commit dv");
    let mut refused = None;
    for _ in 0..50 {
        match c.query("SELECT id FROM shop.dv", &[]).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("a table with deletion vectors must not be read");
    let db = e.as_db_error().expect("db error");
    assert_eq!(db.code().code(), "0A000", "{db:?}");
    assert!(db.message().contains("deletion vector"), "{}", db.message());
    // The session goes on.
    let one: i32 = c.query_one("SELECT 1", &[]).await.expect("alive").get(0);
    assert_eq!(one, 1);
}
