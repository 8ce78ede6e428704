//! A session moving to another worker between statements (the router asks
//! with `Export` and hands the answer to a new session with `Import`). Only a
//! session holding nothing the worker alone has may move: no transaction,
//! portal, cursor, TEMP relation or statement SQL's PREPARE left in the engine.
//! What moves is what the session set: parameters, prepared statements
//! (prepared again on the new worker, and refused there if their parameter or
//! result types came out different from what the client was told), and
//! sequences' `currval`/`lastval`.

use floe_protocol::moved_session::{MovedParam, MovedSession, MovedStatement};

use super::*;

impl Session {
    /// The session's state for another worker, or why the session stays, as
    /// the encoded answer to `Export`.
    pub(super) fn export_state(&mut self) -> BytesMut {
        if let Some(reason) = self.why_it_stays() {
            return Control::Stays(reason.to_string()).encode();
        }
        let params = self
            .params
            .changed()
            .into_iter()
            .map(|(name, value, source)| MovedParam {
                name: name.to_string(),
                value,
                source: source.to_string(),
            })
            .collect();
        let statements = self
            .statements
            .iter()
            .map(|(name, stmt)| MovedStatement {
                name: name.clone(),
                sql: stmt.sql.clone(),
                param_types: stmt.client_types.clone(),
                shape: shape(stmt),
            })
            .collect();
        let (sequences, last_value) =
            crate::functions::sequences::session_values(self.conn.connection_id());
        let state = MovedSession {
            params,
            statements,
            sequences,
            last_value,
        };
        let too_many = state.statements.len().max(state.sequences.len())
            > floe_protocol::moved_session::MAX_MOVED_ITEMS;
        let answer = Control::SessionState(Box::new(state)).encode();
        if too_many || answer.len() > floe_protocol::control::MAX_CONTROL {
            return Control::Stays("its prepared statements are too many to move".into()).encode();
        }
        answer
    }

    fn why_it_stays(&mut self) -> Option<&'static str> {
        if self.txn != TxnState::Idle || self.implicit_open || self.lake_txn.is_some() {
            return Some("a transaction is open");
        }
        if !self.portals.is_empty() {
            return Some("a portal is open");
        }
        if self.cursors.any_open() {
            return Some("a cursor is open");
        }
        if self.engine_prepared {
            return Some("a statement prepared with PREPARE lives in the engine");
        }
        // The list name resolution keeps (read again after any engine DDL).
        if self.refresh_temp_relations().is_err() {
            return Some("its TEMP relations could not be listed");
        }
        if !self.temp_relations.is_empty() {
            return Some("it has TEMP relations");
        }
        None
    }

    /// Takes the state a session on another worker exported. The session was
    /// just begun for the same client, so only what that session changed is
    /// applied; its statements were checked by the policy when first prepared.
    pub(super) fn import_state(&mut self, state: &MovedSession) -> SResult<()> {
        if self.txn != TxnState::Idle || !self.statements.is_empty() {
            return Err(PgError::new(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "only a session just begun takes another session's state",
            )
            .into());
        }
        for p in &state.params {
            self.params.restore(&p.name, &p.value, &p.source)?;
        }
        crate::functions::sequences::restore_session_values(
            self.conn.connection_id(),
            &state.sequences,
            state.last_value,
        );
        for moved in &state.statements {
            let tokens = floe_sql::tokens::tokenize(&moved.sql);
            let stmt = if tokens.iter().all(|t| t.tok == Tok::Punct(';')) {
                Statement::without_rows(&moved.sql, StatementKind::Empty, &moved.param_types)
            } else {
                self.prepare_statement(&moved.sql, &tokens, &moved.param_types)?
            };
            if shape(&stmt) != moved.shape {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cached plan must not change result type",
                )
                .into());
            }
            self.statements.insert(moved.name.clone(), stmt);
        }
        Ok(())
    }
}

/// A digest of what a client was told of a statement: its parameter types
/// and result columns.
fn shape(stmt: &Statement) -> u64 {
    floe_protocol::control::text_digest(&format!("{:?}|{:?}", stmt.param_types, stmt.fields))
}
