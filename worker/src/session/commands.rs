//! Statements the session answers itself rather than the engine: BEGIN/COMMIT/
//! ROLLBACK, SET/RESET/SHOW, DISCARD, savepoints, cursors, lake DDL, and the
//! temporary objects dropped when a pooled session is handed on.

use super::*;

impl Session {
    pub(super) fn run_session_command(&mut self, cmd: &SessionCommand) -> SResult<()> {
        match cmd {
            SessionCommand::Begin => {
                if self.txn != TxnState::Idle {
                    self.notice(PgError::warning(
                        "there is already a transaction in progress",
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                    ));
                } else {
                    if !self.implicit_open {
                        self.close_all_streams();
                        self.conn
                            .execute_batch("BEGIN TRANSACTION")
                            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                    }
                    self.implicit_open = false;
                    self.txn = TxnState::InBlock;
                    self.params_at_begin = Some(self.params.clone());
                    self.params_after_commit = Some(self.params.clone());
                }
                wire::command_complete(&mut self.out, "BEGIN");
            }
            SessionCommand::Commit => match self.txn {
                TxnState::Idle => {
                    self.notice(PgError::warning(
                        "there is no transaction in progress",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                    if self.implicit_open {
                        self.commit_implicit()?;
                    }
                    wire::command_complete(&mut self.out, "COMMIT");
                }
                TxnState::Failed => {
                    self.rollback_transaction();
                    wire::command_complete(&mut self.out, "ROLLBACK");
                }
                TxnState::InBlock => {
                    self.portals.retain(|n, _| n.is_empty());
                    self.close_all_streams();
                    if let Err(e) = self.publish_lake_txn() {
                        self.rollback_transaction();
                        return Err(e);
                    }
                    let r = self.conn.execute_batch("COMMIT");
                    match r {
                        Ok(()) => {
                            self.txn = TxnState::Idle;
                            self.end_savepoints();
                            self.cursors_at_commit();
                            let before = self.params.clone();
                            if let Some(p) = self.params_after_commit.take() {
                                self.params = p;
                            }
                            self.params_at_begin = None;
                            self.announce_changes(&before);
                            wire::command_complete(&mut self.out, "COMMIT");
                        }
                        Err(e) => {
                            self.rollback_transaction();
                            return Err(PgError::from_duckdb(&e.message, None).into());
                        }
                    }
                }
            },
            SessionCommand::Rollback => {
                if self.txn == TxnState::Idle {
                    self.notice(PgError::warning(
                        "there is no transaction in progress",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                    if self.implicit_open {
                        self.close_all_streams();
                        self.rollback_engine();
                        self.implicit_open = false;
                        self.discard_lake_txn();
                    }
                } else {
                    self.rollback_transaction();
                }
                wire::command_complete(&mut self.out, "ROLLBACK");
            }
            SessionCommand::PoolReset => {
                self.portals.clear();
                if self.txn != TxnState::Idle || self.implicit_open {
                    self.rollback_engine();
                }
                self.txn = TxnState::Idle;
                self.end_savepoints();
                self.implicit_open = false;
                self.discard_lake_txn();
                self.params_at_begin = None;
                self.params_after_commit = None;
                self.statements.clear();
                self.statement_cache.clear();
                self.close_all_cursors();
                self.drop_temporary_objects()?;
                self.engine_prepared = false;
                crate::functions::sequences::reset_session_values(self.conn.connection_id());
                // Nobody holds the session until the router hands it on.
                self.superuser = false;
                self.params = self.fresh_params(&self.default_params, &[]);
                wire::command_complete(&mut self.out, "DISCARD ALL");
            }
            SessionCommand::CreateSchema {
                name,
                if_not_exists,
            } => {
                let lake = self.lake_for_write()?;
                let outcome = if self.in_transaction() {
                    let txn = self.lake_txn.get_or_insert_with(LakeTxn::new);
                    self.runtime
                        .block_on(txn.create_schema(lake.lakehouse(), name, *if_not_exists))
                } else {
                    self.runtime
                        .block_on(lake.lakehouse().create_schema(name, *if_not_exists))
                };
                lake.forget_virtual_schema();
                outcome.map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
                wire::command_complete(&mut self.out, "CREATE SCHEMA");
            }
            SessionCommand::DropSchema {
                names,
                if_exists,
                cascade,
            } => {
                let lake = self.lake_for_write()?;
                let in_transaction = self.in_transaction();
                for name in names {
                    // Views live in the transaction layer: a schema holding
                    // some is dropped through a transaction of its own.
                    let has_views = lake
                        .listing(self.lake_txn.as_ref(), &self.runtime)?
                        .schema(name)
                        .is_some_and(|s| !s.views.is_empty());
                    let outcome = if in_transaction {
                        let txn = self.lake_txn.get_or_insert_with(LakeTxn::new);
                        self.runtime.block_on(txn.drop_schema(
                            lake.lakehouse(),
                            name,
                            *if_exists,
                            *cascade,
                        ))
                    } else if has_views {
                        let mut own = LakeTxn::new();
                        self.runtime
                            .block_on(own.drop_schema(lake.lakehouse(), name, *if_exists, *cascade))
                            .map(|()| own)
                            .and_then(|own| self.runtime.block_on(own.commit(lake.lakehouse())))
                    } else {
                        self.runtime
                            .block_on(lake.lakehouse().drop_schema(name, *if_exists, *cascade))
                    };
                    lake.forget_virtual_schema();
                    outcome.map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
                }
                wire::command_complete(&mut self.out, "DROP SCHEMA");
            }
            // Reading a table's files is no more than a SELECT of it.
            SessionCommand::FloeCall { procedure, args } if procedure == "floe_cache_warm" => {
                let lake = self.lakehouse()?;
                let names = self.name_context();
                let told = crate::lake::procedures::warm(&lake, args, &names, &self.runtime)?;
                let mut notice = PgError::new(sqlstate::SUCCESSFUL_COMPLETION, told);
                notice.severity = crate::pg_error::Severity::Notice;
                self.notice(notice);
                wire::command_complete(&mut self.out, "CALL");
            }
            SessionCommand::FloeCall { procedure, args }
                if procedure == "floe_result_cache_clear" =>
            {
                if !args.is_empty() {
                    return Err(PgError::new(
                        sqlstate::UNDEFINED_FUNCTION,
                        "procedure floe_result_cache_clear takes no arguments",
                    )
                    .into());
                }
                self.clear_result_cache()?;
                wire::command_complete(&mut self.out, "CALL");
            }
            SessionCommand::FloeCall { procedure, args } => {
                // They register or delete files: Postgres keeps its file access
                // (pg_read_file, lo_import) to superusers as well.
                if !self.superuser {
                    return Err(PgError::new(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be superuser to call {procedure}"),
                    )
                    .into());
                }
                let lake = self.lakehouse()?;
                let names = self.name_context();
                let told =
                    crate::lake::procedures::call(&lake, procedure, args, &names, &self.runtime)?;
                if let Some(message) = told {
                    let mut notice = PgError::new(sqlstate::SUCCESSFUL_COMPLETION, message);
                    notice.severity = crate::pg_error::Severity::Notice;
                    self.notice(notice);
                }
                wire::command_complete(&mut self.out, "CALL");
            }
            SessionCommand::PoolStats => {
                let mut report = self
                    .lake
                    .as_ref()
                    .map(|l| l.cache_report())
                    .unwrap_or_default();
                if let Some(cache) = &self.result_cache {
                    report.extend(cache.report());
                    report.extend(cache.shared_report());
                }
                for (name, value) in report {
                    wire::parameter_status(&mut self.out, name, &value.to_string());
                }
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::PoolSession {
                user,
                database,
                superuser,
                params,
            } => {
                if self.txn != TxnState::Idle {
                    return Err(PgError::new(
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "a pooled session cannot change hands inside a transaction",
                    )
                    .into());
                }
                self.user = user.clone();
                self.database = database.clone();
                self.superuser = *superuser;
                for sql in macros::identity_setup(user, database) {
                    self.conn
                        .execute_batch(&sql)
                        .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                }
                let startup: Vec<(String, String)> = params
                    .iter()
                    .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("floe."))
                    .cloned()
                    .collect();
                self.params = self.fresh_params(&self.default_params, &startup);
                // The new client needs every reported parameter, as at startup.
                for (k, v) in self.params.reported() {
                    wire::parameter_status(&mut self.out, k, &v);
                }
                wire::command_complete(&mut self.out, "SET");
            }
            SessionCommand::Settings(items) => {
                let mut shown = Vec::with_capacity(items.len());
                for (_, call) in items {
                    match call {
                        SettingCall::Read(name) => match self.params.show(name) {
                            Some((_, value)) => shown.push(value),
                            None => {
                                return Err(
                                    crate::compat::settings::unrecognized_parameter(name).into()
                                )
                            }
                        },
                        SettingCall::Write { name, value, local } => {
                            let value = match value {
                                SettingValue::Text(v) => Some(v.as_str()),
                                SettingValue::Default => None,
                                SettingValue::Param(n) => {
                                    return Err(PgError::new(
                                        sqlstate::UNDEFINED_PARAMETER,
                                        format!("there is no parameter ${n}"),
                                    )
                                    .into())
                                }
                            };
                            // set_config with is_local outside a transaction has no
                            // effect, as SET LOCAL; the function still returns the value.
                            if !(*local && self.txn == TxnState::Idle) {
                                let before = self.params.clone();
                                self.params.set(name, value)?;
                                if !*local {
                                    if let Some(after) = &mut self.params_after_commit {
                                        after.set(name, value)?;
                                    }
                                }
                                self.announce_changes(&before);
                            }
                            shown.push(
                                self.params
                                    .get(name)
                                    .or(value)
                                    .unwrap_or_default()
                                    .to_string(),
                            );
                        }
                    }
                }
                let row: Vec<Option<&str>> = shown.iter().map(|v| Some(v.as_str())).collect();
                wire::text_row(&mut self.out, &row);
                wire::command_complete(&mut self.out, "SELECT 1");
            }
            SessionCommand::Set { name, value, local } => {
                if *local && self.txn == TxnState::Idle {
                    self.notice(PgError::warning(
                        "SET LOCAL can only be used in transaction blocks",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                } else {
                    let before = self.params.clone();
                    self.params.set(name, value.as_deref())?;
                    if !*local {
                        if let Some(after) = &mut self.params_after_commit {
                            after.set(name, value.as_deref())?;
                        }
                    }
                    self.announce_changes(&before);
                }
                wire::command_complete(&mut self.out, "SET");
            }
            SessionCommand::Reset(name) => {
                let before = self.params.clone();
                match name {
                    Some(n) => {
                        self.params.set(n, None)?;
                    }
                    None => {
                        // Read-only parameters refuse, and keep their value.
                        for (k, _, _) in self.params.all() {
                            let _ = self.params.set(k, None);
                        }
                    }
                }
                if let Some(after) = &mut self.params_after_commit {
                    *after = self.params.clone();
                }
                self.announce_changes(&before);
                wire::command_complete(&mut self.out, "RESET");
            }
            SessionCommand::Show(name) => {
                let (_, value) = self
                    .params
                    .show(name)
                    .ok_or_else(|| crate::compat::settings::unrecognized_parameter(name))?;
                wire::text_row(&mut self.out, &[Some(&value)]);
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::ShowAll => {
                for (name, value, desc) in self.params.all() {
                    wire::text_row(&mut self.out, &[Some(name), Some(&value), Some(desc)]);
                }
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::DiscardAll => {
                if self.txn != TxnState::Idle {
                    return Err(PgError::new(
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    )
                    .into());
                }
                let before = self.params.clone();
                let startup: Vec<(String, String)> = Vec::new();
                let mut fresh = self.fresh_params(&[], &startup);
                // application_name set at startup survives like other startup options do not;
                // Postgres resets to the startup values, which are the session defaults.
                if let Some(app) = before.get("application_name") {
                    let _ = fresh.set("application_name", Some(app));
                }
                self.params = fresh;
                self.portals.clear();
                self.statements.clear();
                self.close_all_cursors();
                self.drop_temporary_objects()?;
                crate::functions::sequences::reset_session_values(self.conn.connection_id());
                self.announce_changes(&before);
                wire::command_complete(&mut self.out, "DISCARD ALL");
            }
            SessionCommand::DiscardSequences => {
                crate::functions::sequences::reset_session_values(self.conn.connection_id());
                wire::command_complete(&mut self.out, "DISCARD SEQUENCES");
            }
            SessionCommand::DiscardTemp => {
                self.drop_temporary_objects()?;
                wire::command_complete(&mut self.out, "DISCARD TEMP");
            }
            SessionCommand::NoOp(tag) => wire::command_complete(&mut self.out, tag),
            SessionCommand::Deallocate(None) => {
                self.statements.clear();
                wire::command_complete(&mut self.out, "DEALLOCATE ALL");
            }
            SessionCommand::Deallocate(Some(name)) => {
                // A statement SQL's PREPARE made lives in the engine.
                let in_engine = || {
                    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
                    self.conn
                        .execute_batch(&format!("DEALLOCATE {quoted}"))
                        .is_ok()
                };
                if self.statements.remove(name).is_none() && !in_engine() {
                    return Err(PgError::new(
                        sqlstate::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{name}\" does not exist"),
                    )
                    .into());
                }
                wire::command_complete(&mut self.out, "DEALLOCATE");
            }
            SessionCommand::Savepoint(name) => return self.savepoint(name),
            SessionCommand::ReleaseSavepoint(name) => return self.release_savepoint(name),
            SessionCommand::RollbackToSavepoint(name) => return self.rollback_to_savepoint(name),
            SessionCommand::Unsupported(what) => {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not supported"),
                )
                .into());
            }
        }
        Ok(())
    }

    /// Drops the temporary tables and views a client created, so a pooled session
    /// carries nothing to the next client (Floe's own temporary macros stay).
    pub(super) fn drop_temporary_objects(&mut self) -> SResult<()> {
        for (name, is_view) in self.temporary_relations()? {
            let kind = if is_view { "VIEW" } else { "TABLE" };
            self.conn
                .execute_batch(&format!(
                    "DROP {kind} IF EXISTS temp.{}",
                    floe_sql::quote::ident(&name)
                ))
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        self.temp_relations_stale = true;
        Ok(())
    }

    /// Whether DuckDB has a setting of this name (a SET of it is then DuckDB's to
    /// accept or refuse; the locked configuration refuses engine settings).
    /// The worker's lakehouse, for a procedure that needs one.
    fn lakehouse(&self) -> SResult<Arc<LakeReader>> {
        self.lake.clone().ok_or_else(|| {
            PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this worker has no lakehouse",
            )
            .into()
        })
    }

    pub(super) fn is_engine_setting(&mut self, name: &str) -> SResult<bool> {
        self.close_all_streams();
        let mut stmt = self
            .conn
            .prepare("SELECT count(*) FROM duckdb_settings() WHERE lower(name) = lower($1)")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        stmt.bind(0, &Value::varchar(name.trim_matches('"')))
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut result = stmt
            .execute(false)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut found = false;
        while let Some(chunk) = result
            .fetch()
            .map_err(|e| PgError::from_duckdb(&e.message, None))?
        {
            if !chunk.is_empty() {
                // SAFETY: count(*) is a BIGINT column and the chunk has a row.
                found = unsafe { chunk.vector(0).get::<i64>(0) } > 0;
            }
        }
        Ok(found)
    }

    pub(super) fn announce_changes(&mut self, before: &SessionParams) {
        for (k, v) in self.params.changed_reported(before) {
            wire::parameter_status(&mut self.out, k, &v);
        }
    }
}
