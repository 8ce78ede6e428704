//! Savepoints: `SAVEPOINT`, `RELEASE [SAVEPOINT]` and `ROLLBACK TO [SAVEPOINT]`
//! inside a transaction block, as Postgres runs them. The engine has no
//! savepoints of its own, so a savepoint keeps what the session can restore:
//! the lake changes staged so far (the transaction's `LakeTxn`, copied) and the
//! session parameters. ROLLBACK TO puts both back, removes files staged after
//! it and clears a failed state, so ODBC drivers and ORMs that wrap statements
//! in savepoints work. Changes to engine-local (non-lake) tables cannot be
//! undone part-way: a ROLLBACK TO that would have to is refused (0A000) and the
//! transaction stays as it was.

use floe_catalog::LakeTxn;

use super::{SResult, Session, TxnState};
use crate::compat::settings::SessionParams;
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use crate::wire;

/// One savepoint of the open transaction.
pub(super) struct Savepoint {
    name: String,
    lake: Option<LakeTxn>,
    params: SessionParams,
    params_after_commit: Option<SessionParams>,
    /// Engine-local writes the transaction had made when it was set.
    local_writes: u64,
}

/// Postgres's error for a savepoint statement outside a transaction block.
fn outside_block(what: &str) -> PgError {
    PgError::new(
        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
        format!("{what} can only be used in transaction blocks"),
    )
}

fn no_such(name: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_SAVEPOINT_SPECIFICATION,
        format!("savepoint \"{name}\" does not exist"),
    )
}

impl Session {
    pub(super) fn savepoint(&mut self, name: &str) -> SResult<()> {
        if self.txn == TxnState::Idle {
            return Err(outside_block("SAVEPOINT").into());
        }
        self.savepoints.push(Savepoint {
            name: name.to_string(),
            lake: self.lake_txn.clone(),
            params: self.params.clone(),
            params_after_commit: self.params_after_commit.clone(),
            local_writes: self.local_writes,
        });
        wire::command_complete(&mut self.out, "SAVEPOINT");
        Ok(())
    }

    /// The newest savepoint called `name` (Postgres finds the innermost).
    fn find_savepoint(&self, name: &str) -> Option<usize> {
        self.savepoints.iter().rposition(|s| s.name == name)
    }

    pub(super) fn release_savepoint(&mut self, name: &str) -> SResult<()> {
        if self.txn == TxnState::Idle {
            return Err(outside_block("RELEASE SAVEPOINT").into());
        }
        let at = self.find_savepoint(name).ok_or_else(|| no_such(name))?;
        // Releasing one releases every savepoint set after it; their changes
        // become part of the enclosing one.
        self.savepoints.truncate(at);
        wire::command_complete(&mut self.out, "RELEASE");
        Ok(())
    }

    pub(super) fn rollback_to_savepoint(&mut self, name: &str) -> SResult<()> {
        if self.txn == TxnState::Idle {
            return Err(outside_block("ROLLBACK TO SAVEPOINT").into());
        }
        let at = self.find_savepoint(name).ok_or_else(|| no_such(name))?;
        let mark = self.savepoints[at].local_writes;
        let cannot = || {
            PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "ROLLBACK TO SAVEPOINT cannot undo changes to session (non-lake) tables; \
                 roll back the whole transaction",
            )
        };
        if self.local_writes > mark {
            return Err(cannot().into());
        }
        // An engine error may have ended the engine's transaction; with no
        // engine-local writes in it, a fresh one is the same transaction.
        self.close_all_streams();
        if self.conn.execute_batch("SELECT 1").is_err() {
            if self.local_writes > 0 {
                return Err(cannot().into());
            }
            self.rollback_engine();
            self.conn
                .execute_batch("BEGIN TRANSACTION")
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        self.savepoints.truncate(at + 1);
        self.cursors_at_rollback_to(at);
        let saved = &self.savepoints[at];
        let restored = saved.lake.clone();
        let params = saved.params.clone();
        let params_after_commit = saved.params_after_commit.clone();
        self.restore_lake_txn(restored);
        let before = self.params.clone();
        self.params = params;
        self.params_after_commit = params_after_commit;
        self.announce_changes(&before);
        self.txn = TxnState::InBlock;
        wire::command_complete(&mut self.out, "ROLLBACK");
        Ok(())
    }

    /// Puts the transaction's lake changes back to `saved`, removing the files
    /// staged since.
    fn restore_lake_txn(&mut self, saved: Option<LakeTxn>) {
        let current = std::mem::replace(&mut self.lake_txn, saved);
        let (Some(current), Some(lake)) = (current, self.lake.clone()) else {
            return;
        };
        let newer = current.staged_since(self.lake_txn.as_ref());
        self.runtime.block_on(newer.rollback(lake.lakehouse()));
        lake.forget_virtual_schema();
        self.statement_cache.clear();
    }

    /// Forgets every savepoint (the transaction ended).
    pub(super) fn end_savepoints(&mut self) {
        self.savepoints.clear();
        self.local_writes = 0;
    }
}
