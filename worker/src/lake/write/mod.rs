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

use floe_catalog::objects::tables::SchemaChange;
use floe_catalog::pg_schema::types::{duck_type, quote_ident, quote_literal};
use floe_catalog::{plan_scan, CatalogError, LakeTxn, Listing, SnapshotSelector, WrittenFile};

use crate::lake::views::{resolve_view, CommentTarget, ViewDdl};
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

use crate::engine::duck::Connection;
use crate::lake::names::{creation_target, resolve, resolve_with, NameContext};
use crate::lake::reader::LakeReader;
use crate::lake::refs::fold;
use crate::lake::scan_sql;
use crate::lake::schema::{self, ColumnSpec};
use crate::lake::Rewritten;
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use floe_sql::tokens::{identifier, Tok, Token};

mod column_defaults;
mod commit;
mod copy_sql;
mod create_table;
mod ctas;
mod ddl;
mod indexes;
mod partition;
mod returning;
mod statement_text;
mod upload;

use commit::*;
use copy_sql::*;
pub(crate) use create_table::sequence_named;
pub use create_table::OwnedSequence;
use ctas::*;
use floe_catalog::txn::COMMIT_ATTEMPTS;
use partition::*;
pub use returning::Returning;
use statement_text::*;
use upload::*;

/// `CREATE TABLE … AS query`: the table, and the query (its lake reads
/// already spliced) whose columns and rows it gets.
#[derive(Debug)]
pub struct TableFromQuery {
    pub ident: TableIdent,
    pub query: String,
    pub column_names: Vec<String>,
    pub partition: Vec<PartitionColumn>,
    pub if_not_exists: bool,
    pub with_data: bool,
}

/// A lake statement that changes the catalog only.
#[derive(Debug)]
pub enum LakeDdl {
    CreateTable {
        ident: TableIdent,
        schema: Box<iceberg::spec::Schema>,
        partition: Option<UnboundPartitionSpec>,
        /// The declared lengths of `character varying(n)` columns, defaults
        /// and constraints.
        properties: HashMap<String, String>,
        /// The sequences of its serial and identity columns, made first.
        sequences: Vec<OwnedSequence>,
        if_not_exists: bool,
    },
    /// `CREATE TABLE … AS query`.
    CreateTableAs(TableFromQuery),
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
    /// `CREATE SEQUENCE` in a lake schema (made at once: sequences are not
    /// transactional).
    CreateSequence {
        sequence: OwnedSequence,
        if_not_exists: bool,
    },
    /// `DROP SEQUENCE` of lake sequences.
    DropSequences(Vec<(NamespaceIdent, String)>),
    /// A view statement or COMMENT ON.
    View(ViewDdl),
    /// Changes to tables' properties: (table, set, remove) each, published
    /// together. CREATE INDEX and DROP INDEX are these.
    Properties {
        changes: Vec<(TableIdent, HashMap<String, String>, Vec<String>)>,
        tag: &'static str,
    },
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
    /// `DELETE … RETURNING`: the statement staged the rows themselves; this
    /// turns their positions into the delete files under `staged`.
    pub deletes_sql: Option<String>,
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
        /// `INSERT … RETURNING`: the rows to send back, read from what was staged.
        returning: Option<Returning>,
        /// Parameter types the statement's text implies (by parameter number
        /// less one; 0 where it does not say).
        param_types: Vec<u32>,
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
        let words = floe_sql::tokens::leading_words(tokens, 3);
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
                | ("CREATE", "SEQUENCE")
                | ("DROP", "SEQUENCE")
                | ("CREATE", "INDEX")
                | ("CREATE", "UNIQUE")
                | ("DROP", "INDEX")
        );
        if !candidate {
            return Ok(None);
        }
        let listing = self.listing(names.txn, runtime)?;
        // A new relation goes to the lake even when it has no schema yet
        // (which is then an error, not a table of the worker's own).
        if listing.schemas.is_empty() && w(0) != "CREATE" {
            return Ok(None);
        }
        if let Some(view) = self.plan_view_ddl(sql, tokens, &listing, conn, runtime, names)? {
            return Ok(Some(WritePlan::Ddl(LakeDdl::View(view))));
        }
        if w(0) == "CREATE" {
            if let Some(ctas) = ctas_parts(sql, tokens) {
                let Some(ident) = creation_target(&listing, &ctas.name, names)? else {
                    return Ok(None);
                };
                let partition = match &ctas.partition_by {
                    Some(text) => {
                        let expr = Parser::new(&PostgreSqlDialect {})
                            .try_with_sql(text)
                            .and_then(|mut p| p.parse_expr())
                            .map_err(|e| PgError::new(sqlstate::SYNTAX_ERROR, e.to_string()))?;
                        partition_columns(&expr)?
                    }
                    None => Vec::new(),
                };
                let query = match self.rewrite(
                    &ctas.query,
                    &floe_sql::tokens::tokenize(&ctas.query),
                    runtime,
                    names,
                )? {
                    Some(r) => r.sql,
                    None => ctas.query,
                };
                return Ok(Some(WritePlan::Ddl(LakeDdl::CreateTableAs(
                    TableFromQuery {
                        ident,
                        query,
                        column_names: ctas.columns,
                        partition,
                        if_not_exists: ctas.if_not_exists,
                        with_data: ctas.with_data,
                    },
                ))));
            }
        }
        let ordered = (w(0) == "CREATE")
            .then(|| floe_sql::sequence_options::in_parser_order(sql))
            .flatten();
        let Ok(mut statements) =
            Parser::parse_sql(&PostgreSqlDialect {}, ordered.as_deref().unwrap_or(sql))
        else {
            return Ok(None);
        };
        if statements.len() != 1 {
            return Ok(None);
        }
        match statements.remove(0) {
            Statement::CreateTable(ct) if !ct.temporary && ct.query.is_none() => {
                let Some(ident) = creation_target(&listing, &parts(&ct.name), names)? else {
                    return Ok(None);
                };
                self.plan_create_table(&ct, ident, &listing, conn, runtime, names)
                    .map(Some)
            }
            Statement::CreateIndex(ci) => self.plan_create_index(&ci, &listing, runtime, names),
            Statement::Drop {
                object_type: ObjectType::Index,
                if_exists,
                names: index_names,
                ..
            } => self.plan_drop_index(&index_names, if_exists, &listing, runtime, names),
            Statement::CreateSequence {
                temporary: false,
                if_not_exists,
                name,
                data_type,
                sequence_options,
                owned_by,
            } => {
                let Some(ident) = creation_target(&listing, &parts(&name), names)? else {
                    return Ok(None);
                };
                if owned_by.is_some() {
                    return Err(unsupported("CREATE SEQUENCE … OWNED BY on a lake schema"));
                }
                let data_type = data_type.map_or("bigint".to_string(), |t| t.to_string());
                let options = create_table::sequence_options(&sequence_options)?;
                let def = floe_catalog::objects::sequences::SequenceDef::new(
                    &data_type.to_ascii_lowercase(),
                    &options,
                )
                .map_err(catalog_error)?;
                Ok(Some(WritePlan::Ddl(LakeDdl::CreateSequence {
                    sequence: OwnedSequence {
                        namespace: ident.namespace().clone(),
                        name: ident.name().to_string(),
                        def,
                    },
                    if_not_exists,
                })))
            }
            Statement::Drop {
                object_type: ObjectType::Sequence,
                if_exists,
                names: dropped,
                ..
            } => {
                let mut targets = Vec::new();
                for name in &dropped {
                    let parts = parts(name);
                    let found = resolve_with(&parts, names, |schema, seq| {
                        listing.sequence(schema, seq).then(|| {
                            (
                                listing.schema(schema).map(|s| s.ident.clone()),
                                seq.to_string(),
                            )
                        })
                    });
                    match found {
                        Some((Some(ns), seq)) => targets.push((ns, seq)),
                        _ if lake_schema_named(&listing, &parts, names) => {
                            if !if_exists {
                                return Err(PgError::new(
                                    sqlstate::UNDEFINED_TABLE,
                                    format!("sequence \"{name}\" does not exist"),
                                ));
                            }
                        }
                        _ if targets.is_empty() => return Ok(None),
                        _ => {
                            return Err(unsupported(
                                "DROP SEQUENCE of lake sequences and session sequences in one statement",
                            ))
                        }
                    }
                }
                if targets.is_empty() {
                    return Ok(Some(WritePlan::Ddl(LakeDdl::Nothing("DROP SEQUENCE"))));
                }
                Ok(Some(WritePlan::Ddl(LakeDdl::DropSequences(targets))))
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
                        return Err(PgError::new(
                            sqlstate::WRONG_OBJECT_TYPE,
                            format!("\"{name}\" is not a table"),
                        )
                        .with_hint("Use DROP VIEW to remove a view."));
                    }
                    if let Some(ident) = resolve(&listing, &parts, names) {
                        tables.push(DropTarget::Iceberg(ident));
                    } else if let Some((ns, t)) = resolve_parquet(&listing, &parts, names) {
                        tables.push(DropTarget::Parquet(ns, t));
                    } else if lake_schema_named(&listing, &parts, names) {
                        if !if_exists {
                            return Err(PgError::new(
                                sqlstate::UNDEFINED_TABLE,
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
                                sqlstate::UNDEFINED_TABLE,
                                format!("relation \"{name}\" does not exist"),
                            ))
                        };
                    }
                    return Ok(None);
                };
                if let Some(plan) =
                    self.plan_column_defaults(&ident, &operations, &listing, conn, runtime, names)?
                {
                    return Ok(Some(plan));
                }
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
                                return Err(PgError::new(
                                    sqlstate::SYNTAX_ERROR,
                                    "RENAME TO needs a name",
                                ));
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
                                field_type: schema::from_declared(&declared)?,
                                max_length: schema::declared_length(&declared),
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
                if insert.on.is_some() {
                    return Err(unsupported("INSERT … ON CONFLICT on a lake table"));
                }
                let table = self.table(names.txn, &ident, runtime)?;
                let (body, body_tokens, returning_list) =
                    match returning::split_returning(sql, tokens) {
                        Some((body, body_tokens, list)) => (body, body_tokens, Some(list)),
                        None => (sql, tokens, None),
                    };
                let mut target: Vec<String> = insert.columns.iter().map(fold).collect();
                let param_types = values_parameter_types(&table, &target, insert.source.as_deref());
                let mut source = insert_source(
                    body,
                    body_tokens,
                    !target.is_empty(),
                    insert.source.is_none(),
                )?;
                // A VALUES list's width is known from the text (with parameters,
                // the engine cannot describe it before they are bound).
                let mut values_width = insert.source.as_ref().and_then(|q| match q.body.as_ref() {
                    SetExpr::Values(v) => v.rows.first().map(Vec::len),
                    _ => None,
                });
                if let Some((columns, values)) =
                    without_default_cells(&table, &target, insert.source.as_deref())?
                {
                    values_width = Some(columns.len());
                    target = columns;
                    source = values;
                }
                let rewritten = self.rewrite(
                    &source,
                    &floe_sql::tokens::tokenize(&source),
                    runtime,
                    names,
                )?;
                let source = rewritten.as_ref().map_or(source, |r| r.sql.clone());
                let staged = self.staging_path(&table);
                let copy_sql = insert_copy(
                    conn,
                    &table,
                    &target,
                    &source,
                    values_width,
                    &staged,
                    Writer::Insert,
                )?;
                let returning = match returning_list {
                    Some(list) => {
                        let alias = insert
                            .table_alias
                            .as_ref()
                            .map_or_else(|| ident.name().to_string(), fold);
                        Some(returning::returning_queries(
                            list,
                            &floe_sql::tokens::tokenize(list),
                            &table,
                            &alias,
                            &staged,
                        )?)
                    }
                    None => None,
                };
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Insert(LakeInsert {
                        table: ident,
                        staged,
                        schema_id: table.metadata().current_schema_id(),
                    }),
                    copy_sql,
                    rewritten,
                    returning,
                    param_types,
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
                if !joins.is_empty() || delete.limit.is_some() || !delete.order_by.is_empty() {
                    return Err(unsupported("DELETE … ORDER BY and LIMIT on lake tables"));
                }
                // RETURNING reads the rows the statement staged; the rest plans them.
                let (sql, tokens, returning_list) = match delete
                    .returning
                    .as_ref()
                    .and_then(|_| returning::split_returning(sql, tokens))
                {
                    Some((body, body_tokens, list)) => (body, body_tokens, Some(list)),
                    None => (sql, tokens, None),
                };
                let using = delete
                    .using
                    .as_ref()
                    .and_then(|_| joined_tables(sql, tokens, "USING", "DELETE"));
                let target = RowsScan::new(&ident, name, alias.as_ref(), sql, tokens, using);
                let id = uuid::Uuid::new_v4();
                let staged = self.staging_dir().join(id.to_string());
                let Some(list) = returning_list else {
                    let (rewritten, data_files) =
                        self.plan_rows(&target.select("DISTINCT", &[]), &ident, runtime, names)?;
                    let copy_sql = deletes_copy(&rewritten.sql, &staged);
                    return Ok(Some(WritePlan::Staged {
                        commit: LakeCommit::Delete(LakeDelete {
                            table: ident,
                            staged,
                            data_files,
                            deletes_sql: None,
                        }),
                        copy_sql,
                        rewritten: Some(rewritten),
                        returning: None,
                        param_types: Vec::new(),
                    }));
                };
                // With RETURNING the rows are staged whole, their positions
                // taken from them at commit.
                let table = self.table(names.txn, &ident, runtime)?;
                let columns: Vec<String> = table
                    .metadata()
                    .current_schema()
                    .as_struct()
                    .fields()
                    .iter()
                    .map(|f| format!("{}.{}", target.qualifier, quote_ident(&f.name)))
                    .collect();
                let (rewritten, data_files) =
                    self.plan_rows(&target.select("DISTINCT", &columns), &ident, runtime, names)?;
                let rows = self.staging_dir().join(format!("{id}-rows.parquet"));
                let rows_literal = quote_literal(&rows.to_string_lossy());
                let copy_sql = format!(
                    "COPY ({}) TO {rows_literal} (FORMAT parquet)",
                    rewritten.sql
                );
                let deletes_sql = deletes_copy(
                    &format!("SELECT * FROM read_parquet({rows_literal})"),
                    &staged,
                );
                let alias = alias
                    .as_ref()
                    .map_or_else(|| ident.name().to_string(), |a| fold(&a.name));
                let returning = returning::updated_rows_queries(
                    list,
                    &floe_sql::tokens::tokenize(list),
                    &table,
                    &alias,
                    &rows,
                )?;
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Delete(LakeDelete {
                        table: ident,
                        staged,
                        data_files,
                        deletes_sql: Some(deletes_sql),
                    }),
                    copy_sql,
                    rewritten: Some(rewritten),
                    returning: Some(returning),
                    param_types: Vec::new(),
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
                if !joins.is_empty() || limit.is_some() {
                    return Err(unsupported("UPDATE … LIMIT on lake tables"));
                }
                // RETURNING reads the staged new values; the rest plans the rows.
                let (sql, tokens, returning_list) = match returning
                    .as_ref()
                    .and_then(|_| returning::split_returning(sql, tokens))
                {
                    Some((body, body_tokens, list)) => (body, body_tokens, Some(list)),
                    None => (sql, tokens, None),
                };
                let joined = from
                    .as_ref()
                    .and_then(|_| joined_tables(sql, tokens, "FROM", "SET"));
                let table = self.table(names.txn, &ident, runtime)?;
                let schema = table.metadata().current_schema().clone();
                let rules = floe_catalog::objects::table_rules::TableRules::from_properties(
                    table.metadata().properties(),
                );
                let mut set: HashMap<String, String> = HashMap::new();
                for a in &assignments {
                    let AssignmentTarget::ColumnName(column) = &a.target else {
                        return Err(unsupported("UPDATE … SET (a, b) = (…) on lake tables"));
                    };
                    let column = self::parts(column).pop().unwrap_or_default();
                    let Some(field) = schema.field_by_name(&column) else {
                        return Err(no_column(&column, ident.name()));
                    };
                    if rules.identity.get(&field.id)
                        == Some(&floe_catalog::objects::table_rules::Identity::Always)
                    {
                        return Err(PgError::new(
                            sqlstate::GENERATED_ALWAYS,
                            format!("column \"{column}\" can only be updated to DEFAULT"),
                        )
                        .with_detail(format!(
                            "Column \"{column}\" is an identity column defined as GENERATED ALWAYS."
                        )));
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
                        scan_sql::FILE_COLUMN,
                        scan_sql::POS_COLUMN,
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
                    Writer::Rewrite,
                )?;
                let returning = match returning_list {
                    Some(list) => {
                        let alias = alias
                            .as_ref()
                            .map_or_else(|| ident.name().to_string(), |a| fold(&a.name));
                        Some(returning::updated_rows_queries(
                            list,
                            &floe_sql::tokens::tokenize(list),
                            &table,
                            &alias,
                            &rows,
                        )?)
                    }
                    None => None,
                };
                Ok(Some(WritePlan::Staged {
                    commit: LakeCommit::Update(Box::new(LakeUpdate {
                        rows,
                        deletes_sql,
                        rows_sql,
                        delete: LakeDelete {
                            table: ident.clone(),
                            staged: deletes_dir,
                            data_files,
                            deletes_sql: None,
                        },
                        insert: LakeInsert {
                            table: ident,
                            staged: new_rows,
                            schema_id: schema.schema_id(),
                        },
                    })),
                    copy_sql,
                    rewritten: Some(rewritten),
                    returning,
                    param_types: Vec::new(),
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
                &floe_sql::tokens::tokenize(select),
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
            sqlstate::WRONG_OBJECT_TYPE,
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
        sqlstate::NOT_NULL_VIOLATION,
        format!("null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"),
    )
}

fn no_column(column: &str, table: &str) -> PgError {
    PgError::new(
        sqlstate::UNDEFINED_COLUMN,
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

fn changed_under(table: &TableIdent) -> PgError {
    PgError::new(
        sqlstate::SERIALIZATION_FAILURE,
        format!(
            "could not write to \"{}\": its schema changed during the statement",
            table.name()
        ),
    )
}

fn unsupported(what: &str) -> PgError {
    PgError::new(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported yet"),
    )
}

fn catalog_error(e: CatalogError) -> PgError {
    PgError::new(e.sqlstate(), e.to_string())
}
