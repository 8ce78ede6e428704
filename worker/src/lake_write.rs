//! Writes to lake tables. `CREATE TABLE` and `DROP TABLE` on a lake schema change
//! the catalog; `INSERT` and `CREATE TABLE … AS` run their query in DuckDB, which
//! writes one Parquet file with the table's field ids to the worker's staging
//! directory; the file is checked (NOT NULL columns), uploaded to the table's
//! data location and committed as a new Iceberg snapshot, retried on a
//! concurrent commit. A statement that fails leaves no trace: the staged and
//! uploaded files are removed and a table created for it is dropped.
//!
//! A table belongs to the lake when its schema is a lake namespace (named, or the
//! first existing schema of `search_path`); other tables stay in the session's
//! DuckDB as before.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use floe_catalog::tables::SchemaChange;
use floe_catalog::types::{duck_type, quote_ident};
use floe_catalog::{plan_scan, CatalogError, LakeTxn, Listing, SnapshotSelector, WrittenFile};

use crate::lake_views::{resolve_view, CommentTarget, ViewDdl};
use iceberg::spec::{
    DataContentType, DataFile, NestedField, Operation, Struct, Transform, Type,
    UnboundPartitionField, UnboundPartitionSpec,
};
use iceberg::table::Table;
use iceberg::{NamespaceIdent, TableIdent};
use sqlparser::ast::{
    AlterTableOperation, AssignmentTarget, ColumnOption, Expr, FromTable, FunctionArg,
    FunctionArgExpr, FunctionArguments, ObjectName, ObjectType, RenameTableNameKind, SetExpr,
    Statement, TableAlias, TableConstraint, TableFactor, TableObject, TableWithJoins, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::duck::Connection;
use crate::lake::{resolve, resolve_with, search_path, LakeReader, NameContext, Rewritten};
use crate::lake_partition;
use crate::lake_refs::fold;
use crate::lake_scan_sql;
use crate::lake_schema::{self, ColumnSpec};
use crate::pg_error::{FromDuckdb, PgError};
use crate::sql_text::{self, identifier, Tok, Token};

/// Commits retried after a concurrent commit before giving up (40001); with the
/// backoff below that is about half a minute of contention.
const COMMIT_ATTEMPTS: usize = 200;

/// Waits before commit attempt `attempt` + 1: random, growing to 200 ms, so
/// writers that collided do not collide again in step.
fn backoff(attempt: usize) {
    let ceiling = (5u64 << attempt.min(6)).min(200);
    let ms = rand::random_range(1..=ceiling);
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// A lake statement that changes the catalog only.
#[derive(Debug)]
pub enum LakeDdl {
    CreateTable {
        ident: TableIdent,
        schema: Box<iceberg::spec::Schema>,
        partition: Option<UnboundPartitionSpec>,
        /// The declared lengths of `character varying(n)` columns.
        properties: HashMap<String, String>,
        if_not_exists: bool,
    },
    /// `CREATE TABLE … AS query` (the query already has its lake reads spliced).
    CreateTableAs {
        ident: TableIdent,
        query: String,
        column_names: Vec<String>,
        partition: Vec<PartitionColumn>,
        if_not_exists: bool,
        with_data: bool,
    },
    DropTables {
        tables: Vec<DropTarget>,
        /// Views that read the tables, dropped with them (CASCADE).
        views: Vec<TableIdent>,
    },
    /// `TRUNCATE`: a snapshot without files for each table.
    Truncate { tables: Vec<TableIdent> },
    /// `ALTER TABLE … ADD/DROP/RENAME COLUMN`: a new current schema.
    AlterColumns {
        ident: TableIdent,
        changes: Vec<SchemaChange>,
    },
    /// `ALTER TABLE … RENAME TO`.
    Rename { from: TableIdent, to: TableIdent },
    /// A statement with nothing to do (`IF EXISTS` on a missing table).
    Nothing(&'static str),
    /// A view statement or COMMENT ON.
    View(ViewDdl),
}

/// A partition field as declared: `day(ts)` is transform `day` of column `ts`.
#[derive(Debug, Clone)]
pub struct PartitionColumn {
    pub column: String,
    pub transform: Transform,
}

#[derive(Debug)]
pub enum DropTarget {
    Iceberg(TableIdent),
    Parquet(NamespaceIdent, String),
}

/// The commit half of an `INSERT`: the engine has written `staged`.
#[derive(Debug)]
pub struct LakeInsert {
    pub table: TableIdent,
    pub staged: PathBuf,
    /// The schema the data was written with (a schema change since fails).
    pub schema_id: i32,
}

/// The data files a statement planned: partition and spec id by location.
pub type PlannedFiles = HashMap<String, (Struct, i32)>;

/// The commit half of a `DELETE`: the engine has written the positions of the
/// deleted rows under `staged`, one directory per data file.
#[derive(Debug)]
pub struct LakeDelete {
    pub table: TableIdent,
    pub staged: PathBuf,
    pub data_files: PlannedFiles,
}

/// The commit half of an `UPDATE`: the engine has written the matching rows'
/// positions and new values to `rows`; `deletes_sql` and `rows_sql` turn those
/// into the staged delete files and data files.
#[derive(Debug)]
pub struct LakeUpdate {
    pub rows: PathBuf,
    pub deletes_sql: String,
    pub rows_sql: String,
    pub delete: LakeDelete,
    pub insert: LakeInsert,
}

/// What is committed after the engine ran a statement's COPY.
#[derive(Debug)]
pub enum LakeCommit {
    Insert(LakeInsert),
    Delete(LakeDelete),
    Update(Box<LakeUpdate>),
}

impl LakeCommit {
    /// Removes whatever the statement staged (after a commit, or when the
    /// engine failed part way).
    pub fn discard(&self) {
        let staged = match self {
            LakeCommit::Insert(i) => vec![&i.staged],
            LakeCommit::Delete(d) => vec![&d.staged],
            LakeCommit::Update(u) => vec![&u.rows, &u.delete.staged, &u.insert.staged],
        };
        for path in staged {
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(path);
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// What a statement that writes to the lake turns into.
pub enum WritePlan {
    Ddl(LakeDdl),
    /// DuckDB runs `copy_sql` (parameters and all), then `commit` commits.
    Staged {
        commit: LakeCommit,
        copy_sql: String,
        rewritten: Option<crate::lake::Rewritten>,
    },
}

/// Iceberg's reserved field ids of a position delete file's columns.
const DELETE_FILE_PATH_ID: i32 = 2147483546;
const DELETE_POS_ID: i32 = 2147483545;

impl LakeReader {
    /// The write plan of `sql` if it creates, drops or inserts into a lake table;
    /// `None` for every other statement (DuckDB runs those as they are).
    pub fn plan_write(
        &self,
        sql: &str,
        tokens: &[Token],
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<WritePlan>, PgError> {
        let words = sql_text::leading_words(tokens, 3);
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        let candidate = matches!(
            (w(0), w(1)),
            ("CREATE", "TABLE")
                | ("CREATE", "UNLOGGED")
                | ("DROP", "TABLE")
                | ("INSERT", "INTO")
                | ("DELETE", "FROM")
                | ("UPDATE", _)
                | ("TRUNCATE", _)
                | ("ALTER", "TABLE")
                | ("ALTER", "VIEW")
                | ("CREATE", "VIEW")
                | ("CREATE", "OR")
                | ("CREATE", "MATERIALIZED")
                | ("CREATE", "RECURSIVE")
                | ("DROP", "VIEW")
                | ("COMMENT", "ON")
        );
        if !candidate {
            return Ok(None);
        }
        let listing = self.listing(names.txn, runtime)?;
        if listing.schemas.is_empty() {
            return Ok(None);
        }
        if let Some(view) = self.plan_view_ddl(sql, tokens, &listing, conn, runtime, names)? {
            return Ok(Some(WritePlan::Ddl(LakeDdl::View(view))));
        }
        if w(0) == "CREATE" {
            if let Some(ctas) = ctas_parts(sql, tokens) {
                let Some((namespace, table)) = create_target(&listing, &ctas.name, names) else {
                    return Ok(None);
                };
                let partition = match &ctas.partition_by {
                    Some(text) => {
                        let expr = Parser::new(&PostgreSqlDialect {})
                            .try_with_sql(text)
                            .and_then(|mut p| p.parse_expr())
                            .map_err(|e| PgError::new("42601", e.to_string()))?;
                        partition_columns(&expr)?
                    }
                    None => Vec::new(),
                };
                let query = match self.rewrite(
                    &ctas.query,
                    &sql_text::tokenize(&ctas.query),
                    runtime,
                    names,
                )? {
                    Some(r) => r.sql,
                    None => ctas.query,
                };
                return Ok(Some(WritePlan::Ddl(LakeDdl::CreateTableAs {
                    ident: TableIdent::new(namespace, table),
                    query,
                    column_names: ctas.columns,
                    partition,
                    if_not_exists: ctas.if_not_exists,
                    with_data: ctas.with_data,
                })));
            }
        }
        let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
            return Ok(None);
        };
        if statements.len() != 1 {
            return Ok(None);
        }
        match statements.remove(0) {
            Statement::CreateTable(ct) if !ct.temporary => {
                let Some((namespace, table)) = create_target(&listing, &parts(&ct.name), names)
                else {
                    return Ok(None);
                };
                let ident = TableIdent::new(namespace, table);
                let partition = match &ct.partition_by {
                    Some(e) => partition_columns(e)?,
                    None => Vec::new(),
                };
                if ct.or_replace {
                    return Err(unsupported("CREATE OR REPLACE TABLE on a lake table"));
                }
                if ct.query.is_some() {
                    return Ok(None);
                }
                let mut primary_key: Vec<String> = Vec::new();
                for c in &ct.constraints {
                    match c {
                        TableConstraint::PrimaryKey { columns, .. } => {
                            for c in columns {
                                match &c.column.expr {
                                    Expr::Identifier(id) => primary_key.push(fold(id)),
                                    other => {
                                        return Err(PgError::new(
                                            "42601",
                                            format!("PRIMARY KEY ({other}) must name columns"),
                                        ))
                                    }
                                }
                            }
                        }
                        _ => {
                            return Err(unsupported(
                                "UNIQUE, CHECK and FOREIGN KEY constraints on lake tables",
                            ))
                        }
                    }
                }
                let mut columns = Vec::with_capacity(ct.columns.len());
                let mut lengths = Vec::new();
                for c in &ct.columns {
                    let name = fold(&c.name);
                    let mut required = primary_key.contains(&name);
                    for o in &c.options {
                        match &o.option {
                            ColumnOption::NotNull => required = true,
                            ColumnOption::Null => {}
                            ColumnOption::Unique {
                                is_primary: true, ..
                            } => {
                                required = true;
                                primary_key.push(name.clone());
                            }
                            ColumnOption::Default(Expr::Value(v))
                                if matches!(v.value, Value::Null) => {}
                            _ => {
                                return Err(unsupported(&format!(
                                    "column option {} on a lake table",
                                    o.option
                                )))
                            }
                        }
                    }
                    let declared = c.data_type.to_string();
                    // Top-level columns take field ids 1, 2, … (build_schema).
                    if let Some(n) = lake_schema::declared_length(&declared) {
                        lengths.push((columns.len() as i32 + 1, n));
                    }
                    columns.push(ColumnSpec {
                        field_type: lake_schema::from_declared(&declared)?,
                        name,
                        required,
                    });
                }
                for p in &partition {
                    if !columns.iter().any(|c| c.name == p.column) {
                        return Err(no_column(&p.column, ident.name()));
                    }
                }
                let schema = lake_schema::build_schema(columns, &primary_key)?;
                let partition = partition_spec(&schema, &partition)?;
                Ok(Some(WritePlan::Ddl(LakeDdl::CreateTable {
                    ident,
                    schema: Box::new(schema),
                    partition,
                    properties: floe_catalog::tables::declared_type_properties(&lengths),
                    if_not_exists: ct.if_not_exists,
                })))
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names: dropped,
                cascade,
                ..
            } => {
                let mut tables = Vec::new();
                let mut local = 0;
                for name in &dropped {
                    let parts = parts(name);
                    if resolve_view(&listing, &parts, names).is_some() {
                        return Err(PgError::new("42809", format!("\"{name}\" is not a table"))
                            .with_hint("Use DROP VIEW to remove a view."));
                    }
                    if let Some(ident) = resolve(&listing, &parts, names) {
                        tables.push(DropTarget::Iceberg(ident));
                    } else if let Some((ns, t)) = resolve_parquet(&listing, &parts, names) {
                        tables.push(DropTarget::Parquet(ns, t));
                    } else if lake_schema_named(&listing, &parts, names) {
                        if !if_exists {
                            return Err(PgError::new(
                                "42P01",
                                format!("table \"{}\" does not exist", name),
                            ));
                        }
                    } else {
                        local += 1;
                    }
                }
                match (tables.is_empty(), local) {
                    (_, 0) => {
                        let idents: Vec<TableIdent> = tables
                            .iter()
                            .map(|t| match t {
                                DropTarget::Iceberg(i) => i.clone(),
                                DropTarget::Parquet(ns, name) => {
                                    TableIdent::new(ns.clone(), name.clone())
                                }
                            })
                            .collect();
                        let views = self
                            .drop_dependents(&listing, &idents, cascade, "table", runtime, names)?;
                        Ok(Some(WritePlan::Ddl(LakeDdl::DropTables { tables, views })))
                    }
                    (true, _) => Ok(None),
                    (false, _) => Err(unsupported(
                        "DROP TABLE of lake tables and session tables in one statement",
                    )),
                }
            }
            Statement::Truncate {
                table_names,
                partitions: None,
                ..
            } => {
                let mut tables = Vec::new();
                for t in &table_names {
                    tables.extend(writable_table(&listing, &t.name, names, "truncate")?);
                }
                match (tables.len(), table_names.len()) {
                    (0, _) => Ok(None),
                    (n, m) if n == m => Ok(Some(WritePlan::Ddl(LakeDdl::Truncate { tables }))),
                    _ => Err(unsupported(
                        "TRUNCATE of lake tables and session tables in one statement",
                    )),
                }
            }
            Statement::AlterTable {
                name,
                if_exists,
                operations,
                ..
            } => {
                let Some(ident) = writable_table(&listing, &name, names, "alter")? else {
                    if lake_schema_named(&listing, &parts(&name), names) {
                        return if if_exists {
                            Ok(Some(WritePlan::Ddl(LakeDdl::Nothing("ALTER TABLE"))))
                        } else {
                            Err(PgError::new(
                                "42P01",
                                format!("relation \"{name}\" does not exist"),
                            ))
                        };
                    }
                    return Ok(None);
                };
                let mut changes = Vec::new();
                for op in &operations {
                    match op {
                        AlterTableOperation::RenameTable { table_name }
                            if operations.len() == 1 =>
                        {
                            let (RenameTableNameKind::To(new) | RenameTableNameKind::As(new)) =
                                table_name;
                            let new_parts = self::parts(new);
                            let Some(new_name) = new_parts.last() else {
                                return Err(PgError::new("42601", "RENAME TO needs a name"));
                            };
                            return Ok(Some(WritePlan::Ddl(LakeDdl::Rename {
                                to: TableIdent::new(ident.namespace().clone(), new_name.clone()),
                                from: ident,
                            })));
                        }
                        AlterTableOperation::AddColumn {
                            if_not_exists,
                            column_def,
                            ..
                        } => {
                            for o in &column_def.options {
                                match &o.option {
                                    ColumnOption::Null => {}
                                    ColumnOption::Default(Expr::Value(v)) if matches!(v.value, Value::Null) => {}
                                    other => {
                                        return Err(unsupported(&format!(
                                            "ADD COLUMN … {other} on a lake table (existing rows read the new column as NULL)"
                                        )))
                                    }
                                }
                            }
                            let declared = column_def.data_type.to_string();
                            changes.push(SchemaChange::Add {
                                name: fold(&column_def.name),
                                field_type: lake_schema::from_declared(&declared)?,
                                max_length: lake_schema::declared_length(&declared),
                                if_not_exists: *if_not_exists,
                            });
                        }
                        AlterTableOperation::DropColumn {
                            column_names,
                            if_exists,
                            ..
                        } => {
                            for c in column_names {
                                changes.push(SchemaChange::Drop {
                                    name: fold(c),
                                    if_exists: *if_exists,
                                });
                            }
                        }
                        AlterTableOperation::RenameColumn {
                            old_column_name,
                            new_column_name,
                        } => changes.push(SchemaChange::Rename {
                            from: fold(old_column_name),
                            to: fold(new_column_name),
                        }),
                        other => {
                            return Err(unsupported(&format!(
                                "ALTER TABLE … {other} on a lake table"
                            )))
                        }
                    }
                }
                Ok(Some(WritePlan::Ddl(LakeDdl::AlterColumns {
                    ident,
                    changes,
                })))
            }
            Statement::Insert(insert) => {
                let TableObject::TableName(name) = &insert.table else {
                    return Ok(None);
                };
                let Some(ident) = writable_table(&listing, name, names, "insert into")? else {
                    return Ok(None);
                };
                if insert.on.is_some() || insert.returning.is_some() {
                    return Err(unsupported("ON CONFLICT and RETURNING on lake tables"));
                }
                let table = self.table(names.txn, &ident, runtime)?;
                let target: Vec<String> = insert.columns.iter().map(fold).collect();
                let source =
                    insert_source(sql, tokens, !target.is_empty(), insert.source.is_none())?;
                // A VALUES list's width is known from the text (with parameters,
                // the engine cannot describe it before they are bound).
                let values_width = insert.source.as_ref().and_then(|q| match q.body.as_ref() {
                    SetExpr::Values(v) => v.rows.first().map(Vec::len),
                    _ => None,
                });
                let rewritten =
                    self.rewrite(&source, &sql_text::tokenize(&source), runtime, names)?;
                let source = rewritten.as_ref().map_or(source, |r| r.sql.clone());
                let staged = self.staging_path(&table);
                let copy_sql = insert_copy(conn, &table, &target, &source, values_width, &staged)?;
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Insert(LakeInsert {
                        table: ident,
                        staged,
                        schema_id: table.metadata().current_schema_id(),
                    }),
                    copy_sql,
                    rewritten,
                }))
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) =
                    &delete.from;
                let [TableWithJoins {
                    relation: TableFactor::Table { name, alias, .. },
                    joins,
                }] = from.as_slice()
                else {
                    return Ok(None);
                };
                let Some(ident) = writable_table(&listing, name, names, "delete from")? else {
                    return Ok(None);
                };
                if !joins.is_empty()
                    || delete.returning.is_some()
                    || delete.limit.is_some()
                    || !delete.order_by.is_empty()
                {
                    return Err(unsupported(
                        "DELETE … RETURNING, ORDER BY and LIMIT on lake tables",
                    ));
                }
                let using = delete
                    .using
                    .as_ref()
                    .and_then(|_| joined_tables(sql, tokens, "USING", "DELETE"));
                let target = RowsScan::new(&ident, name, alias.as_ref(), sql, tokens, using);
                let (rewritten, data_files) =
                    self.plan_rows(&target.select("DISTINCT", &[]), &ident, runtime, names)?;
                let staged = self.staging_dir().join(uuid::Uuid::new_v4().to_string());
                let copy_sql = deletes_copy(&rewritten.sql, &staged);
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Delete(LakeDelete {
                        table: ident,
                        staged,
                        data_files,
                    }),
                    copy_sql,
                    rewritten: Some(rewritten),
                }))
            }
            Statement::Update {
                table: target,
                assignments,
                from,
                selection: _,
                returning,
                limit,
                ..
            } => {
                let TableWithJoins {
                    relation: TableFactor::Table { name, alias, .. },
                    joins,
                } = &target
                else {
                    return Ok(None);
                };
                let Some(ident) = writable_table(&listing, name, names, "update")? else {
                    return Ok(None);
                };
                if !joins.is_empty() || returning.is_some() || limit.is_some() {
                    return Err(unsupported("UPDATE … RETURNING and LIMIT on lake tables"));
                }
                let joined = from
                    .as_ref()
                    .and_then(|_| joined_tables(sql, tokens, "FROM", "SET"));
                let table = self.table(names.txn, &ident, runtime)?;
                let schema = table.metadata().current_schema().clone();
                let mut set: HashMap<String, String> = HashMap::new();
                for a in &assignments {
                    let AssignmentTarget::ColumnName(column) = &a.target else {
                        return Err(unsupported("UPDATE … SET (a, b) = (…) on lake tables"));
                    };
                    let column = self::parts(column).pop().unwrap_or_default();
                    if schema.field_by_name(&column).is_none() {
                        return Err(no_column(&column, ident.name()));
                    }
                    set.insert(column, a.value.to_string());
                }
                let joins_tables = joined.is_some();
                let target = RowsScan::new(&ident, name, alias.as_ref(), sql, tokens, joined);
                let columns: Vec<String> = schema
                    .as_struct()
                    .fields()
                    .iter()
                    .map(|f| match set.get(&f.name) {
                        Some(value) => format!("({value}) AS {}", quote_ident(&f.name)),
                        None => format!("{}.{}", target.qualifier, quote_ident(&f.name)),
                    })
                    .collect();
                // Joined rows can match a target row more than once: it is
                // updated once, with one of them (as Postgres does).
                let modifier = if joins_tables {
                    format!(
                        "DISTINCT ON ({q}.{}, {q}.{})",
                        lake_scan_sql::FILE_COLUMN,
                        lake_scan_sql::POS_COLUMN,
                        q = target.qualifier
                    )
                } else {
                    String::new()
                };
                let (rewritten, data_files) =
                    self.plan_rows(&target.select(&modifier, &columns), &ident, runtime, names)?;
                let id = uuid::Uuid::new_v4();
                let rows = self.staging_dir().join(format!("{id}-rows.parquet"));
                let rows_literal = format!("'{}'", rows.display().to_string().replace('\'', "''"));
                let copy_sql = format!(
                    "COPY ({}) TO {rows_literal} (FORMAT parquet)",
                    rewritten.sql
                );
                let deletes_dir = self.staging_dir().join(format!("{id}-deletes"));
                let deletes_sql = deletes_copy(
                    &format!("SELECT * FROM read_parquet({rows_literal})"),
                    &deletes_dir,
                );
                let names_list: Vec<String> = schema
                    .as_struct()
                    .fields()
                    .iter()
                    .map(|f| quote_ident(&f.name))
                    .collect();
                let new_rows = self.staging_path(&table);
                let rows_sql = insert_copy(
                    conn,
                    &table,
                    &[],
                    &format!(
                        "SELECT {} FROM read_parquet({rows_literal})",
                        names_list.join(", ")
                    ),
                    Some(names_list.len()),
                    &new_rows,
                )?;
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Update(Box::new(LakeUpdate {
                        rows,
                        deletes_sql,
                        rows_sql,
                        delete: LakeDelete {
                            table: ident.clone(),
                            staged: deletes_dir,
                            data_files,
                        },
                        insert: LakeInsert {
                            table: ident,
                            staged: new_rows,
                            schema_id: schema.schema_id(),
                        },
                    })),
                    copy_sql,
                    rewritten: Some(rewritten),
                }))
            }
            _ => Ok(None),
        }
    }

    /// Plans `select` (a `RowsScan` of `ident`) with each row's data file and
    /// position; returns it with the planned data files' partitions and specs.
    fn plan_rows(
        &self,
        select: &str,
        ident: &TableIdent,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<(Rewritten, PlannedFiles), PgError> {
        let rewritten = self
            .rewrite_with_positions(
                select,
                &sql_text::tokenize(select),
                runtime,
                names,
                Some(ident),
            )?
            .ok_or_else(|| PgError::new("XX000", "the changed table was not planned"))?;
        let data_files = rewritten
            .target_files
            .iter()
            .map(|(location, partition, spec)| (location.clone(), (partition.clone(), *spec)))
            .collect();
        Ok((rewritten, data_files))
    }

    /// A new name in the staging directory: a file, or for a partitioned table
    /// a directory of partition directories.
    fn staging_path(&self, table: &Table) -> PathBuf {
        let id = uuid::Uuid::new_v4();
        if table.metadata().default_partition_spec().is_unpartitioned() {
            self.staging_dir().join(format!("{id}.parquet"))
        } else {
            self.staging_dir().join(id.to_string())
        }
    }

    /// Runs a catalog-only statement; returns its command tag.
    pub fn run_ddl(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        if let Some(txn) = txn {
            let done = self.stage_ddl(ddl, conn, runtime, txn);
            self.forget_virtual_schema();
            return done;
        }
        let outcome = match ddl {
            LakeDdl::CreateTable {
                ident,
                schema,
                partition,
                properties,
                if_not_exists,
            } => runtime
                .block_on(lake.create_table(
                    ident,
                    schema.as_ref().clone(),
                    partition.clone(),
                    properties.clone(),
                    *if_not_exists,
                ))
                .map(|_| "CREATE TABLE".to_string()),
            LakeDdl::DropTables { views, .. } if !views.is_empty() => {
                // Dropping dependent views too: all of it or nothing.
                return self.in_own_transaction(ddl, conn, runtime);
            }
            LakeDdl::DropTables { tables, .. } => {
                let mut result = Ok(());
                for t in tables {
                    result = match t {
                        DropTarget::Iceberg(ident) => runtime.block_on(lake.drop_table(ident)),
                        DropTarget::Parquet(ns, name) => {
                            runtime.block_on(lake.unregister_parquet(ns, name))
                        }
                    };
                    if result.is_err() {
                        break;
                    }
                }
                result.map(|()| "DROP TABLE".to_string())
            }
            LakeDdl::Nothing(tag) => Ok(tag.to_string()),
            LakeDdl::View(_) => {
                // Views and comments always go through a transaction: here one
                // of their own.
                return self.in_own_transaction(ddl, conn, runtime);
            }
            LakeDdl::AlterColumns { ident, changes } => runtime
                .block_on(lake.evolve_schema(ident, changes))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Rename { from, to } => runtime
                .block_on(lake.rename_table(from, to))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Truncate { tables } => {
                let truncated = tables.iter().try_for_each(|t| self.truncate(t, runtime));
                self.forget_virtual_schema();
                return truncated.map(|()| "TRUNCATE TABLE".to_string());
            }
            LakeDdl::CreateTableAs { .. } if lake.creates_in_transactions() => {
                // The table and its rows are published in one catalog commit, so
                // a statement cut short (even by the worker dying) leaves nothing.
                return self.in_own_transaction(ddl, conn, runtime);
            }
            LakeDdl::CreateTableAs {
                ident,
                query,
                column_names,
                partition,
                if_not_exists,
                with_data,
            } => {
                // A REST catalog creates a table in a request of its own: the
                // table is dropped again if its rows cannot be written.
                let created = self.create_table_as(
                    ident,
                    query,
                    column_names,
                    partition,
                    *if_not_exists,
                    *with_data,
                    conn,
                    runtime,
                    None,
                );
                self.forget_virtual_schema();
                return created;
            }
        };
        self.forget_virtual_schema();
        outcome.map_err(catalog_error)
    }

    /// Runs a catalog statement outside a transaction block as a transaction of
    /// its own: staged, then published in one catalog commit.
    fn in_own_transaction(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
    ) -> Result<String, PgError> {
        let mut own = LakeTxn::new();
        let done = self
            .stage_ddl(ddl, conn, runtime, &mut own)
            .and_then(|tag| {
                runtime
                    .block_on(own.commit(self.lakehouse()))
                    .map(|()| tag)
                    .map_err(catalog_error)
            });
        self.forget_virtual_schema();
        done
    }

    /// Runs a catalog statement inside a transaction: staged in `txn`, published
    /// at COMMIT.
    fn stage_ddl(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: &mut LakeTxn,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        let outcome = match ddl {
            LakeDdl::CreateTable {
                ident,
                schema,
                partition,
                properties,
                if_not_exists,
            } => runtime
                .block_on(txn.create_table(
                    lake,
                    ident,
                    schema.as_ref().clone(),
                    partition.clone(),
                    properties.clone(),
                    *if_not_exists,
                ))
                .map(|_| "CREATE TABLE".to_string()),
            LakeDdl::DropTables { tables, views } => {
                let mut result = views
                    .iter()
                    .try_for_each(|v| runtime.block_on(txn.drop_view(lake, v)));
                for t in tables {
                    if result.is_err() {
                        break;
                    }
                    result = match t {
                        DropTarget::Iceberg(ident) => runtime.block_on(txn.drop_table(lake, ident)),
                        DropTarget::Parquet(..) => {
                            return Err(unsupported(
                                "dropping a registered Parquet table inside a transaction",
                            ))
                        }
                    };
                }
                result.map(|()| "DROP TABLE".to_string())
            }
            LakeDdl::Nothing(tag) => Ok(tag.to_string()),
            LakeDdl::AlterColumns { ident, changes } => runtime
                .block_on(txn.evolve_schema(lake, ident, changes))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Rename { from, to } => runtime
                .block_on(txn.rename_table(lake, from, to))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Truncate { tables } => tables
                .iter()
                .try_for_each(|t| runtime.block_on(txn.truncate(lake, t)))
                .map(|()| "TRUNCATE TABLE".to_string()),
            LakeDdl::View(view) => {
                let done = match view {
                    ViewDdl::Create {
                        ident,
                        sql,
                        schema,
                        default_namespace,
                        or_replace,
                    } => runtime.block_on(txn.create_view(
                        lake,
                        ident,
                        sql,
                        schema.as_ref().clone(),
                        default_namespace,
                        *or_replace,
                    )),
                    ViewDdl::Drop { views } => views
                        .iter()
                        .try_for_each(|v| runtime.block_on(txn.drop_view(lake, v))),
                    ViewDdl::Rename { from, to } => {
                        runtime.block_on(txn.rename_view(lake, from, to))
                    }
                    ViewDdl::Comment { target, comment } => {
                        let comment = comment.as_deref();
                        match target {
                            CommentTarget::Table(t) => {
                                runtime.block_on(txn.comment_table(lake, t, comment))
                            }
                            CommentTarget::View(v) => {
                                runtime.block_on(txn.comment_view(lake, v, comment))
                            }
                            CommentTarget::Column(t, c) => {
                                runtime.block_on(txn.comment_column(lake, t, c, comment))
                            }
                            CommentTarget::ViewColumn(v, c) => {
                                runtime.block_on(txn.comment_view_column(lake, v, c, comment))
                            }
                        }
                    }
                    ViewDdl::Nothing(_) => Ok(()),
                };
                done.map(|()| view.tag().to_string())
            }
            LakeDdl::CreateTableAs {
                ident,
                query,
                column_names,
                partition,
                if_not_exists,
                with_data,
            } => {
                return self.create_table_as(
                    ident,
                    query,
                    column_names,
                    partition,
                    *if_not_exists,
                    *with_data,
                    conn,
                    runtime,
                    Some(txn),
                )
            }
        };
        outcome.map_err(catalog_error)
    }

    /// Empties `ident` with a snapshot of its own, retried after concurrent
    /// commits (whatever they added is truncated too).
    fn truncate(
        &self,
        ident: &TableIdent,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), PgError> {
        let lake = self.lakehouse();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let table = runtime.block_on(lake.table(ident)).map_err(catalog_error)?;
            match runtime.block_on(lake.truncate(&table)) {
                Ok(_) => return Ok(()),
                Err(CatalogError::CommitConflict(_)) if attempt < COMMIT_ATTEMPTS => {
                    lake.forget_table(ident);
                    backoff(attempt);
                }
                Err(e) => return Err(catalog_error(e)),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_table_as(
        &self,
        ident: &TableIdent,
        query: &str,
        column_names: &[String],
        partition: &[PartitionColumn],
        if_not_exists: bool,
        with_data: bool,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        mut txn: Option<&mut LakeTxn>,
    ) -> Result<String, PgError> {
        let described = conn
            .prepare(&format!("SELECT * FROM ({query}) AS __floe_source"))
            .map_err(|e| PgError::from_duckdb(&e.message, Some(query)))?;
        let n = described.column_count();
        if column_names.len() > n {
            return Err(PgError::new(
                "42601",
                "CREATE TABLE AS specifies too many column names",
            ));
        }
        let mut columns = Vec::with_capacity(n);
        for i in 0..n {
            let name = column_names
                .get(i)
                .cloned()
                .unwrap_or_else(|| described.column_name(i));
            let t = described
                .column_type(i)
                .ok_or_else(|| PgError::new("XX000", "result column without a type"))?;
            columns.push(ColumnSpec {
                field_type: lake_schema::from_duckdb(&t, &name)?,
                name,
                required: false,
            });
        }
        drop(described);
        for p in partition {
            if !columns.iter().any(|c| c.name == p.column) {
                return Err(no_column(&p.column, ident.name()));
            }
        }
        let schema = lake_schema::build_schema(columns, &[])?;
        let spec = partition_spec(&schema, partition)?;
        let lake = self.lakehouse();
        let created = match txn.as_deref_mut() {
            Some(txn) => runtime.block_on(txn.create_table(
                lake,
                ident,
                schema,
                spec,
                HashMap::new(),
                if_not_exists,
            )),
            None => runtime.block_on(lake.create_table(
                ident,
                schema,
                spec,
                HashMap::new(),
                if_not_exists,
            )),
        }
        .map_err(catalog_error)?;
        let Some(table) = created else {
            return Ok("SELECT 0".to_string());
        };
        if !with_data {
            return Ok("SELECT 0".to_string());
        }
        let staged = self.staging_path(&table);
        let commit = LakeCommit::Insert(LakeInsert {
            table: ident.clone(),
            staged: staged.clone(),
            schema_id: table.metadata().current_schema_id(),
        });
        let written = insert_copy(conn, &table, &[], query, None, &staged).and_then(|copy| {
            if let Err(e) = conn.execute_batch(&copy) {
                commit.discard();
                return Err(PgError::from_duckdb(&e.message, Some(query)));
            }
            self.commit_write(&commit, conn, runtime, txn.as_deref_mut())
        });
        match written {
            Ok(n) => Ok(format!("SELECT {n}")),
            Err(e) if e.code == "40003" => Err(e),
            Err(e) => {
                // The statement leaves no trace: the table goes with it.
                let _ = match txn {
                    Some(txn) => runtime.block_on(txn.drop_table(lake, ident)),
                    None => runtime.block_on(lake.drop_table(ident)),
                };
                Err(e)
            }
        }
    }

    /// Commits what a statement's COPY staged; returns the number of rows
    /// inserted or deleted. The staged files are removed either way.
    pub fn commit_write(
        &self,
        commit: &LakeCommit,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<u64, PgError> {
        let result = match commit {
            LakeCommit::Insert(insert) => self.commit_insert(insert, runtime, txn),
            LakeCommit::Delete(delete) => self.commit_delete(delete, runtime, txn),
            LakeCommit::Update(update) => self.commit_update(update, conn, runtime, txn),
        };
        commit.discard();
        result
    }

    /// Commits the position delete files a `DELETE` staged; returns the number
    /// of rows deleted.
    fn commit_delete(
        &self,
        delete: &LakeDelete,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<u64, PgError> {
        let lake = self.lakehouse();
        let table = self.table(txn.as_deref(), &delete.table, runtime)?;
        let mut uploads = Uploads::new(lake, runtime);
        let (files, rows, referenced) = self.delete_files(delete, &table, &mut uploads)?;
        if rows == 0 {
            return Ok(0);
        }
        let schema_id = table.metadata().current_schema_id();
        self.commit_files(
            &delete.table,
            table,
            files,
            Operation::Delete,
            schema_id,
            &referenced,
            uploads,
            txn,
        )?;
        Ok(rows)
    }

    /// Commits the files an `INSERT` staged; returns the number of rows.
    fn commit_insert(
        &self,
        insert: &LakeInsert,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<u64, PgError> {
        let lake = self.lakehouse();
        let table = self.table(txn.as_deref(), &insert.table, runtime)?;
        let mut uploads = Uploads::new(lake, runtime);
        let (files, rows) = self.insert_files(insert, &table, &mut uploads)?;
        if rows == 0 {
            return Ok(0);
        }
        self.commit_files(
            &insert.table,
            table,
            files,
            Operation::Append,
            insert.schema_id,
            &[],
            uploads,
            txn,
        )?;
        Ok(rows)
    }

    /// Commits an `UPDATE`: the engine staged the old rows' positions with
    /// their new values; those become delete files and data files of one
    /// snapshot. Returns the number of rows updated.
    fn commit_update(
        &self,
        update: &LakeUpdate,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<u64, PgError> {
        let lake = self.lakehouse();
        let table = self.table(txn.as_deref(), &update.delete.table, runtime)?;
        for sql in [&update.deletes_sql, &update.rows_sql] {
            conn.execute_batch(sql)
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        let mut uploads = Uploads::new(lake, runtime);
        let (mut files, rows, referenced) =
            self.delete_files(&update.delete, &table, &mut uploads)?;
        if rows == 0 {
            return Ok(0);
        }
        let (data, _) = self.insert_files(&update.insert, &table, &mut uploads)?;
        files.extend(data);
        self.commit_files(
            &update.delete.table,
            table,
            files,
            Operation::Overwrite,
            update.insert.schema_id,
            &referenced,
            uploads,
            txn,
        )?;
        Ok(rows)
    }

    /// Uploads the data files an insert staged (NOT NULL columns checked);
    /// returns their entries and the number of rows.
    fn insert_files(
        &self,
        insert: &LakeInsert,
        table: &Table,
        uploads: &mut Uploads<'_>,
    ) -> Result<(Vec<DataFile>, u64), PgError> {
        let schema = table
            .metadata()
            .schema_by_id(insert.schema_id)
            .cloned()
            .ok_or_else(|| changed_under(&insert.table))?;
        let spec_id = table.metadata().default_partition_spec_id();
        let mut written = Vec::new();
        for (path, partition) in staged_files(&insert.staged, table, &schema)? {
            let file = WrittenFile::read(&path).map_err(catalog_error)?;
            for field in schema.as_struct().fields() {
                if field.required && file.null_counts.get(&field.id).copied().unwrap_or(0) > 0 {
                    return Err(not_null(&field.name, insert.table.name()));
                }
            }
            if file.record_count > 0 {
                written.push((path, partition, file));
            }
        }
        let rows = written.iter().map(|(_, _, f)| f.record_count).sum();
        let mut files = Vec::with_capacity(written.len());
        for (path, partition, file) in written {
            let location = uploads.upload(table, &path, "")?;
            files.push(
                file.entry(
                    DataContentType::Data,
                    &location,
                    &schema,
                    spec_id,
                    partition,
                )
                .map_err(catalog_error)?,
            );
        }
        Ok((files, rows))
    }

    /// Uploads the position delete files a statement staged (one directory per
    /// data file); returns their entries, the number of rows deleted and the
    /// data files they name.
    fn delete_files(
        &self,
        delete: &LakeDelete,
        table: &Table,
        uploads: &mut Uploads<'_>,
    ) -> Result<(Vec<DataFile>, u64, Vec<String>), PgError> {
        let spec_id = table.metadata().default_partition_spec_id();
        let schema = table.metadata().current_schema().clone();
        let staged = parquet_files(&delete.staged)?;
        // Staged directories are named by the SHA-256 of the data file's
        // location (a location itself can be longer than a file name may be).
        let by_digest: HashMap<String, &String> = delete
            .data_files
            .keys()
            .map(|l| (location_digest(l), l))
            .collect();
        let mut files = Vec::new();
        let mut referenced = Vec::new();
        let mut rows = 0;
        for path in staged {
            let location = path
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("__floe_f="))
                .and_then(|digest| by_digest.get(&digest.to_ascii_lowercase()))
                .map(|l| l.to_string())
                .ok_or_else(|| {
                    PgError::new(
                        "XX000",
                        format!("unexpected staged delete file {}", path.display()),
                    )
                })?;
            let (partition, file_spec) =
                delete.data_files.get(&location).cloned().ok_or_else(|| {
                    PgError::new(
                        "XX000",
                        format!("deleted rows of an unplanned file {location}"),
                    )
                })?;
            if file_spec != spec_id {
                return Err(unsupported(
                    "changing rows of files written under an older partition spec",
                ));
            }
            let written = WrittenFile::read(&path).map_err(catalog_error)?;
            if written.record_count == 0 {
                continue;
            }
            rows += written.record_count;
            let uploaded = uploads.upload(table, &path, "-deletes")?;
            files.push(
                written
                    .entry(
                        DataContentType::PositionDeletes,
                        &uploaded,
                        &schema,
                        spec_id,
                        partition,
                    )
                    .map_err(catalog_error)?,
            );
            referenced.push(location);
        }
        Ok((files, rows, referenced))
    }

    /// Commits `files` as one snapshot, retried after concurrent commits while
    /// the table keeps its schema and spec and every data file in `referenced`
    /// (rows the statement deletes) is still live.
    #[allow(clippy::too_many_arguments)]
    fn commit_files(
        &self,
        ident: &TableIdent,
        mut table: Table,
        files: Vec<DataFile>,
        operation: Operation,
        schema_id: i32,
        referenced: &[String],
        mut uploads: Uploads<'_>,
        txn: Option<&mut LakeTxn>,
    ) -> Result<(), PgError> {
        let lake = self.lakehouse();
        let runtime = uploads.runtime;
        if let Some(txn) = txn {
            // Inside a transaction the snapshot is staged; COMMIT publishes it
            // (or reports a conflict), ROLLBACK removes the files.
            runtime
                .block_on(txn.append_files(lake, ident, files, operation))
                .map_err(catalog_error)?;
            txn.track_files(uploads.keep());
            return Ok(());
        }
        let spec_id = table.metadata().default_partition_spec_id();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match runtime.block_on(lake.append_files(&table, files.clone(), operation.clone())) {
                Ok(_) => {
                    uploads.keep();
                    return Ok(());
                }
                Err(CatalogError::CommitConflict(_)) if attempt < COMMIT_ATTEMPTS => {
                    lake.forget_table(ident);
                    backoff(attempt);
                    let fresh = runtime.block_on(async {
                        let t = lake.table(ident).await?;
                        let live = if referenced.is_empty() {
                            true
                        } else {
                            let plan = plan_scan(&t, SnapshotSelector::Current, None).await?;
                            referenced
                                .iter()
                                .all(|r| plan.files.iter().any(|f| &f.path == r))
                        };
                        Ok::<_, CatalogError>((t, live))
                    });
                    let (t, live) = fresh.map_err(catalog_error)?;
                    let metadata = t.metadata();
                    if metadata.current_schema_id() != schema_id
                        || metadata.default_partition_spec_id() != spec_id
                    {
                        return Err(changed_under(ident));
                    }
                    if !live {
                        return Err(PgError::new(
                            "40001",
                            format!(
                                "could not change \"{}\": a concurrent commit rewrote the rows",
                                ident.name()
                            ),
                        ));
                    }
                    table = t;
                }
                Err(e @ CatalogError::CommitUnknown(_)) => {
                    // The catalog may reference the files now.
                    uploads.keep();
                    return Err(catalog_error(e));
                }
                Err(e) => return Err(catalog_error(e)),
            }
        }
    }
}

/// Files uploaded for one commit: removed again unless the commit lands.
struct Uploads<'a> {
    lake: &'a floe_catalog::Lakehouse,
    runtime: &'a tokio::runtime::Handle,
    locations: Vec<String>,
}

impl<'a> Uploads<'a> {
    fn new(lake: &'a floe_catalog::Lakehouse, runtime: &'a tokio::runtime::Handle) -> Self {
        Uploads {
            lake,
            runtime,
            locations: Vec::new(),
        }
    }

    /// Uploads `path` under the table's data directory; returns its location.
    fn upload(&mut self, table: &Table, path: &Path, suffix: &str) -> Result<String, PgError> {
        let location = format!(
            "{}/data/{}{suffix}.parquet",
            table.metadata().location().trim_end_matches('/'),
            uuid::Uuid::new_v4()
        );
        self.runtime
            .block_on(self.lake.storage().upload(path, &location))
            .map_err(catalog_error)?;
        self.locations.push(location.clone());
        Ok(location)
    }

    /// The commit landed: the files are the table's now.
    /// The uploads stay; returns their locations.
    fn keep(&mut self) -> Vec<String> {
        std::mem::take(&mut self.locations)
    }
}

impl Drop for Uploads<'_> {
    fn drop(&mut self) {
        for location in &self.locations {
            let _ = self
                .runtime
                .block_on(self.lake.storage().remove_object(location));
        }
    }
}

/// The rows a DELETE or UPDATE changes: the target as written (name and
/// alias) and its WHERE clause.
struct RowsScan {
    /// How the select list names the target.
    qualifier: String,
    from: String,
    condition: String,
}

impl RowsScan {
    /// `joined`: other tables the statement joins (UPDATE … FROM, DELETE … USING).
    fn new(
        ident: &TableIdent,
        name: &ObjectName,
        alias: Option<&TableAlias>,
        sql: &str,
        tokens: &[Token],
        joined: Option<String>,
    ) -> RowsScan {
        let (qualifier, mut from) = match alias {
            Some(a) => (quote_ident(&fold(&a.name)), format!("{name} AS {}", a.name)),
            None => (quote_ident(ident.name()), name.to_string()),
        };
        if let Some(j) = joined {
            from = format!("{from}, {j}");
        }
        RowsScan {
            qualifier,
            from,
            condition: where_text(sql, tokens).unwrap_or_else(|| "true".to_string()),
        }
    }

    /// `SELECT [modifier] file, position[, columns] FROM target WHERE condition`.
    fn select(&self, modifier: &str, columns: &[String]) -> String {
        let q = &self.qualifier;
        let mut list = vec![
            format!("{q}.{}", lake_scan_sql::FILE_COLUMN),
            format!("{q}.{}", lake_scan_sql::POS_COLUMN),
        ];
        list.extend_from_slice(columns);
        format!(
            "SELECT {modifier} {} FROM {} WHERE {}",
            list.join(", "),
            self.from,
            self.condition
        )
    }
}

/// The hex SHA-256 of a data file's location, as DuckDB's `sha256()` gives it.
fn location_digest(location: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(location.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `COPY` of the positions `query` yields (`FILE_COLUMN`, `POS_COLUMN`) as
/// position delete files under `staged`, one directory per data file.
fn deletes_copy(query: &str, staged: &Path) -> String {
    format!(
        "COPY (SELECT {file} AS file_path, {pos} AS pos, sha256({file}) AS __floe_f \
         FROM ({query}) AS __floe_deleted ORDER BY 1, 2) TO '{dir}' \
         (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (__floe_f), \
         FIELD_IDS {{'file_path': {DELETE_FILE_PATH_ID}, 'pos': {DELETE_POS_ID}}}, \
         FILENAME_PATTERN 'delete_{{uuid}}')",
        file = lake_scan_sql::FILE_COLUMN,
        pos = lake_scan_sql::POS_COLUMN,
        dir = staged.display().to_string().replace('\'', "''"),
    )
}

/// `COPY (…) TO staged` writing `source`'s rows as `table`'s columns: `target`
/// names the columns the source fills in order (all columns when empty); the
/// rest are NULL.
fn insert_copy(
    conn: &Connection,
    table: &Table,
    target: &[String],
    source: &str,
    width: Option<usize>,
    staged: &Path,
) -> Result<String, PgError> {
    let schema = table.metadata().current_schema();
    let fields: Vec<&NestedField> = schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| f.as_ref())
        .collect();
    for name in target {
        if !fields.iter().any(|f| &f.name == name) {
            return Err(no_column(name, table.identifier().name()));
        }
    }
    let width = if let Some(w) = width {
        w
    } else if source.is_empty() {
        0
    } else {
        conn.prepare(&format!("SELECT * FROM ({source}) AS __floe_source"))
            .map_err(|e| PgError::from_duckdb(&e.message, Some(source)))?
            .column_count()
    };
    let filled: Vec<&str> = if target.is_empty() {
        fields.iter().map(|f| f.name.as_str()).collect()
    } else {
        target.iter().map(String::as_str).collect()
    };
    if width > filled.len() {
        return Err(PgError::new(
            "42601",
            "INSERT has more expressions than target columns",
        ));
    }
    if !target.is_empty() && width < filled.len() {
        return Err(PgError::new(
            "42601",
            "INSERT has more target columns than expressions",
        ));
    }
    let aliases: Vec<String> = (1..=width).map(|i| format!("__floe_c{i}")).collect();
    let lengths = floe_catalog::tables::declared_lengths(table.metadata().properties());
    let mut select = Vec::with_capacity(fields.len());
    for f in &fields {
        let ty = duck_type(&f.field_type);
        let value = match filled.iter().take(width).position(|n| *n == f.name) {
            // A value longer than a declared `character varying(n)` is an
            // error, but for trailing spaces, which go (as in PostgreSQL).
            Some(i) if lengths.contains_key(&f.id) => format!(
                "floe_varchar(CAST(__floe_source.{} AS {ty}), {})",
                aliases[i], lengths[&f.id]
            ),
            Some(i) => format!("CAST(__floe_source.{} AS {ty})", aliases[i]),
            None if f.required => return Err(not_null(&f.name, table.identifier().name())),
            None => format!("CAST(NULL AS {ty})"),
        };
        select.push(format!("{value} AS {}", quote_ident(&f.name)));
    }
    let from = if width == 0 {
        String::new()
    } else {
        format!(" FROM ({source}) AS __floe_source({})", aliases.join(", "))
    };
    let mut query = format!("SELECT {}{from}", select.join(", "));
    let mut options = String::new();
    let spec = table.metadata().default_partition_spec();
    if !spec.is_unpartitioned() {
        // DuckDB groups the rows into one directory per partition value.
        let mut values = Vec::new();
        let mut columns = Vec::new();
        for (i, field) in spec.fields().iter().enumerate() {
            let source = schema.field_by_id(field.source_id);
            let Some((name, Type::Primitive(p))) = source.map(|f| (&f.name, f.field_type.as_ref()))
            else {
                return Err(PgError::new(
                    "0A000",
                    format!(
                        "partition field {} has no primitive source column",
                        field.name
                    ),
                ));
            };
            let value = format!("__floe_row.{}", quote_ident(name));
            let column = lake_partition::column(i);
            values.push(format!(
                "{} AS {column}",
                lake_partition::expression(&value, p, &field.transform)?
            ));
            columns.push(column);
        }
        query = format!(
            "SELECT *, {} FROM ({query}) AS __floe_row",
            values.join(", ")
        );
        options = format!(
            ", PARTITION_BY ({}), FILENAME_PATTERN 'part_{{uuid}}'",
            columns.join(", ")
        );
    }
    Ok(format!(
        "COPY ({query}) TO '{}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS {}{options})",
        staged.display().to_string().replace('\'', "''"),
        lake_schema::field_ids(schema)
    ))
}

/// The files a COPY wrote to `staged` (one file, or a tree of partition
/// directories), each with its partition struct.
fn staged_files(
    staged: &Path,
    table: &Table,
    schema: &iceberg::spec::Schema,
) -> Result<Vec<(PathBuf, Struct)>, PgError> {
    if staged.is_file() {
        return Ok(vec![(staged.to_path_buf(), Struct::empty())]);
    }
    if !staged.is_dir() {
        return Ok(Vec::new());
    }
    let spec = table.metadata().default_partition_spec();
    parquet_files(staged)?
        .into_iter()
        .map(|path| {
            let values = lake_partition::values(staged, &path, spec, schema)?;
            Ok((path, values))
        })
        .collect()
}

/// The Parquet files anywhere under `dir` (none if it does not exist: the
/// statement wrote no rows).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, PgError> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(PgError::new(
                    "58030",
                    format!("cannot read {}: {e}", dir.display()),
                ))
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The source of `INSERT INTO name [AS alias] [(columns)] source` as written.
fn insert_source(
    sql: &str,
    tokens: &[Token],
    has_columns: bool,
    default_values: bool,
) -> Result<String, PgError> {
    if default_values {
        return Ok(String::new());
    }
    let mut i = 2;
    i = skip_name(tokens, i);
    if tokens.get(i).is_some_and(|t| t.is_word("AS")) {
        i += 2;
    }
    if has_columns {
        i = skip_parens(tokens, i);
    }
    let start = tokens
        .get(i)
        .map(|t| t.span.start)
        .ok_or_else(|| PgError::new("42601", "INSERT without rows"))?;
    Ok(trim_statement(&sql[start..]).to_string())
}

/// `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] name [(columns)] [PARTITION BY …]
/// AS query [WITH [NO] DATA]`, read from tokens (column names without types are
/// beyond the SQL parser).
struct CtasParts {
    name: Vec<String>,
    columns: Vec<String>,
    partition_by: Option<String>,
    query: String,
    if_not_exists: bool,
    with_data: bool,
}

fn ctas_parts(sql: &str, tokens: &[Token]) -> Option<CtasParts> {
    let mut i = 1;
    if tokens.get(i)?.is_word("UNLOGGED") {
        i += 1;
    }
    if !tokens.get(i)?.is_word("TABLE") {
        return None;
    }
    i += 1;
    let if_not_exists = tokens.get(i)?.is_word("IF");
    if if_not_exists {
        i += 3;
    }
    let mut name = Vec::new();
    loop {
        name.push(identifier(tokens.get(i)?)?);
        i += 1;
        if tokens.get(i).is_some_and(|t| t.tok == Tok::Punct('.')) {
            i += 1;
        } else {
            break;
        }
    }
    let mut columns = Vec::new();
    if tokens.get(i)?.tok == Tok::Punct('(') {
        i += 1;
        loop {
            columns.push(identifier(tokens.get(i)?)?);
            i += 1;
            match tokens.get(i)?.tok {
                Tok::Punct(',') => i += 1,
                Tok::Punct(')') => {
                    i += 1;
                    break;
                }
                // Typed columns: a plain CREATE TABLE, not this form.
                _ => return None,
            }
        }
    }
    let mut partition_by = None;
    if tokens.get(i)?.is_word("PARTITION") && tokens.get(i + 1)?.is_word("BY") {
        let start = tokens.get(i + 2)?.span.start;
        let mut depth = 0;
        let mut j = i + 2;
        while let Some(t) = tokens.get(j) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ if depth == 0 && t.is_word("AS") => break,
                _ => {}
            }
            j += 1;
        }
        partition_by = Some(sql[start..tokens.get(j)?.span.start].trim().to_string());
        i = j;
    }
    if !tokens.get(i)?.is_word("AS") {
        return None;
    }
    let text = trim_statement(&sql[tokens[i].span.end..]);
    let toks = sql_text::tokenize(text);
    let n = toks.len();
    let ends_with = |words: &[&str]| {
        n >= words.len()
            && toks[n - words.len()..]
                .iter()
                .zip(words)
                .all(|(t, w)| t.is_word(w))
    };
    let (cut, with_data) = if ends_with(&["WITH", "NO", "DATA"]) {
        (Some(toks[n - 3].span.start), false)
    } else if ends_with(&["WITH", "DATA"]) {
        (Some(toks[n - 2].span.start), true)
    } else {
        (None, true)
    };
    let query = cut.map_or(text, |c| &text[..c]).trim().to_string();
    Some(CtasParts {
        name,
        columns,
        partition_by,
        query,
        if_not_exists,
        with_data,
    })
}

/// The text after the statement's top-level `WHERE`, if it has one.
fn where_text(sql: &str, tokens: &[Token]) -> Option<String> {
    let mut depth = 0i32;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word("WHERE") => {
                return Some(trim_statement(&sql[t.span.end..]).to_string());
            }
            _ => {}
        }
    }
    None
}

/// The text of the top-level clause that `keyword` (FROM of an UPDATE, USING of
/// a DELETE) starts, up to WHERE or the end: the tables joined to the target.
fn joined_tables(sql: &str, tokens: &[Token], keyword: &str, after: &str) -> Option<String> {
    let mut depth = 0i32;
    let mut seen_after = false;
    let mut start = None;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word(after) => seen_after = true,
            _ if depth == 0 && seen_after && start.is_none() && t.is_word(keyword) => {
                start = Some(t.span.end);
            }
            _ if depth == 0 && t.is_word("WHERE") => {
                return start.map(|s| sql[s..t.span.start].trim().to_string());
            }
            _ => {}
        }
    }
    start.map(|s| trim_statement(&sql[s..]).to_string())
}

fn trim_statement(s: &str) -> &str {
    s.trim().trim_end_matches(';').trim_end()
}

fn skip_name(tokens: &[Token], mut i: usize) -> usize {
    loop {
        i += 1; // the identifier
        if tokens.get(i).is_some_and(|t| t.tok == Tok::Punct('.')) {
            i += 1;
        } else {
            return i;
        }
    }
}

fn skip_parens(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0;
    while let Some(t) = tokens.get(i) {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// `PARTITION BY (region, day(ts), bucket(16, id), truncate(4, name))`.
fn partition_columns(e: &Expr) -> Result<Vec<PartitionColumn>, PgError> {
    let items: Vec<&Expr> = match e {
        Expr::Tuple(items) => items.iter().collect(),
        Expr::Nested(inner) => vec![inner.as_ref()],
        other => vec![other],
    };
    items.into_iter().map(partition_column).collect()
}

fn partition_column(e: &Expr) -> Result<PartitionColumn, PgError> {
    let bad = || {
        PgError::new(
            "42601",
            format!("cannot partition by {e}: use a column, year/month/day/hour(column), bucket(n, column) or truncate(n, column)"),
        )
    };
    match e {
        Expr::Identifier(id) => Ok(PartitionColumn {
            column: fold(id),
            transform: Transform::Identity,
        }),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let FunctionArguments::List(list) = &f.args else {
                return Err(bad());
            };
            let args: Vec<&Expr> = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?;
            let column = |e: &Expr| match e {
                Expr::Identifier(id) => Ok(fold(id)),
                _ => Err(bad()),
            };
            let number = |e: &Expr| match e {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<u32>().map_err(|_| bad()),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            };
            let (transform, col) = match (name.as_str(), args.as_slice()) {
                ("year" | "years", [c]) => (Transform::Year, column(c)?),
                ("month" | "months", [c]) => (Transform::Month, column(c)?),
                ("day" | "days", [c]) => (Transform::Day, column(c)?),
                ("hour" | "hours", [c]) => (Transform::Hour, column(c)?),
                ("identity", [c]) => (Transform::Identity, column(c)?),
                ("bucket", [n, c]) => (Transform::Bucket(number(n)?), column(c)?),
                ("truncate", [n, c]) => (Transform::Truncate(number(n)?), column(c)?),
                _ => return Err(bad()),
            };
            Ok(PartitionColumn {
                column: col,
                transform,
            })
        }
        _ => Err(bad()),
    }
}

fn partition_spec(
    schema: &iceberg::spec::Schema,
    columns: &[PartitionColumn],
) -> Result<Option<UnboundPartitionSpec>, PgError> {
    if columns.is_empty() {
        return Ok(None);
    }
    let mut fields = Vec::new();
    for p in columns {
        let field = schema.field_by_name(&p.column).ok_or_else(|| {
            PgError::new("42703", format!("column \"{}\" does not exist", p.column))
        })?;
        let name = match p.transform {
            Transform::Identity => p.column.clone(),
            Transform::Bucket(_) => format!("{}_bucket", p.column),
            Transform::Truncate(_) => format!("{}_trunc", p.column),
            Transform::Year => format!("{}_year", p.column),
            Transform::Month => format!("{}_month", p.column),
            Transform::Day => format!("{}_day", p.column),
            Transform::Hour => format!("{}_hour", p.column),
            _ => p.column.clone(),
        };
        if p.transform.result_type(&field.field_type).is_err() {
            return Err(PgError::new(
                "42804",
                format!(
                    "cannot partition by {}({}) of type {}",
                    p.transform, p.column, field.field_type
                ),
            ));
        }
        fields.push(UnboundPartitionField {
            source_id: field.id,
            field_id: None,
            name,
            transform: p.transform,
        });
    }
    UnboundPartitionSpec::builder()
        .add_partition_fields(fields)
        .map(|b| Some(b.build()))
        .map_err(|e| PgError::new("42P16", format!("invalid partitioning: {e}")))
}

/// The lake namespace and table name `CREATE TABLE name` creates, if it goes to
/// the lake: a named lake schema, or the first existing schema of the search
/// path being one.
fn create_target(
    listing: &Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Option<(NamespaceIdent, String)> {
    let (schema, table) = match parts {
        [table] => {
            let first = search_path(names)
                .into_iter()
                .find(|s| listing.schema(s).is_some() || is_engine_schema(s))?;
            (first, table.clone())
        }
        [schema, table] => (schema.clone(), table.clone()),
        [db, schema, table] if db.eq_ignore_ascii_case(names.database) => {
            (schema.clone(), table.clone())
        }
        _ => return None,
    };
    let entry = listing.schema(&schema)?;
    Some((entry.ident.clone(), table))
}

/// Schemas that exist in every session's DuckDB (tables there stay local).
fn is_engine_schema(s: &str) -> bool {
    matches!(s, "public" | "main" | "pg_temp" | "temp")
}

fn lake_schema_named(listing: &Listing, parts: &[String], names: &NameContext<'_>) -> bool {
    match parts {
        [schema, _] => listing.schema(schema).is_some(),
        [db, schema, _] if db.eq_ignore_ascii_case(names.database) => {
            listing.schema(schema).is_some()
        }
        _ => false,
    }
}

/// The registered Parquet table `parts` names, as its namespace and name.
fn resolve_parquet(
    listing: &Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Option<(NamespaceIdent, String)> {
    resolve_with(parts, names, |schema, table| {
        listing.parquet(schema, table)?;
        Some((listing.schema(schema)?.ident.clone(), table.to_string()))
    })
}

/// The Iceberg table a statement that changes rows names: `None` for a table
/// outside the lake, 42809 for registered Parquet (read-only).
fn writable_table(
    listing: &Listing,
    name: &ObjectName,
    names: &NameContext<'_>,
    verb: &str,
) -> Result<Option<TableIdent>, PgError> {
    let parts = parts(name);
    if let Some(ident) = resolve(listing, &parts, names) {
        return Ok(Some(ident));
    }
    if resolve_parquet(listing, &parts, names).is_some() {
        return Err(PgError::new(
            "42809",
            format!("cannot {verb} \"{name}\": registered Parquet tables are read-only"),
        ));
    }
    Ok(None)
}

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(fold)
        .collect()
}

/// The not-null violation Postgres reports.
fn not_null(column: &str, table: &str) -> PgError {
    PgError::new(
        "23502",
        format!("null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"),
    )
}

fn no_column(column: &str, table: &str) -> PgError {
    PgError::new(
        "42703",
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

fn changed_under(table: &TableIdent) -> PgError {
    PgError::new(
        "40001",
        format!(
            "could not write to \"{}\": its schema changed during the statement",
            table.name()
        ),
    )
}

fn unsupported(what: &str) -> PgError {
    PgError::new("0A000", format!("{what} is not supported yet"))
}

fn catalog_error(e: CatalogError) -> PgError {
    PgError::new(e.sqlstate(), e.to_string())
}
