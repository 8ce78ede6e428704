//! A lake relation as the PostgreSQL catalog shows it: a table or a view, its
//! current columns, comment, definition and what a view reads.

use std::collections::HashMap;

use iceberg::spec::Schema;

use crate::objects::table_rules::TableRules;

/// Whether a relation is a table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
}

/// One lake table or view with its current columns.
pub struct TableColumns<'a> {
    pub schema: &'a str,
    pub table: &'a str,
    pub columns: &'a Schema,
    pub kind: RelationKind,
    /// COMMENT ON TABLE / VIEW.
    pub comment: Option<&'a str>,
    /// A view's defining query.
    pub definition: Option<&'a str>,
    /// The lake tables and views a view reads, as (schema, name).
    pub depends_on: Vec<(String, String)>,
    /// The bytes of its files (`pg_table_size`); `None` when unknown.
    pub size_bytes: Option<u64>,
    /// The declared length of each `character varying(n)` column, by field id.
    pub lengths: HashMap<i32, u32>,
    /// Defaults, identity columns and constraints (tables only).
    pub rules: TableRules,
}
