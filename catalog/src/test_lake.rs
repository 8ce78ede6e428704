//! What the catalog's unit tests start from: an embedded lakehouse (SQLite
//! catalog, local warehouse) in a temporary directory, with one schema and one
//! table committed.

use std::collections::HashMap;
use std::time::Duration;

use iceberg::spec::{NestedField, PrimitiveType, Schema, Type};
use iceberg::TableIdent;

use crate::lakehouse::{LakeConfig, Lakehouse};
use crate::objects::tables::SchemaChange;
use crate::txn::LakeTxn;

/// The embedded lakehouse under `dir` (a second call opens the same catalog,
/// as another worker would).
pub async fn open_lake(dir: &std::path::Path) -> Lakehouse {
    Lakehouse::open(LakeConfig::embedded(dir, Duration::ZERO))
        .await
        .expect("open lake")
}

/// `id bigint NOT NULL, name text`.
pub fn schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)).into(),
            NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)).into(),
        ])
        .build()
        .expect("schema")
}

pub fn ident(schema: &str, table: &str) -> TableIdent {
    TableIdent::from_strs([schema, table]).expect("ident")
}

/// ADD COLUMN `name` integer.
pub fn add_column(name: &str) -> SchemaChange {
    SchemaChange::Add {
        name: name.into(),
        field_type: Type::Primitive(PrimitiveType::Int),
        max_length: None,
        if_not_exists: false,
    }
}

/// The column names of `t` as a fresh reader sees them.
pub async fn columns(lake: &Lakehouse, t: &TableIdent) -> Vec<String> {
    lake.forget_listing();
    lake.forget_table(t);
    let table = lake.table_in(None, t).await.expect("table");
    table
        .metadata()
        .current_schema()
        .as_struct()
        .fields()
        .iter()
        .map(|f| f.name.clone())
        .collect()
}

/// A lake under `dir` with schema `shop` and table `shop.items`, committed.
pub async fn lake_with_table(dir: &std::path::Path) -> (Lakehouse, TableIdent) {
    let lake = open_lake(dir).await;
    let t = ident("shop", "items");
    let mut txn = LakeTxn::new();
    txn.create_schema(&lake, "shop", false)
        .await
        .expect("create schema");
    txn.create_table(&lake, &t, schema(), None, HashMap::new(), false)
        .await
        .expect("create table");
    txn.commit(&lake).await.expect("commit");
    (lake, t)
}
