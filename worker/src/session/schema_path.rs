//! The session's schema path as `current_schema` and `current_schemas` answer
//! it: the schemas of `search_path` that exist, in order. The router turns
//! those functions into session macros; this keeps the macros in step with
//! `SET search_path` and with schemas created or dropped since.

use std::sync::Arc;

use floe_catalog::Listing;

use super::{SResult, Session};
use crate::compat::macros;
use crate::compat::reg_names::RegNames;
use crate::lake::names::{search_path, NameContext};
use crate::pg_error::{FromDuckdb, PgError};
use floe_sql::tokens::{Tok, Token};

/// Schemas every database has, whatever the lake holds.
const BUILT_IN_SCHEMAS: &[&str] = &["public", "pg_catalog", "information_schema"];

/// Whether a statement calls the schema-path macros.
pub(super) fn mentions_schema_path(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| {
        matches!(&t.tok, Tok::Word(w)
            if w.eq_ignore_ascii_case("floe_current_schema")
                || w.eq_ignore_ascii_case("floe_current_schemas"))
    })
}

impl Session {
    /// How this session's statements name lake relations.
    pub(super) fn name_context(&self) -> NameContext<'_> {
        NameContext {
            search_path: self.params.get("search_path").unwrap_or("public"),
            user: &self.user,
            database: &self.database,
            txn: self.lake_txn.as_ref(),
            temp: &self.temp_relations,
        }
    }

    /// Reads the session's TEMP relations again when a statement may have
    /// changed them (engine DDL, ROLLBACK, DISCARD).
    pub(super) fn refresh_temp_relations(&mut self) -> SResult<()> {
        if self.temp_relations_stale {
            self.temp_relations = self
                .temporary_relations()?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            self.temp_relations_stale = false;
        }
        Ok(())
    }

    /// The TEMP tables and views the client made (name, whether a view).
    pub(super) fn temporary_relations(&mut self) -> SResult<Vec<(String, bool)>> {
        self.close_all_streams();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT table_name, false FROM duckdb_tables() WHERE temporary \
                 UNION ALL SELECT view_name, true FROM duckdb_views() WHERE temporary AND NOT internal",
            )
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut result = stmt
            .execute(false)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut out = Vec::new();
        while let Some(chunk) = result
            .fetch()
            .map_err(|e| PgError::from_duckdb(&e.message, None))?
        {
            let (names, views) = (chunk.vector(0), chunk.vector(1));
            for row in 0..chunk.len() {
                if names.is_valid(row) {
                    // SAFETY: column 0 is VARCHAR, column 1 BOOLEAN, and `row`
                    // is within the chunk.
                    let name =
                        String::from_utf8_lossy(unsafe { names.get_bytes(row) }).into_owned();
                    let is_view = views.is_valid(row) && unsafe { views.get::<bool>(row) };
                    out.push((name, is_view));
                }
            }
        }
        Ok(out)
    }

    /// Rolls back the engine's transaction. Macros defined inside it are gone
    /// with it, so the schema-path macros are defined again when next needed.
    pub(super) fn rollback_engine(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
        self.schema_path = None;
        // TEMP tables the transaction made are gone with it.
        self.temp_relations_stale = true;
        // The engine dropped what the transaction created, cursors' rows too.
        self.cursors_at_rollback();
    }

    /// The schemas of the search path that exist, in order, and the lake's
    /// listing they were checked against.
    fn existing_schema_path(&self) -> SResult<(Vec<String>, Option<Arc<Listing>>)> {
        let names = self.name_context();
        let wanted = search_path(&names);
        let listing = match &self.lake {
            Some(lake) => Some(lake.listing(self.lake_txn.as_ref(), &self.runtime)?),
            None => None,
        };
        let path: Vec<String> = wanted
            .into_iter()
            .filter(|s| {
                BUILT_IN_SCHEMAS.contains(&s.as_str())
                    || listing.as_ref().is_some_and(|l| l.schema(s).is_some())
            })
            .collect();
        Ok((path, listing))
    }

    /// Names for printing OID-alias values (`regclass`…) as this session sees them.
    pub(super) fn reg_names(&self) -> SResult<Arc<RegNames>> {
        let (path, listing) = self.existing_schema_path()?;
        Ok(Arc::new(RegNames::new(listing.as_deref(), &path)))
    }

    /// Defines the schema-path macros again when the path they answer changed.
    pub(super) fn sync_schema_path(&mut self) -> SResult<()> {
        let (path, _) = self.existing_schema_path()?;
        if self.schema_path.as_ref() == Some(&path) {
            return Ok(());
        }
        for sql in macros::schema_path_setup(&path) {
            self.conn
                .execute_batch(&sql)
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        // Prepared statements bound the old answers.
        self.statement_cache.clear();
        self.schema_path = Some(path);
        Ok(())
    }
}
