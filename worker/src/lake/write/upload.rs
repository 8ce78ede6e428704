//! The upload guard: files put into a table's data location for a statement
//! are deleted again unless the commit keeps them.

use super::*;

/// Files uploaded for one commit: removed again unless the commit lands.
pub(super) struct Uploads<'a> {
    pub(super) lake: &'a floe_catalog::Lakehouse,
    pub(super) runtime: &'a tokio::runtime::Handle,
    pub(super) locations: Vec<String>,
}

impl<'a> Uploads<'a> {
    pub(super) fn new(
        lake: &'a floe_catalog::Lakehouse,
        runtime: &'a tokio::runtime::Handle,
    ) -> Self {
        Uploads {
            lake,
            runtime,
            locations: Vec::new(),
        }
    }

    /// Uploads `path` under the table's data directory; returns its location.
    pub(super) fn upload(
        &mut self,
        table: &Table,
        path: &Path,
        suffix: &str,
    ) -> Result<String, PgError> {
        let location = format!(
            "{}/data/{}{suffix}.parquet",
            table.metadata().location().trim_end_matches('/'),
            uuid::Uuid::new_v4()
        );
        self.runtime
            .block_on(self.lake.storage().upload(path, &location))
            .map_err(catalog_error)?;
        self.locations.push(location.clone());
        Ok(location)
    }

    /// The commit landed: the files are the table's now.
    /// The uploads stay; returns their locations.
    pub(super) fn keep(&mut self) -> Vec<String> {
        std::mem::take(&mut self.locations)
    }
}

impl Drop for Uploads<'_> {
    fn drop(&mut self) {
        for location in &self.locations {
            let _ = self
                .runtime
                .block_on(self.lake.storage().remove_object(location));
        }
    }
}

/// The hex SHA-256 of a data file's location, as DuckDB's `sha256()` gives it.
pub(super) fn location_digest(location: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(location.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
