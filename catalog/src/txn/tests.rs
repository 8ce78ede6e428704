//! Lake transactions against a real embedded catalog (SQLite in a temporary
//! directory, tables on the local file system): what a transaction sees of its
//! own changes, what others see before and after it commits, and what a
//! conflicting or rolled-back transaction leaves behind.

use std::collections::HashMap;

use super::LakeTxn;
use crate::error::CatalogError;
use crate::test_lake::{add_column, columns, ident, lake_with_table, open_lake, schema};

#[tokio::test]
async fn staged_changes_are_seen_only_inside_until_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, _) = lake_with_table(dir.path()).await;
    let t = ident("shop", "orders");
    let mut txn = LakeTxn::new();
    txn.create_table(&lake, &t, schema(), None, HashMap::new(), false)
        .await
        .expect("stage");
    let inside = lake.listing_in(Some(&txn)).await.expect("listing");
    assert!(inside.table("shop", "orders").is_some(), "seen inside");
    lake.forget_listing();
    let outside = lake.listing_in(None).await.expect("listing");
    assert!(
        outside.table("shop", "orders").is_none(),
        "not seen outside"
    );

    txn.commit(&lake).await.expect("commit");
    // A second lakehouse on the same catalog stands for another worker.
    let other = open_lake(dir.path()).await;
    let after = other.listing_in(None).await.expect("listing");
    assert!(
        after.table("shop", "orders").is_some(),
        "seen by every reader"
    );
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, items) = lake_with_table(dir.path()).await;
    let mut txn = LakeTxn::new();
    txn.create_schema(&lake, "staging", false)
        .await
        .expect("schema");
    txn.evolve_schema(&lake, &items, &[add_column("qty")])
        .await
        .expect("alter");
    assert!(!txn.is_empty());
    txn.rollback(&lake).await;
    lake.forget_listing();
    let listing = lake.listing_in(None).await.expect("listing");
    assert!(listing.schema("staging").is_none());
    assert_eq!(columns(&lake, &items).await, ["id", "name"]);
}

#[tokio::test]
async fn a_table_created_and_dropped_in_one_transaction_publishes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, _) = lake_with_table(dir.path()).await;
    let t = ident("shop", "scratch");
    let mut txn = LakeTxn::new();
    txn.create_table(&lake, &t, schema(), None, HashMap::new(), false)
        .await
        .expect("create");
    txn.drop_table(&lake, &t).await.expect("drop");
    assert!(txn.is_empty());
    txn.commit(&lake).await.expect("commit");
    let listing = lake.listing_in(None).await.expect("listing");
    assert!(listing.table("shop", "scratch").is_none());
}

#[tokio::test]
async fn the_second_of_two_conflicting_commits_fails_with_40001_and_publishes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, items) = lake_with_table(dir.path()).await;
    let other = open_lake(dir.path()).await;
    let t = ident("shop", "second");
    let mut first = LakeTxn::new();
    first
        .evolve_schema(&lake, &items, &[add_column("qty")])
        .await
        .expect("first alter");
    let mut second = LakeTxn::new();
    second
        .evolve_schema(&other, &items, &[add_column("price")])
        .await
        .expect("second alter");
    second
        .create_table(&other, &t, schema(), None, HashMap::new(), false)
        .await
        .expect("second create");

    first.commit(&lake).await.expect("first commit");
    let err = second
        .commit(&other)
        .await
        .expect_err("the second commit conflicts");
    assert!(matches!(err, CatalogError::CommitConflict(_)), "{err:?}");
    assert_eq!(err.sqlstate(), "40001");

    assert_eq!(columns(&lake, &items).await, ["id", "name", "qty"]);
    lake.forget_listing();
    let listing = lake.listing_in(None).await.expect("listing");
    assert!(
        listing.table("shop", "second").is_none(),
        "nothing of the failed transaction is published"
    );
}

#[tokio::test]
async fn creating_an_existing_table_fails_unless_asked_not_to() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, items) = lake_with_table(dir.path()).await;
    let mut txn = LakeTxn::new();
    let err = txn
        .create_table(&lake, &items, schema(), None, HashMap::new(), false)
        .await
        .expect_err("exists");
    assert_eq!(err.sqlstate(), "42P07");
    let none = txn
        .create_table(&lake, &items, schema(), None, HashMap::new(), true)
        .await
        .expect("if not exists");
    assert!(none.is_none());
    let err = txn
        .create_table(
            &lake,
            &ident("nowhere", "t"),
            schema(),
            None,
            HashMap::new(),
            false,
        )
        .await
        .expect_err("no schema");
    assert_eq!(err.sqlstate(), "3F000");
}

/// A data file entry for `name` with one row (the file itself need not
/// exist: a commit only records it).
fn one_row_file(name: &str) -> iceberg::spec::DataFile {
    iceberg::spec::DataFileBuilder::default()
        .content(iceberg::spec::DataContentType::Data)
        .file_path(format!("file:///nowhere/{name}.parquet"))
        .file_format(iceberg::spec::DataFileFormat::Parquet)
        .partition(iceberg::spec::Struct::empty())
        .partition_spec_id(0)
        .record_count(1)
        .file_size_in_bytes(100)
        .build()
        .expect("data file")
}

#[tokio::test]
async fn transactions_of_appends_alone_never_conflict() {
    let dir = tempfile::tempdir().expect("dir");
    let (lake, items) = lake_with_table(dir.path()).await;
    let other = open_lake(dir.path()).await;
    let mut first = LakeTxn::new();
    let mut second = LakeTxn::new();
    for (txn, on, name) in [(&mut first, &lake, "a"), (&mut second, &other, "b")] {
        txn.append_files(
            on,
            &items,
            vec![one_row_file(name)],
            iceberg::spec::Operation::Append,
        )
        .await
        .expect("append");
        txn.append_files(
            on,
            &items,
            vec![one_row_file(&format!("{name}2"))],
            iceberg::spec::Operation::Append,
        )
        .await
        .expect("append");
    }
    first.commit(&lake).await.expect("first commit");
    // The second lost the race; its appends are replayed on the first's snapshot.
    second.commit(&other).await.expect("second commit");
    lake.forget_table(&items);
    let table = lake.table(&items).await.expect("table");
    let summary = &table
        .metadata()
        .current_snapshot()
        .expect("snapshot")
        .summary()
        .additional_properties;
    assert_eq!(summary.get("total-records").map(String::as_str), Some("4"));
    // The first's two snapshots, then the second's appends replayed as one.
    assert_eq!(table.metadata().snapshots().count(), 3);
}
