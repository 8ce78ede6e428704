//! Lake tables in statements: each reference to a lake table is planned with
//! the catalog (snapshot, pruning by the statement's WHERE), its files made
//! local through the SSD cache, and a `read_parquet` subquery spliced in at the
//! reference's span. Nothing else in the statement changes.

pub mod history;
pub mod names;
pub mod partition;
pub mod procedures;
pub mod reader;
pub mod refs;
pub mod scan_sql;
pub mod schema;
pub mod sequence_calls;
pub mod stored_expr;
pub mod views;
pub mod write;

use std::sync::Arc;

use floe_catalog::pg_schema::types::quote_ident;
use floe_catalog::pg_schema::virtual_schema::{
    RelationKind, TableColumns, VirtualSchema, RELATION_SIZES,
};
use floe_catalog::scan::pruning::to_predicate;
use floe_catalog::{
    plan_scan, CatalogError, LakeTxn, Listing, ParquetSource, ScanPlan, SnapshotSelector,
};
use futures::StreamExt;
use iceberg::spec::{PrimitiveType, Type};
use iceberg::table::Table;
use iceberg::TableIdent;
use sqlparser::ast::Expr;

use crate::cache::files::{CachedFile, FilePin};
use crate::pg_error::{sqlstate, PgError};
use floe_sql::tokens::{Tok, Token};
pub use names::NameContext;
use names::{name_argument, resolve, resolve_parquet};
pub use reader::LakeReader;
use reader::{catalog_error, CachedVirtualSchema};
use refs::{fold, TableRef};
use scan_sql::LocalFile;

/// Views expand inside views at most this deep (a cycle stops here).
const MAX_VIEW_DEPTH: usize = 16;

/// A statement with its lake tables replaced.
pub struct Rewritten {
    pub sql: String,
    /// Per table: `schema.table files/total` (shown as `floe.lake_scan`).
    pub scans: String,
    /// The tables read at their current snapshot, with the snapshot planned.
    pub snapshots: Vec<LakeSnapshot>,
    /// The cached files the scans read, kept on disk while these live.
    pub pins: Vec<FilePin>,
    /// With `rewrite_with_positions`: the target table's planned data files
    /// (location, partition, spec id).
    pub target_files: Vec<(String, iceberg::spec::Struct, i32)>,
    /// Whether every relation the statement reads is a lake table at a
    /// planned snapshot (through lake views too): nothing else — a catalog
    /// view, registered Parquet, a TEMP or unknown relation, a table's
    /// history — whose rows could change while those snapshots stay.
    pub sealed: bool,
}

/// Whether `sql` parses and names no relation at all (so its answer depends
/// on its text alone); `false` when it cannot be parsed.
pub fn reads_no_relation(sql: &str) -> bool {
    refs::find(sql).is_some_and(|refs| refs.is_empty())
}

/// A lake table a statement reads at its current snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct LakeSnapshot {
    pub table: TableIdent,
    pub snapshot_id: Option<i64>,
}

impl LakeReader {
    /// `sql` with its lake-table references replaced by scans, or `None` when it
    /// names no lake table.
    pub fn rewrite(
        &self,
        sql: &str,
        tokens: &[Token],
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<Rewritten>, PgError> {
        self.rewrite_with_positions(sql, tokens, runtime, names, None)
    }

    /// `rewrite`, where references to `target` (at its current snapshot) also
    /// give each row's data file and position (see `scan_sql::FILE_COLUMN`).
    pub fn rewrite_with_positions(
        &self,
        sql: &str,
        tokens: &[Token],
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
        target: Option<&TableIdent>,
    ) -> Result<Option<Rewritten>, PgError> {
        self.rewrite_at_depth(sql, tokens, runtime, names, target, 0)
    }

    /// `rewrite_with_positions` inside `depth` view expansions.
    fn rewrite_at_depth(
        &self,
        sql: &str,
        tokens: &[Token],
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
        target: Option<&TableIdent>,
        depth: usize,
    ) -> Result<Option<Rewritten>, PgError> {
        let listing = self.listing(names.txn, runtime)?;
        let mentions = tokens.iter().any(|t| match &t.tok {
            Tok::Word(w) => {
                let w = w.to_lowercase();
                listing.mentions(&w) || VirtualSchema::mentions(&w)
            }
            Tok::QuotedIdent(w) => listing.mentions(w) || VirtualSchema::mentions(w),
            _ => false,
        });
        let calls = history::find_calls(tokens);
        let functions = crate::compat::catalog_functions::find_calls(tokens);
        if !mentions && calls.is_empty() && functions.is_empty() {
            return Ok(None);
        }
        let (sql, refs) = if mentions {
            refs::find_with_time_travel(sql, tokens)?
                .unwrap_or_else(|| (sql.to_string(), Vec::new()))
        } else {
            (sql.to_string(), Vec::new())
        };
        let sql = sql.as_str();
        let mut edits = Vec::new();
        let mut scans = Vec::new();
        let mut snapshots = Vec::new();
        let mut pins = Vec::new();
        let mut target_files = Vec::new();
        let mut sealed = calls.is_empty() && functions.is_empty();
        // Lake references replaced without an alias: columns qualified with
        // their schema (`s.t.c`) then name the replacement's alias.
        let mut replaced: Vec<Vec<String>> = Vec::new();
        // The system column `tableoid` is given to catalog relations only when
        // read, so `SELECT *` keeps PostgreSQL's columns.
        let reads_tableoid = tokens
            .iter()
            .any(|t| matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("tableoid")));
        for r in refs {
            if !r.has_alias && r.parts.len() > 1 {
                replaced.push(r.parts.clone());
            }
            if let Some(relation) =
                self.virtual_relation(&listing, &r, names, runtime, reads_tableoid)?
            {
                sealed = false;
                let mut sql = relation;
                if !r.has_alias {
                    sql.push_str(" AS ");
                    sql.push_str(&quote_ident(r.parts.last().map_or("", String::as_str)));
                }
                edits.push((r.start, r.end, sql));
                continue;
            }
            if let Some(view) = crate::lake::views::resolve_view(&listing, &r.parts, names) {
                if r.snapshot != SnapshotSelector::Current {
                    return Err(PgError::new(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "AT (VERSION/TIMESTAMP) needs an Iceberg table, not a view",
                    ));
                }
                let expanded = self.expand_view(&view, names, runtime, depth)?;
                let mut sql = format!("({})", expanded.sql);
                if !r.has_alias {
                    sql.push_str(" AS ");
                    sql.push_str(&quote_ident(view.name()));
                }
                edits.push((r.start, r.end, sql));
                if !expanded.scans.is_empty() {
                    scans.push(expanded.scans);
                }
                snapshots.extend(expanded.snapshots);
                pins.extend(expanded.pins);
                sealed &= expanded.sealed;
                continue;
            }
            if let Some(source) = resolve_parquet(&listing, &r.parts, names) {
                if r.snapshot != SnapshotSelector::Current {
                    return Err(PgError::new(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "AT (VERSION/TIMESTAMP) needs an Iceberg table; registered Parquet has no snapshots",
                    ));
                }
                let planned = runtime
                    .block_on(self.parquet_scan_sql(source, &r))
                    .map_err(catalog_error)?;
                edits.push((r.start, r.end, planned.sql));
                scans.push(planned.summary);
                pins.extend(planned.pins);
                sealed = false;
                continue;
            }
            let Some(ident) = resolve(&listing, &r.parts, names) else {
                sealed = false;
                continue;
            };
            let positions = target == Some(&ident) && r.snapshot == SnapshotSelector::Current;
            let planned = runtime
                .block_on(self.scan_sql(&ident, &r, positions, names.txn))
                .map_err(catalog_error)?;
            if positions {
                target_files.extend(planned.files);
            }
            edits.push((r.start, r.end, planned.sql));
            scans.push(planned.summary);
            pins.extend(planned.pins);
            if r.snapshot == SnapshotSelector::Current {
                snapshots.push(LakeSnapshot {
                    table: ident,
                    snapshot_id: planned.snapshot_id,
                });
            }
        }
        for call in calls {
            let ident = name_argument(&listing, &call.table, names).ok_or_else(|| {
                PgError::new(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{}\" does not exist", call.table),
                )
            })?;
            let table = self.table(names.txn, &ident, runtime)?;
            edits.push((
                call.start,
                call.end,
                history::render(call.kind, table.metadata()),
            ));
        }
        if !functions.is_empty() {
            let vs = self.virtual_schema(&listing, names.database, names.txn, runtime)?;
            if let (Some(descriptions), Some(sizes)) = (
                vs.relation(Some("pg_catalog"), "pg_description"),
                vs.relation(None, RELATION_SIZES),
            ) {
                let relations = crate::compat::catalog_functions::CatalogRelations {
                    descriptions,
                    sizes,
                };
                for call in &functions {
                    edits.extend(crate::compat::catalog_functions::edits(call, &relations));
                }
            }
        }
        if edits.is_empty() {
            return Ok(None);
        }
        edits.extend(qualified_columns(sql, &edits, &replaced));
        edits.sort_by_key(|e| e.0);
        Ok(Some(Rewritten {
            sql: floe_sql::apply(sql, edits),
            scans: scans.join(", "),
            snapshots,
            pins,
            target_files,
            sealed,
        }))
    }

    /// The query a reference to view `ident` stands for: its definition with its
    /// own lake references planned, under the view's column names. Unqualified
    /// names in it resolve in the view's default namespace.
    fn expand_view(
        &self,
        ident: &TableIdent,
        names: &NameContext<'_>,
        runtime: &tokio::runtime::Handle,
        depth: usize,
    ) -> Result<Rewritten, PgError> {
        if depth >= MAX_VIEW_DEPTH {
            return Err(PgError::new(
                sqlstate::INVALID_OBJECT_DEFINITION,
                format!("infinite recursion detected in view \"{}\"", ident.name()),
            ));
        }
        let view = runtime
            .block_on(self.lake.view_in(names.txn, ident))
            .map_err(catalog_error)?;
        check_view_definition(ident, &view.sql, names.database)?;
        let search_path = format!("{}, public", quote_ident(&view.default_namespace.join(".")));
        let inner = NameContext {
            search_path: &search_path,
            user: names.user,
            database: names.database,
            txn: names.txn,
            temp: &[],
        };
        let tokens = floe_sql::tokens::tokenize(&view.sql);
        let rewritten =
            self.rewrite_at_depth(&view.sql, &tokens, runtime, &inner, None, depth + 1)?;
        let columns: Vec<String> = view
            .schema
            .as_struct()
            .fields()
            .iter()
            .map(|f| quote_ident(&f.name))
            .collect();
        let mut expanded = rewritten.unwrap_or_else(|| Rewritten {
            sql: view.sql.clone(),
            scans: String::new(),
            snapshots: Vec::new(),
            pins: Vec::new(),
            target_files: Vec::new(),
            sealed: reads_no_relation(&view.sql),
        });
        // Own lines, so a definition ending in a `--` comment cannot swallow
        // the closing parenthesis.
        expanded.sql = format!(
            "SELECT * FROM (\n{}\n) AS __floe_view({})",
            expanded.sql,
            columns.join(", ")
        );
        Ok(expanded)
    }

    /// The subquery standing for a `pg_catalog` or `information_schema`
    /// relation, if `r` names one (with `tableoid` when `with_tableoid`).
    fn virtual_relation(
        &self,
        listing: &Arc<Listing>,
        r: &TableRef,
        names: &NameContext<'_>,
        runtime: &tokio::runtime::Handle,
        with_tableoid: bool,
    ) -> Result<Option<String>, PgError> {
        let parts: Vec<&str> = r.parts.iter().map(String::as_str).collect();
        let (schema, name) = match parts.as_slice() {
            [name] => (None, *name),
            [schema, name] => (Some(*schema), *name),
            [db, schema, name] if db.eq_ignore_ascii_case(names.database) => (Some(*schema), *name),
            _ => return Ok(None),
        };
        if !matches!(
            schema,
            None | Some("pg_catalog") | Some("information_schema")
        ) {
            return Ok(None);
        }
        // Unqualified names are catalog relations only where Postgres would find them.
        if schema.is_none() && !VirtualSchema::mentions(name) {
            return Ok(None);
        }
        let vs = self.virtual_schema(listing, names.database, names.txn, runtime)?;
        Ok(match with_tableoid {
            true => vs.relation_with_tableoid(schema, name),
            false => vs.relation(schema, name).map(str::to_string),
        })
    }

    /// The virtual schema for this listing (rebuilt when the listing is).
    fn virtual_schema(
        &self,
        listing: &Arc<Listing>,
        database: &str,
        txn: Option<&LakeTxn>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Arc<VirtualSchema>, PgError> {
        {
            let cached = self.virtual_schema.lock();
            if let Some(c) = cached.as_ref() {
                if Arc::ptr_eq(&c.listing, listing) && c.database == database {
                    return Ok(c.schema.clone());
                }
            }
        }
        let mut loaded = Vec::new();
        for s in &listing.schemas {
            for t in &s.tables {
                let ident = TableIdent::new(s.ident.clone(), t.clone());
                match runtime.block_on(self.lake.table_in(txn, &ident)) {
                    Ok(table) => loaded.push((s.name.clone(), t.clone(), table)),
                    // Dropped since the listing: not shown.
                    Err(CatalogError::NoSuchTable(_)) => {}
                    Err(e) => return Err(catalog_error(e)),
                }
            }
        }
        let mut views = Vec::new();
        for s in &listing.schemas {
            for v in &s.views {
                let ident = TableIdent::new(s.ident.clone(), v.clone());
                match runtime.block_on(self.lake.view_in(txn, &ident)) {
                    Ok(view) => views.push((s.name.clone(), view)),
                    Err(CatalogError::NoSuchTable(_)) => {}
                    Err(e) => return Err(catalog_error(e)),
                }
            }
        }
        let mut parquet = Vec::new();
        for s in &listing.schemas {
            for (name, source) in &s.parquet {
                // A registration whose files cannot be read is listed without
                // columns rather than failing every catalog query.
                match runtime.block_on(self.lake.parquet_schema(source)) {
                    Ok(Some(schema)) => parquet.push((s.name.clone(), name.clone(), schema)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(table = %name, error = %e, "cannot read a registered Parquet table's schema")
                    }
                }
            }
        }
        let tables: Vec<TableColumns<'_>> = loaded
            .iter()
            .map(|(schema, table, t)| TableColumns {
                schema,
                table,
                columns: t.metadata().current_schema(),
                kind: RelationKind::Table,
                comment: t.metadata().properties().get("comment").map(String::as_str),
                definition: None,
                depends_on: Vec::new(),
                size_bytes: Some(data_bytes(t)),
                lengths: floe_catalog::objects::tables::declared_lengths(t.metadata().properties()),
                rules: floe_catalog::objects::table_rules::TableRules::from_properties(
                    t.metadata().properties(),
                ),
            })
            .chain(parquet.iter().map(|(schema, table, columns)| TableColumns {
                schema,
                table,
                columns,
                kind: RelationKind::Table,
                comment: None,
                definition: None,
                depends_on: Vec::new(),
                size_bytes: None,
                lengths: Default::default(),
                rules: Default::default(),
            }))
            .chain(views.iter().map(|(schema, view)| {
                TableColumns {
                    schema,
                    table: view.ident.name(),
                    columns: &view.schema,
                    kind: RelationKind::View,
                    comment: view.comment.as_deref(),
                    definition: Some(&view.sql),
                    depends_on: views::view_dependencies(listing, view, database)
                        .into_iter()
                        .map(|d| (d.namespace().join("."), d.name().to_string()))
                        .collect(),
                    // A view stores no data, as in Postgres.
                    size_bytes: Some(0),
                    lengths: Default::default(),
                    rules: Default::default(),
                }
            }))
            .collect();
        let schemas: Vec<&str> = listing.schemas.iter().map(|s| s.name.as_str()).collect();
        let sequences: Vec<(&str, &str)> = listing
            .schemas
            .iter()
            .flat_map(|s| s.sequences.iter().map(|q| (s.name.as_str(), q.as_str())))
            .collect();
        let vs = Arc::new(VirtualSchema::build(
            &schemas, &tables, &sequences, database,
        ));
        *self.virtual_schema.lock() = Some(CachedVirtualSchema {
            listing: listing.clone(),
            database: database.to_string(),
            schema: vs.clone(),
        });
        Ok(vs)
    }

    /// Whether every table is still at the snapshot a statement planned (per the
    /// metadata cache's refresh interval); errors count as stale, so the re-plan
    /// reports them.
    pub fn is_current(
        &self,
        snapshots: &[LakeSnapshot],
        txn: Option<&LakeTxn>,
        runtime: &tokio::runtime::Handle,
    ) -> bool {
        runtime.block_on(async {
            for s in snapshots {
                match self.lake.table_in(txn, &s.table).await {
                    Ok(t) if t.metadata().current_snapshot_id() == s.snapshot_id => {}
                    _ => return false,
                }
            }
            true
        })
    }

    /// Plans the scan of `ident` for reference `r` and renders it.
    async fn scan_sql(
        &self,
        ident: &TableIdent,
        r: &TableRef,
        with_positions: bool,
        txn: Option<&LakeTxn>,
    ) -> Result<PlannedRef, CatalogError> {
        let table = self.lake.table_in(txn, ident).await?;
        let schema = table.metadata().current_schema().clone();
        let predicate = r.filter.as_ref().and_then(|f| {
            let column = |e: &Expr| -> Option<(String, PrimitiveType)> {
                let name = match e {
                    Expr::Identifier(i) if r.sole => fold(i),
                    Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                        if fold(&parts[0]) != r.qualifier {
                            return None;
                        }
                        fold(&parts[1])
                    }
                    _ => return None,
                };
                let field = schema.field_by_name(&name)?;
                match field.field_type.as_ref() {
                    Type::Primitive(p) => Some((name, p.clone())),
                    _ => None,
                }
            };
            to_predicate(f, &column)
        });
        let plan = match plan_scan(&table, r.snapshot, predicate.clone()).await {
            Ok(p) => p,
            // A predicate the planner cannot bind only loses pruning.
            Err(e) if predicate.is_some() && e.sqlstate() == "XX000" => {
                tracing::debug!(error = %e, table = %ident, "planning without the filter");
                plan_scan(&table, r.snapshot, None).await?
            }
            Err(e) => return Err(e),
        };
        tracing::debug!(
            table = %ident,
            files = plan.files.len(),
            total_files = ?plan.total_files,
            "planned lake scan"
        );
        let (files, pins) = self.localize(&plan).await?;
        let mut sql = scan_sql::render(&plan.columns, &files, plan.by_name, with_positions);
        if !r.has_alias {
            sql.push_str(" AS ");
            sql.push_str(&quote_ident(ident.name()));
        }
        let total = plan
            .total_files
            .map_or_else(|| "?".to_string(), |t| t.to_string());
        let summary = format!(
            "{}.{} {}/{}",
            ident.namespace().join("."),
            ident.name(),
            plan.files.len(),
            total
        );
        Ok(PlannedRef {
            sql,
            summary,
            snapshot_id: plan.snapshot_id,
            pins,
            files: plan
                .files
                .iter()
                .map(|f| (f.path.clone(), f.partition.clone(), f.spec_id))
                .collect(),
        })
    }

    /// Makes every file of the plan local (downloads run concurrently), pinned.
    async fn localize(
        &self,
        plan: &ScanPlan,
    ) -> Result<(Vec<LocalFile>, Vec<FilePin>), CatalogError> {
        let jobs = plan.files.iter().map(|f| async move {
            let mut pins = Vec::new();
            let mut keep = |c: CachedFile| {
                pins.extend(c.pin);
                c.path
            };
            let local = keep(self.cache.local_path(&f.path, f.size).await?);
            let mut position_deletes = Vec::new();
            for d in &f.position_deletes {
                position_deletes.push(keep(self.cache.local_path(&d.path, d.size).await?));
            }
            let mut equality_deletes = Vec::new();
            for d in &f.equality_deletes {
                let path = keep(self.cache.local_path(&d.path, d.size).await?);
                equality_deletes.push((path, d.equality_ids.clone()));
            }
            let file = LocalFile {
                location: f.path.clone(),
                local,
                position_deletes,
                equality_deletes,
            };
            Ok::<_, CatalogError>((file, pins))
        });
        fetch_all(jobs).await
    }

    /// A registered Parquet table as a `read_parquet` over its current objects,
    /// made local through the cache.
    async fn parquet_scan_sql(
        &self,
        source: &ParquetSource,
        r: &TableRef,
    ) -> Result<PlannedRef, CatalogError> {
        let objects = self.lake.parquet_files(source).await?;
        if objects.is_empty() {
            return Err(CatalogError::Storage {
                path: source.location.clone(),
                message: "no Parquet objects there any more".into(),
            });
        }
        let jobs = objects.iter().map(|o| {
            let keep = if source.hive_partitioning {
                hive_segments(&o.location)
            } else {
                Vec::new()
            };
            async move {
                let c = self
                    .cache
                    .local_path_keeping(&o.location, o.size, &keep)
                    .await?;
                Ok((c.path, c.pin.into_iter().collect()))
            }
        });
        let (paths, pins) = fetch_all(jobs).await?;
        let mut sql = scan_sql::render_parquet(&paths, source.hive_partitioning);
        if !r.has_alias {
            sql.push_str(" AS ");
            sql.push_str(&quote_ident(r.parts.last().map_or("", String::as_str)));
        }
        Ok(PlannedRef {
            sql,
            summary: format!("{} {}/{}", r.parts.join("."), paths.len(), paths.len()),
            snapshot_id: None,
            pins,
            files: Vec::new(),
        })
    }
}

struct PlannedRef {
    sql: String,
    summary: String,
    snapshot_id: Option<i64>,
    pins: Vec<FilePin>,
    /// The planned data files: location, partition, spec id.
    files: Vec<(String, iceberg::spec::Struct, i32)>,
}

/// The `key=value` directories of an object's path, which name its Hive
/// partition and must survive in the cached copy's path.
fn hive_segments(location: &str) -> Vec<String> {
    let path = location.split_once("://").map_or(location, |(_, p)| p);
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop();
    segments
        .into_iter()
        .filter(|s| s.contains('=') && !s.starts_with('='))
        .map(str::to_string)
        .collect()
}

/// Downloads in flight for one statement.
const DOWNLOAD_CONCURRENCY: usize = 8;

/// Runs the downloads `jobs` (each a local file and the pins that keep it),
/// `DOWNLOAD_CONCURRENCY` at a time, in order; the first failure is the error.
async fn fetch_all<T>(
    jobs: impl Iterator<
        Item = impl std::future::Future<Output = Result<(T, Vec<FilePin>), CatalogError>>,
    >,
) -> Result<(Vec<T>, Vec<FilePin>), CatalogError> {
    let results = futures::stream::iter(jobs)
        .buffered(DOWNLOAD_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut items = Vec::with_capacity(results.len());
    let mut pins = Vec::new();
    for r in results {
        let (item, item_pins) = r?;
        items.push(item);
        pins.extend(item_pins);
    }
    Ok((items, pins))
}

/// The bytes of the data and delete files of `table`'s current snapshot.
fn data_bytes(table: &Table) -> u64 {
    table
        .metadata()
        .current_snapshot()
        .and_then(|s| s.summary().additional_properties.get("total-files-size"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Edits that shorten column references qualified with a replaced table's
/// schema (`analytics.orders.id`, `"floe"."analytics"."orders".id`) to the
/// table's name, which is the replacement's alias.
fn qualified_columns(
    sql: &str,
    edits: &[(usize, usize, String)],
    replaced: &[Vec<String>],
) -> Vec<(usize, usize, String)> {
    if replaced.is_empty() {
        return Vec::new();
    }
    let tokens = floe_sql::tokens::tokenize(sql);
    let inside_edit = |at: usize| edits.iter().any(|(s, e, _)| at >= *s && at < *e);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // A dotted chain `a.b.c.d` starting here.
        let mut chain = vec![i];
        let mut j = i;
        while tokens.get(j + 1).is_some_and(|t| t.tok == Tok::Punct('.'))
            && tokens
                .get(j + 2)
                .is_some_and(|t| floe_sql::tokens::identifier(t).is_some())
        {
            j += 2;
            chain.push(j);
        }
        if chain.len() >= 3 && !inside_edit(tokens[i].span.start) {
            let parts: Vec<String> = chain
                .iter()
                .filter_map(|&k| floe_sql::tokens::identifier(&tokens[k]))
                .collect();
            // Everything but the column must be a suffix (of two or more parts)
            // of a replaced reference.
            let qualifier = &parts[..parts.len() - 1];
            let matches = replaced.iter().any(|r| {
                qualifier.len() >= 2
                    && qualifier.len() <= r.len()
                    && r[r.len() - qualifier.len()..] == *qualifier
            });
            if matches {
                let last_part = chain[chain.len() - 2];
                let start = tokens[i].span.start;
                let end = tokens[last_part].span.end;
                if let Some(name) = qualifier.last() {
                    out.push((start, end, quote_ident(name)));
                }
            }
        }
        i = j + 1;
    }
    out
}

/// A view's definition comes from the catalog, which other writers share: it
/// must pass the same policy as a client's statement and be exactly one query
/// before it is spliced into one.
fn check_view_definition(ident: &TableIdent, sql: &str, database: &str) -> Result<(), PgError> {
    use floe_sql::policy::{analyze, PolicyContext};
    let name = ident.name();
    match analyze(sql, &PolicyContext::for_database(database)) {
        Ok(a) if a.statements == 1 && a.only_queries => Ok(()),
        Ok(_) => Err(PgError::new(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("the definition of view \"{name}\" is not a single query"),
        )),
        Err(r) => Err(PgError::new(
            r.sqlstate,
            format!(
                "the definition of view \"{name}\" is refused: {}",
                r.message
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_definitions_from_the_catalog_pass_the_policy() {
        let ident = TableIdent::from_strs(["shop", "v"]).expect("ident");
        let check = |sql: &str| check_view_definition(&ident, sql, "floe").map_err(|e| e.code);
        assert_eq!(
            check("SELECT a, coalesce(b, 0) FROM shop.t WHERE a > 1"),
            Ok(())
        );
        assert_eq!(
            check("WITH x AS (SELECT 1 AS a) SELECT * FROM x -- note"),
            Ok(())
        );
        for hostile in [
            "SELECT * FROM read_text('/etc/passwd')",
            "SELECT 1) x; COPY (SELECT 1) TO '/tmp/x'; SELECT * FROM (SELECT 1",
            "SELECT 1; SELECT 2",
            "DELETE FROM shop.t",
            "EXPLAIN SELECT 1",
            "SELECT 1 /* open",
        ] {
            assert!(check(hostile).is_err(), "{hostile}");
        }
    }
}
