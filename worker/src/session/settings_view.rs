//! The session's parameters as the engine sees them: before a statement reads
//! `pg_settings` or calls `current_setting(x)` with a name that is no literal,
//! the session publishes its values as the macro `floe_session_settings()`
//! (name, value as SHOW writes it, value in the parameter's base unit), which
//! both read beside PostgreSQL's defaults.

use floe_catalog::types::quote_literal as literal;
use floe_catalog::virtual_schema::SESSION_SETTINGS;

use super::Session;
use crate::settings::in_base_unit;

/// Whether `sql` (as the engine will run it) reads the session's parameters.
pub(super) fn reads_settings(sql: &str) -> bool {
    sql.contains(SESSION_SETTINGS) || sql.contains("floe_setting_of(")
}

impl Session {
    /// Publishes the session's parameters (see the module comment). Always
    /// re-created, never cached: a transaction's rollback would undo an
    /// earlier publication without the session noticing.
    pub(super) fn publish_settings(&mut self) {
        let rows: Vec<String> = self
            .params
            .all()
            .into_iter()
            // The statement's own lake scans are the engine's business.
            .filter(|(name, _, _)| *name != "floe.lake_scan")
            .map(|(name, value, _)| {
                format!(
                    "({}, {}, {})",
                    literal(name),
                    literal(&value),
                    literal(&in_base_unit(name, &value))
                )
            })
            .collect();
        self.statement_cache
            .retain(|(sql, _), _| !reads_settings(sql));
        let sql = format!(
            "CREATE OR REPLACE TEMP MACRO {SESSION_SETTINGS} AS TABLE \
             SELECT * FROM (VALUES {}) AS s(name, shown, setting)",
            rows.join(", ")
        );
        if let Err(e) = self.conn.execute_batch(&sql) {
            tracing::debug!(error = %e.message, "publishing the session's settings failed");
        }
    }
}
