//! Views and comments in lake schemas. `CREATE [OR REPLACE] VIEW`, `DROP VIEW`,
//! `ALTER VIEW … RENAME TO` and `COMMENT ON TABLE | VIEW | COLUMN` on lake
//! objects become catalog changes (Iceberg views, the table property `comment`,
//! field docs); a view's query is checked and its columns typed when it is
//! created. Read the statements from tokens: Postgres's grammar for them is
//! small, and the SQL parser lacks `COMMENT ON VIEW` and `ALTER VIEW … RENAME`.
//! References to views are expanded where lake tables are planned (`lake`).

use std::sync::Arc;

use iceberg::spec::Schema;
use iceberg::{NamespaceIdent, TableIdent};

use crate::engine::duck::Connection;
use crate::lake::names::{creation_target, resolve, resolve_with, search_path, NameContext};
use crate::lake::reader::LakeReader;
use crate::lake::schema::{self, ColumnSpec};
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use floe_catalog::Listing;
use floe_sql::tokens::{identifier, Tok, Token};

/// What COMMENT ON names.
#[derive(Debug, Clone)]
pub enum CommentTarget {
    Table(TableIdent),
    View(TableIdent),
    Column(TableIdent, String),
    ViewColumn(TableIdent, String),
}

/// A catalog change a view statement or COMMENT ON makes.
#[derive(Debug)]
pub enum ViewDdl {
    Create {
        ident: TableIdent,
        sql: String,
        schema: Arc<Schema>,
        default_namespace: NamespaceIdent,
        or_replace: bool,
    },
    Drop {
        views: Vec<TableIdent>,
    },
    Rename {
        from: TableIdent,
        to: TableIdent,
    },
    Comment {
        target: CommentTarget,
        comment: Option<String>,
    },
    /// `IF EXISTS` on a missing object.
    Nothing(&'static str),
}

impl ViewDdl {
    pub fn tag(&self) -> &'static str {
        match self {
            ViewDdl::Create { .. } => "CREATE VIEW",
            ViewDdl::Drop { .. } => "DROP VIEW",
            ViewDdl::Rename { .. } => "ALTER VIEW",
            ViewDdl::Comment { .. } => "COMMENT",
            ViewDdl::Nothing(tag) => tag,
        }
    }
}

fn syntax(message: impl Into<String>) -> PgError {
    PgError::new(sqlstate::SYNTAX_ERROR, message)
}

/// A dotted name at `tokens[*i]`, folded; advances past it.
fn dotted_name(tokens: &[&Token], i: &mut usize) -> Option<Vec<String>> {
    let mut parts = vec![identifier(tokens.get(*i)?)?];
    *i += 1;
    while tokens.get(*i).is_some_and(|t| t.tok == Tok::Punct('.')) {
        parts.push(identifier(tokens.get(*i + 1)?)?);
        *i += 2;
    }
    Some(parts)
}

/// The view `parts` names, resolved like a table reference.
pub(crate) fn resolve_view(
    listing: &Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Option<TableIdent> {
    resolve_with(parts, names, |schema, view| listing.view(schema, view))
}

/// The lake relation `parts` would name if it were created now; `None` for a
/// temporary one or a schema the lake lacks (which CREATE refuses).
fn lake_target(listing: &Listing, parts: &[String], names: &NameContext<'_>) -> Option<TableIdent> {
    creation_target(listing, parts, names).ok().flatten()
}

fn display(parts: &[String]) -> String {
    parts.join(".")
}

impl LakeReader {
    /// The lake views that read `dropped` (directly or through other views),
    /// which DROP … CASCADE drops too and a plain DROP refuses to orphan.
    pub(crate) fn dependent_views(
        &self,
        listing: &Listing,
        dropped: &[TableIdent],
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Vec<(TableIdent, TableIdent)>, PgError> {
        let mut graph = Vec::new();
        for s in &listing.schemas {
            for v in &s.views {
                let ident = TableIdent::new(s.ident.clone(), v.clone());
                let view = runtime.block_on(self.lakehouse().view_in(names.txn, &ident));
                let Ok(view) = view else { continue };
                let deps = view_dependencies(listing, &view, names.database);
                graph.push((ident, deps));
            }
        }
        // (dependent view, the object it depends on), to a fixpoint.
        let mut found: Vec<(TableIdent, TableIdent)> = Vec::new();
        let mut gone: Vec<TableIdent> = dropped.to_vec();
        loop {
            let before = found.len();
            for (view, deps) in &graph {
                if gone.contains(view) {
                    continue;
                }
                if let Some(on) = deps.iter().find(|d| gone.contains(d)) {
                    found.push((view.clone(), on.clone()));
                    gone.push(view.clone());
                }
            }
            if found.len() == before {
                return Ok(found);
            }
        }
    }

    /// What DROP does about views that depend on `dropped`: with CASCADE,
    /// the views to drop as well; without, 2BP01 naming the first of them.
    pub(crate) fn drop_dependents(
        &self,
        listing: &Listing,
        dropped: &[TableIdent],
        cascade: bool,
        kind: &str,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Vec<TableIdent>, PgError> {
        let dependents = self.dependent_views(listing, dropped, runtime, names)?;
        let show = |i: &TableIdent| format!("{}.{}", i.namespace().join("."), i.name());
        match dependents.first() {
            Some((view, on)) if !cascade => Err(PgError::new(
                sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop {kind} {} because other objects depend on it",
                    show(on)
                ),
            )
            .with_detail(format!(
                "view {} depends on {kind} {}",
                show(view),
                show(on)
            ))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too.")),
            _ => Ok(dependents.into_iter().map(|(v, _)| v).collect()),
        }
    }

    /// The plan of a view statement or COMMENT ON over lake objects; `None` for
    /// any other statement and for objects outside the lake.
    pub(crate) fn plan_view_ddl(
        &self,
        sql: &str,
        tokens: &[Token],
        listing: &Listing,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<ViewDdl>, PgError> {
        let toks: Vec<&Token> = tokens.iter().filter(|t| t.tok != Tok::Punct(';')).collect();
        let word = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
        if word(0, "CREATE") {
            return self.plan_create_view(sql, &toks, listing, conn, runtime, names);
        }
        if word(0, "DROP") && word(1, "VIEW") {
            let mut i = 2;
            let if_exists = word(i, "IF") && word(i + 1, "EXISTS");
            if if_exists {
                i += 2;
            }
            let mut views = Vec::new();
            let mut local = 0;
            loop {
                let parts =
                    dotted_name(&toks, &mut i).ok_or_else(|| syntax("a view name was expected"))?;
                if let Some(v) = resolve_view(listing, &parts, names) {
                    views.push(v);
                } else if resolve(listing, &parts, names).is_some() {
                    return Err(PgError::new(
                        sqlstate::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not a view", display(&parts)),
                    )
                    .with_hint("Use DROP TABLE to remove a table."));
                } else if lake_target(listing, &parts, names).is_some() && parts.len() > 1 {
                    if !if_exists {
                        return Err(PgError::new(
                            sqlstate::UNDEFINED_TABLE,
                            format!("view \"{}\" does not exist", display(&parts)),
                        ));
                    }
                } else {
                    local += 1;
                }
                if toks.get(i).is_some_and(|t| t.tok == Tok::Punct(',')) {
                    i += 1;
                    continue;
                }
                break;
            }
            let cascade = toks.last().is_some_and(|t| t.is_word("CASCADE"));
            if local == 0 && !views.is_empty() {
                let dependents =
                    self.drop_dependents(listing, &views, cascade, "view", runtime, names)?;
                views.extend(dependents);
            }
            return match (views.is_empty(), local) {
                (true, 0) => Ok(Some(ViewDdl::Nothing("DROP VIEW"))),
                (_, 0) => Ok(Some(ViewDdl::Drop { views })),
                (true, _) => Ok(None),
                (false, _) => Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "DROP VIEW of lake views and session views in one statement is not supported",
                )),
            };
        }
        if word(0, "ALTER") && (word(1, "VIEW") || word(1, "TABLE")) {
            let mut i = 2;
            let if_exists = word(i, "IF") && word(i + 1, "EXISTS");
            if if_exists {
                i += 2;
            }
            let Some(parts) = dotted_name(&toks, &mut i) else {
                return Ok(None);
            };
            let Some(view) = resolve_view(listing, &parts, names) else {
                if word(1, "VIEW")
                    && lake_target(listing, &parts, names).is_some()
                    && parts.len() > 1
                {
                    return if if_exists {
                        Ok(Some(ViewDdl::Nothing("ALTER VIEW")))
                    } else {
                        Err(PgError::new(
                            sqlstate::UNDEFINED_TABLE,
                            format!("relation \"{}\" does not exist", display(&parts)),
                        ))
                    };
                }
                return Ok(None);
            };
            if !(word(i, "RENAME") && word(i + 1, "TO")) {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "ALTER VIEW on a lake view supports RENAME TO; use CREATE OR REPLACE VIEW to change it",
                ));
            }
            i += 2;
            let new = identifier(
                toks.get(i)
                    .ok_or_else(|| syntax("RENAME TO needs a name"))?,
            )
            .ok_or_else(|| syntax("RENAME TO needs a name"))?;
            return Ok(Some(ViewDdl::Rename {
                to: TableIdent::new(view.namespace().clone(), new),
                from: view,
            }));
        }
        if word(0, "COMMENT") && word(1, "ON") {
            return self.plan_comment(&toks, listing, names);
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_create_view(
        &self,
        sql: &str,
        toks: &[&Token],
        listing: &Listing,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<ViewDdl>, PgError> {
        let word = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
        let mut i = 1;
        let or_replace = word(i, "OR") && word(i + 1, "REPLACE");
        if or_replace {
            i += 2;
        }
        if word(i, "TEMP") || word(i, "TEMPORARY") {
            return Ok(None);
        }
        let recursive = word(i, "RECURSIVE");
        if recursive {
            i += 1;
        }
        if word(i, "MATERIALIZED") {
            i += 1;
            if !word(i, "VIEW") {
                return Ok(None);
            }
            i += 1;
            let Some(parts) = dotted_name(toks, &mut i) else {
                return Ok(None);
            };
            if creation_target(listing, &parts, names)?.is_some() {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "materialized views in lake schemas are not supported; use CREATE TABLE … AS",
                ));
            }
            return Ok(None);
        }
        if !word(i, "VIEW") {
            return Ok(None);
        }
        i += 1;
        let Some(parts) = dotted_name(toks, &mut i) else {
            return Ok(None);
        };
        let Some(ident) = creation_target(listing, &parts, names)? else {
            return Ok(None);
        };
        if recursive {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "recursive views in lake schemas are not supported",
            ));
        }
        let mut column_names = Vec::new();
        if toks.get(i).is_some_and(|t| t.tok == Tok::Punct('(')) {
            i += 1;
            while let Some(t) = toks.get(i) {
                match &t.tok {
                    Tok::Punct(')') => break,
                    Tok::Punct(',') => {}
                    _ => column_names
                        .push(identifier(t).ok_or_else(|| syntax("a column name was expected"))?),
                }
                i += 1;
            }
            i += 1;
        }
        if word(i, "WITH") {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "view options (WITH …) on lake views are not supported",
            ));
        }
        if !word(i, "AS") {
            return Err(syntax("AS was expected after the view name"));
        }
        let start = toks
            .get(i + 1)
            .map(|t| t.span.start)
            .ok_or_else(|| syntax("syntax error at end of input"))?;
        let end = toks.last().map_or(start, |t| t.span.end);
        let query = sql[start..end].trim().to_string();
        if floe_sql::tokens::has_top_level_word(&floe_sql::tokens::tokenize(&query), "CHECK") {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "WITH CHECK OPTION on lake views is not supported",
            ));
        }
        // Unqualified names in the query resolve where they do now.
        let default_namespace = search_path(names)
            .into_iter()
            .find_map(|s| listing.schema(&s).map(|e| e.ident.clone()))
            .unwrap_or_else(|| ident.namespace().clone());
        let rewritten =
            self.rewrite(&query, &floe_sql::tokens::tokenize(&query), runtime, names)?;
        let checked = rewritten
            .as_ref()
            .map_or(query.as_str(), |r| r.sql.as_str());
        let described = conn
            .prepare(&format!("SELECT * FROM ({checked}) AS __floe_view"))
            .map_err(|e| PgError::from_duckdb(&e.message, Some(checked)))?;
        let n = described.column_count();
        if column_names.len() > n {
            return Err(syntax(
                "CREATE VIEW specifies more column names than columns",
            ));
        }
        // Unnamed columns are named as PostgreSQL names them (`count`, not the
        // engine's `count_star()`).
        let postgres_names = floe_sql::pg_names::parse_query(&query)
            .as_ref()
            .and_then(floe_sql::pg_names::query_column_names)
            .filter(|names| names.len() == n);
        let mut columns = Vec::with_capacity(n);
        for c in 0..n {
            let name = column_names
                .get(c)
                .or_else(|| postgres_names.as_ref().and_then(|p| p.get(c)))
                .cloned()
                .unwrap_or_else(|| described.column_name(c));
            let t = described
                .column_type(c)
                .ok_or_else(|| PgError::new("XX000", "view column without a type"))?;
            if columns.iter().any(|s: &ColumnSpec| s.name == name) {
                return Err(PgError::new(
                    sqlstate::DUPLICATE_COLUMN,
                    format!("column \"{name}\" specified more than once"),
                ));
            }
            columns.push(ColumnSpec {
                field_type: schema::from_duckdb(&t, &name)?,
                name,
                required: false,
            });
        }
        let schema = schema::build_schema(columns, &[])?;
        Ok(Some(ViewDdl::Create {
            ident,
            sql: query,
            schema: Arc::new(schema),
            default_namespace,
            or_replace,
        }))
    }

    fn plan_comment(
        &self,
        toks: &[&Token],
        listing: &Listing,
        names: &NameContext<'_>,
    ) -> Result<Option<ViewDdl>, PgError> {
        let word = |i: usize, w: &str| toks.get(i).is_some_and(|t| t.is_word(w));
        let kind = if word(2, "TABLE") {
            "table"
        } else if word(2, "VIEW") {
            "view"
        } else if word(2, "COLUMN") {
            "column"
        } else {
            return Ok(None);
        };
        let mut i = 3;
        let Some(mut parts) = dotted_name(toks, &mut i) else {
            return Ok(None);
        };
        if !word(i, "IS") {
            return Err(syntax("IS was expected in COMMENT ON"));
        }
        let comment = match toks.get(i + 1).map(|t| &t.tok) {
            Some(Tok::Str(s)) => Some(s.clone()),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => None,
            _ => return Err(syntax("a string literal or NULL was expected after IS")),
        };
        let column = if kind == "column" {
            if parts.len() < 2 {
                return Err(syntax("column name must be qualified"));
            }
            parts.pop()
        } else {
            None
        };
        let target = if let Some(t) = resolve(listing, &parts, names) {
            match (kind, column) {
                ("view", _) => {
                    return Err(PgError::new(
                        sqlstate::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not a view", display(&parts)),
                    ))
                }
                (_, Some(c)) => CommentTarget::Column(t, c),
                _ => CommentTarget::Table(t),
            }
        } else if let Some(v) = resolve_view(listing, &parts, names) {
            match (kind, column) {
                ("table", _) => {
                    return Err(PgError::new(
                        sqlstate::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not a table", display(&parts)),
                    ))
                }
                (_, Some(c)) => CommentTarget::ViewColumn(v, c),
                _ => CommentTarget::View(v),
            }
        } else {
            if lake_target(listing, &parts, names).is_some() && parts.len() > 1 {
                return Err(PgError::new(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{}\" does not exist", display(&parts)),
                ));
            }
            return Ok(None);
        };
        Ok(Some(ViewDdl::Comment { target, comment }))
    }
}

/// The lake tables and views `view`'s query names.
pub(crate) fn view_dependencies(
    listing: &Listing,
    view: &floe_catalog::LakeView,
    database: &str,
) -> Vec<TableIdent> {
    let search_path = format!(
        "{}, public",
        floe_sql::quote::ident(&view.default_namespace.join("."))
    );
    let names = NameContext {
        search_path: &search_path,
        user: "",
        database,
        txn: None,
        temp: &[],
    };
    let Some(refs) = crate::lake::refs::find(&view.sql) else {
        return Vec::new();
    };
    let mut out: Vec<TableIdent> = Vec::new();
    for r in refs {
        let found =
            resolve(listing, &r.parts, &names).or_else(|| resolve_view(listing, &r.parts, &names));
        if let Some(ident) = found {
            if !out.contains(&ident) {
                out.push(ident);
            }
        }
    }
    out
}
