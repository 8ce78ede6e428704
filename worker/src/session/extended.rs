//! The extended query protocol: Parse, Bind, Describe, Close, Execute and Sync,
//! and re-planning a prepared statement whose lake tables changed underneath it.

use super::*;

impl Session {
    pub(super) fn parse(&mut self, m: Parse) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if !name.is_empty() && self.statements.contains_key(&name) {
            return Err(PgError::new(
                sqlstate::DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            )
            .into());
        }
        let tokens = floe_sql::tokens::tokenize(&m.query);
        let pieces = split_statements(&m.query, &tokens);
        if pieces.len() > 1 {
            return Err(PgError::new(
                sqlstate::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            )
            .into());
        }
        self.reads_router_state = false;
        self.check_policy(&m.query)?;
        if self.txn == TxnState::Failed
            && !pieces
                .first()
                .is_some_and(|p| is_txn_end_command(&p.tokens))
        {
            return Err(PgError::in_failed_transaction().into());
        }
        let stmt = match pieces.first() {
            None => Statement::without_rows(&m.query, StatementKind::Empty, &m.type_oids),
            Some(p) => {
                let text = p.text.to_string();
                self.prepare_statement(&text, &p.tokens, &m.type_oids)?
            }
        };
        self.statements.insert(name, stmt);
        wire::parse_complete(&mut self.out);
        Ok(())
    }

    pub(super) fn bind(&mut self, m: Bind) -> SResult<()> {
        let stmt_name = m.statement_name.unwrap_or_default();
        let stmt = self.statements.get(&stmt_name).cloned().ok_or_else(|| {
            PgError::new(
                sqlstate::INVALID_SQL_STATEMENT_NAME,
                format!("prepared statement \"{stmt_name}\" does not exist"),
            )
        })?;
        if self.txn == TxnState::Failed && !is_txn_end(&stmt) {
            return Err(PgError::in_failed_transaction().into());
        }
        let stmt = self.replan_if_stale(&stmt_name, stmt)?;
        let stmt = set_config_params::bind_values(&stmt, &m.parameters)?;
        let portal_name = m.portal_name.unwrap_or_default();
        if !portal_name.is_empty() && self.portals.contains_key(&portal_name) {
            return Err(PgError::new(
                sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{portal_name}\" already exists"),
            )
            .into());
        }
        let n = stmt.param_types.len();
        if m.parameters.len() != n {
            return Err(PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                    m.parameters.len(),
                    stmt_name,
                    n
                ),
            )
            .into());
        }
        let fmt = |codes: &[i16], i: usize| -> SResult<bool> {
            let c = match codes.len() {
                0 => 0,
                1 => codes[0],
                _ => codes.get(i).copied().unwrap_or(0),
            };
            match c {
                0 => Ok(false),
                1 => Ok(true),
                other => Err(PgError::new(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("unsupported format code: {other}"),
                )
                .into()),
            }
        };
        if m.parameter_format_codes.len() > 1 && m.parameter_format_codes.len() != n {
            return Err(PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {} parameter formats but {} parameters",
                    m.parameter_format_codes.len(),
                    n
                ),
            )
            .into());
        }
        let mut values = Vec::with_capacity(n);
        for (i, raw) in m.parameters.iter().enumerate() {
            let ty = stmt.param_types[i];
            let v = match raw {
                None => Value::null(),
                Some(bytes) => {
                    if fmt(&m.parameter_format_codes, i)? {
                        params::decode_binary(ty, bytes)?
                    } else if let Some(instant) = (ty == oid::TIMESTAMPTZ)
                        .then(|| std::str::from_utf8(bytes).ok())
                        .flatten()
                        .and_then(|t| {
                            zoned_literals::utc_instant(t, &self.params.output_settings().tz)
                        })
                    {
                        // A zone-less timestamptz names an instant in the session's zone.
                        params::decode_text(ty, instant.as_bytes())?
                    } else {
                        params::decode_text(ty, bytes)?
                    }
                }
            };
            values.push(v);
        }
        let ncols = stmt.fields.as_ref().map_or(0, Vec::len);
        let mut binary = Vec::with_capacity(ncols);
        for i in 0..ncols {
            binary.push(fmt(&m.result_column_format_codes, i)?);
        }
        let param_key = match &stmt.kind {
            StatementKind::Duck(d) if d.cacheable.is_ok() => result_cache::parameter_key(
                &m.parameters,
                &m.parameter_format_codes,
                &stmt.param_types,
            ),
            _ => Vec::new(),
        };
        self.portals.remove(&portal_name);
        self.portals.insert(
            portal_name,
            Portal {
                stmt,
                params: values,
                binary,
                state: PortalState::NotStarted,
                settings: self.params.output_settings(),
                describe: false,
                command_tag: None,
                param_key,
                recording: None,
            },
        );
        wire::bind_complete(&mut self.out);
        Ok(())
    }

    pub(super) fn describe(&mut self, m: Describe) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if m.target_type == b'S' {
            let stmt = self.statements.get(&name).cloned().ok_or_else(|| {
                PgError::new(
                    sqlstate::INVALID_SQL_STATEMENT_NAME,
                    format!("prepared statement \"{name}\" does not exist"),
                )
            })?;
            wire::parameter_description(&mut self.out, &stmt.param_types);
            match &stmt.fields {
                Some(f) => wire::row_description(&mut self.out, f, &|_| false),
                None => wire::no_data(&mut self.out),
            }
        } else {
            // A cursor DECLARE opened is a portal too (psycopg describes it).
            if !self.portals.contains_key(&name) {
                if let Some((fields, binary)) = self.cursors.description(&name) {
                    wire::row_description(&mut self.out, &fields, &|_| binary);
                    return Ok(());
                }
            }
            let portal = self.portals.get(&name).ok_or_else(|| {
                PgError::new(
                    sqlstate::INVALID_CURSOR_NAME,
                    format!("portal \"{name}\" does not exist"),
                )
            })?;
            match &portal.stmt.fields {
                Some(f) => {
                    let binary = portal.binary.clone();
                    wire::row_description(&mut self.out, f, &|i| {
                        binary.get(i).copied().unwrap_or(false)
                    })
                }
                None => wire::no_data(&mut self.out),
            }
        }
        Ok(())
    }

    pub(super) fn close(&mut self, m: Close) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if m.target_type == b'S' {
            self.statements.remove(&name);
        } else {
            self.portals.remove(&name);
        }
        wire::close_complete(&mut self.out);
        Ok(())
    }

    pub(super) fn execute(&mut self, m: Execute) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        let mut portal = self.portals.remove(&name).ok_or_else(|| {
            PgError::new(
                sqlstate::INVALID_CURSOR_NAME,
                format!("portal \"{name}\" does not exist"),
            )
        })?;
        if self.txn == TxnState::Failed && !is_txn_end(&portal.stmt) {
            return Err(PgError::in_failed_transaction().into());
        }
        let max_rows = if m.max_rows > 0 { m.max_rows as u64 } else { 0 };
        let r = self.run_portal(&mut portal, max_rows);
        // A portal that ended with an error is gone; one that finished or suspended
        // stays until closed or the transaction ends.
        if r.is_ok() {
            self.portals.insert(name, portal);
        }
        r
    }

    pub(super) fn sync(&mut self) -> SResult<()> {
        if self.implicit_open {
            self.commit_implicit()?;
        }
        if self.txn == TxnState::Idle {
            // Portals live until the end of the transaction; outside one, that is now.
            self.portals.clear();
        }
        Ok(())
    }

    // ---- statements --------------------------------------------------------------

    /// Builds a statement from one piece of SQL: a session command the session
    /// handles, or a DuckDB prepared statement.
    /// A prepared statement over lake tables that have new snapshots is planned
    /// again (as Postgres re-plans after DDL); its result shape must not change.
    pub(super) fn replan_if_stale(
        &mut self,
        name: &str,
        stmt: Rc<Statement>,
    ) -> SResult<Rc<Statement>> {
        let Some(lake) = &self.lake else {
            return Ok(stmt);
        };
        if stmt.lake_snapshots.is_empty()
            || lake.is_current(&stmt.lake_snapshots, self.lake_txn.as_ref(), &self.runtime)
        {
            return Ok(stmt);
        }
        let tokens = floe_sql::tokens::tokenize(&stmt.sql);
        let fresh = self.prepare_statement(&stmt.sql, &tokens, &stmt.client_types)?;
        if fresh.fields != stmt.fields || fresh.param_types != stmt.param_types {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cached plan must not change result type",
            )
            .into());
        }
        self.statements.insert(name.to_string(), fresh.clone());
        Ok(fresh)
    }
}
