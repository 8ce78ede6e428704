//! The simple query protocol: a Query message's statements split, checked and run
//! one after another in one implicit transaction, as PostgreSQL runs them.

use super::*;

impl Session {
    pub(super) fn simple_query(&mut self, sql: &str) -> SResult<()> {
        // A simple query discards the unnamed statement and portal.
        self.portals.remove("");
        self.statements.remove("");
        let tokens = floe_sql::tokens::tokenize(sql);
        let pieces = split_statements(sql, &tokens);
        if pieces.is_empty() {
            wire::empty_query(&mut self.out);
            return Ok(());
        }
        // The policy, on exactly the statements this session will run, before
        // any of them runs.
        self.reads_router_state = false;
        self.check_policy(sql)?;
        if pieces.len() > 1 {
            for p in &pieces {
                self.check_policy(p.text)?;
            }
        }
        if pieces.len() > 1 {
            self.check_syntax(sql, &pieces)?;
        }
        let has_txn_control = pieces.iter().any(|p| {
            matches!(
                crate::session::command_text::session_command(&p.tokens),
                Some(SessionCommand::Begin | SessionCommand::Commit | SessionCommand::Rollback)
            )
        });
        // Several statements in one query run as one transaction, as in Postgres.
        let wrap = pieces.len() > 1
            && self.txn == TxnState::Idle
            && !has_txn_control
            && !self.implicit_open;
        if wrap {
            self.begin_implicit()?;
        }
        for piece in &pieces {
            if self.txn == TxnState::Failed && !is_txn_end_command(&piece.tokens) {
                return Err(PgError::in_failed_transaction().into());
            }
            let stmt = self
                .prepare_statement(piece.text, &piece.tokens, &[])
                .map_err(|e| match e {
                    SessionError::Pg(p) => SessionError::Pg(shift_position(p, sql, piece.offset)),
                    other => other,
                })?;
            let mut portal = Portal::unbound(stmt.clone(), self.params.output_settings(), true);
            // DuckDB results describe themselves when they run; session commands
            // (SHOW) are described here.
            if let (StatementKind::Session(_), Some(fields)) = (&stmt.kind, &stmt.fields) {
                wire::row_description(&mut self.out, fields, &|_| false);
            }
            self.run_portal(&mut portal, 0).map_err(|e| match e {
                SessionError::Pg(p) => SessionError::Pg(shift_position(p, sql, piece.offset)),
                other => other,
            })?;
        }
        if wrap && self.implicit_open {
            self.commit_implicit()?;
        }
        Ok(())
    }

    /// Applies the SQL policy (`floe_sql::policy`) to one statement's text: a
    /// text the router's analysis describes (it applied the policy to exactly
    /// this text) is not analysed again; any other, and every text on a
    /// connection without the router, is, so a worker reached without the
    /// router is just as closed.
    pub(super) fn check_policy(&mut self, text: &str) -> SResult<()> {
        if let Some(a) = self.analysed.take().filter(|a| a.describes_text(text)) {
            self.reads_router_state = matches!(a, Control::Analysed { live: true, .. });
            return Ok(());
        }
        let ctx = PolicyContext::for_database(&self.database);
        floe_sql::policy::analyze(text, &ctx)
            .map_err(|r| SessionError::Pg(PgError::new(Refusal::code_of(r.sqlstate), r.message)))?;
        Ok(())
    }

    /// Parses every statement of a multi-statement query before running any, so a
    /// syntax error anywhere runs nothing (as in Postgres).
    pub(super) fn check_syntax(&mut self, sql: &str, pieces: &[Piece<'_>]) -> SResult<()> {
        for p in pieces {
            if crate::session::command_text::session_command(&p.tokens).is_some() {
                continue;
            }
            self.close_all_streams();
            if let Err(e) = self.conn.check_syntax(p.text) {
                return Err(shift_position(
                    PgError::from_duckdb(&e.message, Some(p.text)),
                    sql,
                    p.offset,
                )
                .into());
            }
        }
        Ok(())
    }

    // ---- extended query --------------------------------------------------------
}
