//! Preparing a statement once: policy and syntax checks, lake references planned
//! into engine SQL, lake writes and DDL recognised, session commands told apart, and
//! the result's columns named and typed as PostgreSQL names and types them.

use std::borrow::Cow;

use super::*;

impl Session {
    pub(super) fn prepare_statement(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        match self.prepare_statement_once(sql, tokens, client_types) {
            // Another session, perhaps on another worker, may have just made the
            // relation: list the catalog again before saying it does not exist.
            Err(SessionError::Pg(e)) if e.code == sqlstate::UNDEFINED_TABLE => {
                let Some(lake) = self.lake.clone() else {
                    return Err(e.into());
                };
                lake.lakehouse().forget_listing();
                lake.forget_virtual_schema();
                self.statement_cache.clear();
                self.prepare_statement_once(sql, tokens, client_types)
            }
            other => other,
        }
    }

    pub(super) fn prepare_statement_once(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        // Names resolve against the session's TEMP relations as they are now.
        if self.lake.is_some() {
            self.refresh_temp_relations()?;
        }
        if tokens.first().is_some_and(|t| t.is_word("PREPARE")) {
            self.engine_prepared = true;
        }
        if tokens.first().is_some_and(|t| t.is_word("EXPLAIN")) {
            return self.prepare_explain(sql, tokens, client_types);
        }
        if cursors::is_cursor_statement(tokens) {
            return self.prepare_cursor_command(sql, tokens, client_types);
        }
        let command = crate::session::command_text::session_command(tokens);
        if let Some(cmd) = command.clone() {
            if owned_by_session(&cmd) {
                let fields = session_fields(&cmd, &self.params);
                return Ok(Rc::new(Statement {
                    sql: sql.to_string(),
                    param_types: set_config_params::parameter_types(&cmd, client_types),
                    kind: StatementKind::Session(cmd),
                    fields,
                    client_types: client_types.to_vec(),
                    lake_snapshots: Vec::new(),
                    _lake_pins: Vec::new(),
                }));
            }
        }
        if let Some(copy) = crate::copy::command::parse(sql, tokens) {
            return Ok(Statement::without_rows(
                sql,
                StatementKind::Copy(copy?),
                client_types,
            ));
        }
        let mut sql = Cow::Borrowed(sql);
        let mut tokens = Cow::Borrowed(tokens);
        // The caches' own counters change with every statement: never cached.
        let reads_cache_view = match self.inline_cache_view(&sql, &tokens) {
            Some(inlined) => {
                take_text(&mut sql, &mut tokens, Some(inlined));
                true
            }
            None => false,
        };
        if tokens.iter().any(|t| t.is_word("current_setting")) {
            let inlined = current_settings::inline_current_settings(&sql, &tokens, &self.params)?;
            take_text(&mut sql, &mut tokens, inlined);
        }
        // timestamptz literals without a zone name an instant in the session's;
        // literals with an era name the astronomical year.
        if tokens
            .iter()
            .any(|t| t.is_word("timestamptz") || t.is_word("zone"))
            || zoned_literals::mentions_an_era(&tokens)
        {
            let zone = &self.params.output_settings().tz;
            let zoned = zoned_literals::inline_zoned_literals(&sql, &tokens, zone);
            take_text(&mut sql, &mut tokens, zoned);
        }
        let (sql, tokens) = (&*sql, &*tokens);
        if schema_path::mentions_schema_path(tokens) {
            self.sync_schema_path()?;
        }
        // Lake tables become scans of this statement's snapshot files. Writes to
        // lake tables: catalog changes run as they are; INSERT, UPDATE and DELETE
        // run as a COPY to staged files, committed after it ran.
        // A lake INSERT's parameters take their columns' types, as declared
        // types would (its COPY text cannot tell the engine).
        let mut implied_types = Vec::new();
        let (resolved, lake_commit, copy_sql, lake_returning) = match &self.lake {
            None => (None, None, None, None),
            Some(lake) => {
                let names = self.name_context();
                // Sequence functions on lake sequences name them in full.
                let called = if crate::lake::sequence_calls::mentions_sequence_functions(tokens) {
                    let listing = lake.listing(names.txn, &self.runtime)?;
                    crate::lake::sequence_calls::rewrite_sequence_calls(
                        &listing, sql, tokens, &names,
                    )?
                } else {
                    None
                };
                let called_tokens = called.as_deref().map(floe_sql::tokens::tokenize);
                let (sql, tokens) = match (&called, &called_tokens) {
                    (Some(s), Some(t)) => (s.as_str(), t.as_slice()),
                    _ => (sql, tokens),
                };
                match lake.plan_write(sql, tokens, &self.conn, &self.runtime, &names)? {
                    Some(WritePlan::Ddl(ddl)) => {
                        return Ok(Statement::without_rows(
                            sql,
                            StatementKind::LakeDdl(ddl),
                            client_types,
                        ));
                    }
                    Some(WritePlan::Staged {
                        commit,
                        copy_sql,
                        rewritten,
                        returning,
                        param_types,
                    }) => {
                        implied_types = param_types;
                        (rewritten, Some(commit), Some(copy_sql), returning)
                    }
                    None => {
                        let rewritten = lake.rewrite(sql, tokens, &self.runtime, &names)?;
                        // Sequence calls alone are a rewrite that reads no table.
                        let rewritten = rewritten.or_else(|| {
                            called.map(|sql| crate::lake::Rewritten {
                                sql,
                                scans: String::new(),
                                snapshots: Vec::new(),
                                pins: Vec::new(),
                                target_files: Vec::new(),
                                sealed: false,
                            })
                        });
                        (rewritten, None, None, None)
                    }
                }
            }
        };
        if let Some(r) = &resolved {
            self.params.set_internal("floe.lake_scan", r.scans.clone());
        }
        let declared: Vec<u32>;
        let client_types = if implied_types.iter().any(|t| *t != 0) {
            declared = (0..client_types.len().max(implied_types.len()))
                .map(|i| match client_types.get(i).copied().unwrap_or(0) {
                    0 => implied_types.get(i).copied().unwrap_or(0),
                    given => given,
                })
                .collect();
            declared.as_slice()
        } else {
            client_types
        };
        let client_sql = sql;
        let sql = copy_sql
            .as_deref()
            .or(resolved.as_ref().map(|r| r.sql.as_str()))
            .unwrap_or(sql);
        // Repeated statements reuse their DuckDB preparation: planning costs more
        // than running a small query.
        if settings_view::reads_settings(sql) {
            self.publish_settings();
        }
        self.create_macros_used_by(sql)?;
        self.sync_zone();
        let cache_key = (sql.to_string(), client_types.to_vec());
        if let (Some(hit), None) = (self.statement_cache.get(&cache_key), &lake_commit) {
            return Ok(hit.clone());
        }
        if let Some(SessionCommand::Set { name, .. } | SessionCommand::Reset(Some(name))) = command
        {
            // What reaches here is no Postgres parameter: the engine's settings
            // and variables are not the client's to change.
            if tokens.get(1).is_some_and(|t| t.is_word("VARIABLE")) {
                return Err(PgError::new(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "SET VARIABLE is not allowed",
                )
                .into());
            }
            if self.is_engine_setting(&name)? {
                return Err(PgError::new(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("changing the engine setting \"{name}\" is not allowed"),
                )
                .into());
            }
            return Err(PgError::new(
                sqlstate::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
            .into());
        }
        // Typed placeholders: let DuckDB know the types the client declared.
        let casts: Vec<Option<&'static str>> =
            client_types.iter().map(|t| duckdb_type_name(*t)).collect();
        let text = if casts.iter().any(Option::is_some) {
            crate::session::placeholders::cast_placeholders(sql, &casts)
        } else {
            sql.to_string()
        };
        self.close_all_streams();
        let prepared = self
            .conn
            .prepare(&text)
            .map_err(|e| PgError::from_duckdb(&e.message, Some(&text)))?;
        let stype = prepared.statement_type();
        let nparams = prepared.param_count().max(client_types.len());
        let late_bound = late_bound::is_late_bound(&prepared)
            .then(|| late_bound::late_bound_shape(&self.conn, &text, client_types, nparams));
        let param_types = match &late_bound {
            Some((_, types)) => types.clone(),
            None => (0..nparams)
                .map(|i| match client_types.get(i).copied().unwrap_or(0) {
                    0 => prepared
                        .param_type(i)
                        .map(|t| parameter_type(ValueKind::from_logical(&t)))
                        .unwrap_or(oid::TEXT),
                    declared => declared,
                })
                .collect(),
        };
        let words = floe_sql::tokens::leading_words(tokens, 6);
        let returning = floe_sql::tokens::has_top_level_word(tokens, "RETURNING");
        let returns_rows = match stype {
            st::INSERT | st::UPDATE | st::DELETE | st::MERGE_INTO => returning,
            st::CREATE | st::ALTER | st::DROP | st::CREATE_FUNC => false,
            st::COPY => false,
            _ => prepared.column_count() > 0 && !is_status_only(stype),
        };
        let fields = match (returns_rows, late_bound) {
            (false, _) => None,
            (true, Some((shape, _))) => shape,
            (true, None) => Some(late_bound::prepared_fields(&prepared)),
        };
        // Column names as PostgreSQL gives them (`count`, not `count_star()`).
        let mut fields = fields;
        if let Some(fields) = fields.as_mut() {
            let width = fields.len();
            // The client's query, parsed once for the names and the types.
            let query = floe_sql::pg_names::parse_query(client_sql);
            let names = query
                .as_ref()
                .and_then(floe_sql::pg_names::query_column_names)
                .filter(|n| n.len() == width);
            for (field, name) in fields.iter_mut().zip(names.into_iter().flatten()) {
                field.name = name;
            }
            // Catalog columns of type name, "char" and oid, casts to name and
            // OID-alias types (`floe_name`, `floe_regclass`, as the router writes
            // them) and functions returning name, as PostgreSQL types them.
            let types = query
                .as_ref()
                .and_then(crate::codec::result_types::query_result_types)
                .filter(|t| t.len() == width);
            for (field, pg_type) in fields.iter_mut().zip(types.into_iter().flatten()) {
                if let Some(t) = pg_type {
                    field.type_oid = catalog_type(field.type_oid, t);
                }
            }
        }
        // A lake INSERT's RETURNING rows come from a second query, whose
        // columns the typed empty form tells now.
        let returns_rows = returns_rows || lake_returning.is_some();
        if let Some(r) = &lake_returning {
            fields = Some(self.returning_fields(&r.described_sql)?);
        }
        let tag = match &lake_commit {
            Some(LakeCommit::Insert(_)) => Tag::Insert,
            Some(LakeCommit::Delete(_)) => Tag::Delete,
            Some(LakeCommit::Update(_)) => Tag::Update,
            None => command_tag(stype, &words, tokens),
        };
        // A lake write runs as the engine's COPY, but it writes rows all the
        // same: in an extended-protocol batch it joins the implicit transaction.
        let modifies = lake_commit.is_some()
            || matches!(
                stype,
                st::INSERT
                    | st::UPDATE
                    | st::DELETE
                    | st::MERGE_INTO
                    | st::CREATE
                    | st::ALTER
                    | st::DROP
            );
        let is_lake_write = lake_commit.is_some();
        let changes_schema = !is_lake_write
            && !matches!(
                stype,
                st::SELECT | st::INSERT | st::UPDATE | st::DELETE | st::MERGE_INTO | st::EXPLAIN
            );
        let sealed = !reads_cache_view
            && !self.reads_router_state
            && match &resolved {
                Some(r) => r.sealed,
                None => crate::lake::reads_no_relation(sql),
            };
        let cacheable = self.cacheability(stype, returns_rows, modifies, sealed, &text);
        let stmt = Rc::new(Statement {
            sql: client_sql.to_string(),
            kind: StatementKind::Duck(DuckStatement {
                prepared: std::cell::RefCell::new(prepared),
                engine_sql: text,
                tag,
                returns_rows,
                modifies,
                changes_schema,
                lake_commit,
                returning_sql: lake_returning.map(|r| r.rows_sql),
                cacheable,
            }),
            param_types,
            fields,
            client_types: client_types.to_vec(),
            lake_snapshots: resolved
                .as_ref()
                .map(|r| r.snapshots.clone())
                .unwrap_or_default(),
            _lake_pins: resolved.map(|r| r.pins).unwrap_or_default(),
        });
        if changes_schema {
            // Cached descriptions may be stale once the schema changes.
            self.statement_cache.clear();
        } else if !is_lake_write {
            if self.statement_cache.len() >= STATEMENT_CACHE_SIZE {
                self.statement_cache.clear();
            }
            self.statement_cache.insert(cache_key, stmt.clone());
        }
        Ok(stmt)
    }
}

impl Session {
    /// The columns of a lake INSERT's RETURNING list, named as PostgreSQL
    /// names them.
    fn returning_fields(&self, described_sql: &str) -> SResult<Vec<Field>> {
        let prepared = self
            .conn
            .prepare(described_sql)
            .map_err(|e| PgError::from_duckdb(&e.message, Some(described_sql)))?;
        let mut fields = late_bound::prepared_fields(&prepared);
        let names = floe_sql::pg_names::parse_query(described_sql)
            .as_ref()
            .and_then(floe_sql::pg_names::query_column_names)
            .filter(|n| n.len() == fields.len());
        for (field, name) in fields.iter_mut().zip(names.into_iter().flatten()) {
            field.name = name;
        }
        Ok(fields)
    }
}

/// Makes `rewritten`, when a step rewrote the statement, its text and tokens.
fn take_text<'a>(sql: &mut Cow<'a, str>, tokens: &mut Cow<'a, [Token]>, rewritten: Option<String>) {
    if let Some(text) = rewritten {
        *tokens = Cow::Owned(floe_sql::tokens::tokenize(&text));
        *sql = Cow::Owned(text);
    }
}
