//! Transaction state: the implicit transaction around each statement, the
//! explicit one BEGIN opens, and the staged lake transaction published at COMMIT or
//! discarded at ROLLBACK.

use super::*;

impl Session {
    pub(super) fn begin_implicit(&mut self) -> SResult<()> {
        self.close_all_streams();
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        self.implicit_open = true;
        Ok(())
    }

    pub(super) fn commit_implicit(&mut self) -> SResult<()> {
        self.implicit_open = false;
        self.close_all_streams();
        if let Err(e) = self.publish_lake_txn() {
            self.rollback_engine();
            return Err(e);
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        self.cursors_at_commit();
        Ok(())
    }

    /// Whether a lake write now joins a transaction (a block, or the implicit
    /// one of a multi-statement query) instead of committing at once.
    pub(super) fn in_transaction(&self) -> bool {
        self.txn != TxnState::Idle || self.implicit_open
    }

    /// Publishes the transaction's lake changes, all or none; called before the
    /// engine's own COMMIT, which is rolled back when this fails.
    pub(super) fn publish_lake_txn(&mut self) -> SResult<()> {
        let (Some(txn), Some(lake)) = (self.lake_txn.take(), self.lake.clone()) else {
            return Ok(());
        };
        let published = self.runtime.block_on(txn.commit(lake.lakehouse()));
        lake.forget_virtual_schema();
        self.statement_cache.clear();
        published.map_err(|e| PgError::new(e.sqlstate(), e.to_string()).into())
    }

    /// Forgets the transaction's lake changes (ROLLBACK, an aborted implicit
    /// transaction, the end of the session).
    pub(super) fn discard_lake_txn(&mut self) {
        let (Some(txn), Some(lake)) = (self.lake_txn.take(), self.lake.clone()) else {
            return;
        };
        self.runtime.block_on(txn.rollback(lake.lakehouse()));
        lake.forget_virtual_schema();
        self.statement_cache.clear();
    }

    /// The lakehouse, for a lake write.
    pub(super) fn lake_for_write(&self) -> SResult<Arc<LakeReader>> {
        let Some(lake) = self.lake.clone() else {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this worker has no lakehouse",
            )
            .into());
        };
        Ok(lake)
    }

    /// Ends the explicit transaction by rolling back (ROLLBACK, or COMMIT of a failed
    /// transaction), restoring the parameters it changed.
    pub(super) fn rollback_transaction(&mut self) {
        self.end_savepoints();
        self.portals.retain(|n, _| n.is_empty());
        self.close_all_streams();
        self.rollback_engine();
        self.discard_lake_txn();
        self.txn = TxnState::Idle;
        self.implicit_open = false;
        let before = self.params.clone();
        if let Some(p) = self.params_at_begin.take() {
            self.params = p;
        }
        self.params_after_commit = None;
        self.announce_changes(&before);
    }
}
