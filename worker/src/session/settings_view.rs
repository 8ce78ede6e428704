//! The session's parameters as the engine sees them: before a statement reads
//! `pg_settings` or calls `current_setting(x)` with a name that is no literal,
//! the session publishes its values as the macro `floe_session_settings()`
//! (name, value as SHOW writes it, value in the parameter's base unit, where
//! the value came from, the value RESET returns to), which
//! both read beside PostgreSQL's defaults. Costly session macros are created
//! when a statement first calls them. The session's `TimeZone` reaches
//! the engine's native zone functions (`zone_functions`) the same way.

use floe_catalog::pg_schema::types::quote_literal as literal;
use floe_catalog::pg_schema::virtual_schema::SESSION_SETTINGS;

use super::{Session, TxnState};
use crate::compat::macros;
use crate::compat::settings::in_base_unit;
use crate::functions::zone;
use crate::pg_error::{FromDuckdb, PgError};

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
            .filter(|(name, _, _)| !matches!(*name, "floe.lake_scan" | "floe.last_cache"))
            .map(|(name, value, _)| {
                let reset = self.params.reset_value(name).unwrap_or(&value);
                format!(
                    "({}, {}, {}, {}, {})",
                    literal(name),
                    literal(&value),
                    literal(&in_base_unit(name, &value)),
                    literal(self.params.source(name)),
                    literal(&in_base_unit(name, reset))
                )
            })
            .collect();
        self.statement_cache
            .retain(|(sql, _), _| !reads_settings(sql));
        let sql = format!(
            "CREATE OR REPLACE TEMP MACRO {SESSION_SETTINGS} AS TABLE \
             SELECT * FROM (VALUES {}) AS s(name, shown, setting, source, reset_val)",
            rows.join(", ")
        );
        if let Err(e) = self.conn.execute_batch(&sql) {
            tracing::debug!(error = %e.message, "publishing the session's settings failed");
        }
    }

    /// Creates the on-demand macros `sql` calls that this session has not
    /// created yet (`macros::ON_DEMAND_MACROS`).
    pub(super) fn create_macros_used_by(&mut self, sql: &str) -> Result<(), PgError> {
        for (i, (marker, statements)) in macros::ON_DEMAND_MACROS.iter().enumerate() {
            if self.on_demand_created[i] || !sql.contains(marker) {
                continue;
            }
            for statement in statements.iter() {
                self.conn
                    .execute_batch(statement)
                    .map_err(|e| PgError::from_duckdb(&e.message, None))?;
            }
            self.on_demand_created[i] = self.txn == TxnState::Idle;
        }
        Ok(())
    }

    /// Tells the native zone functions this session's `TimeZone` when it
    /// changed; statements prepared under the old one are prepared again.
    pub(super) fn sync_zone(&mut self) {
        let zone = self.params.get("TimeZone").unwrap_or("UTC");
        if self.zone_registered.as_deref() == Some(zone) {
            return;
        }
        zone::set_session_zone(self.conn.connection_id(), self.params.output_settings().tz);
        if self.zone_registered.is_some() {
            self.statement_cache.clear();
        }
        self.zone_registered = Some(zone.to_string());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.zone_registered.is_some() {
            zone::forget_session(self.conn.connection_id());
        }
        if self.lake.is_some() {
            crate::functions::sequences::forget_session(self.conn.connection_id());
        }
    }
}
