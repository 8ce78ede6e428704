//! Schemas as Iceberg namespaces: `CREATE SCHEMA` and `DROP SCHEMA` change the
//! catalog, so every worker and every other engine sees the same schemas.
//! Postgres' rules apply: `pg_` names are reserved, a schema with tables is
//! dropped only with CASCADE (which drops its tables from the catalog and its
//! Parquet registrations with it).

use std::collections::HashMap;

use iceberg::NamespaceIdent;

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;

/// Schemas that belong to the engine or to Postgres itself, never to the lake.
const BUILT_IN: &[&str] = &["information_schema", "main", "temp"];

/// The schema every database starts with. It is a lake namespace like any
/// other, so a table created in it is seen by every worker and outlives them.
pub const PUBLIC_SCHEMA: &str = "public";

impl Lakehouse {
    /// Makes sure the `public` namespace exists, as `initdb` makes sure a new
    /// database has the `public` schema. Several workers may start at once:
    /// losing the race to another is success.
    pub async fn ensure_public_schema(&self) -> Result<()> {
        let ident = schema_ident(PUBLIC_SCHEMA)?;
        if self.catalog().namespace_exists(&ident).await? {
            return Ok(());
        }
        let created = self
            .catalog()
            .create_namespace(&ident, HashMap::new())
            .await;
        self.changed_listing();
        match created {
            Ok(_) => Ok(()),
            Err(_) if self.catalog().namespace_exists(&ident).await? => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the namespace `name` (dots separate nested levels).
    pub async fn create_schema(&self, name: &str, if_not_exists: bool) -> Result<()> {
        let ident = schema_ident(name)?;
        if BUILT_IN.contains(&name) || self.catalog().namespace_exists(&ident).await? {
            return if if_not_exists {
                Ok(())
            } else {
                Err(CatalogError::SchemaExists(name.to_string()))
            };
        }
        self.catalog()
            .create_namespace(&ident, HashMap::new())
            .await?;
        self.changed_listing();
        Ok(())
    }

    /// Drops the namespace `name`; with `cascade`, its tables first.
    pub async fn drop_schema(&self, name: &str, if_exists: bool, cascade: bool) -> Result<()> {
        if BUILT_IN.contains(&name) {
            return Err(CatalogError::Unsupported(format!(
                "dropping the built-in schema {name}"
            )));
        }
        let ident = schema_ident(name)?;
        if !self.catalog().namespace_exists(&ident).await? {
            return if if_exists {
                Ok(())
            } else {
                Err(CatalogError::NoSuchSchema(name.to_string()))
            };
        }
        let tables = self.catalog().list_tables(&ident).await?;
        let children = self.catalog().list_namespaces(Some(&ident)).await?;
        let listing = self.listing_fresh().await?;
        let registrations = listing.schema(name).map_or(0, |s| s.parquet.len());
        let has_dependents = !tables.is_empty() || !children.is_empty() || registrations > 0;
        if has_dependents && !cascade {
            return Err(CatalogError::SchemaNotEmpty(name.to_string()));
        }
        for child in children {
            Box::pin(self.drop_schema(&child.join("."), true, true)).await?;
        }
        for table in tables {
            self.drop_table(&table).await?;
        }
        self.catalog().drop_namespace(&ident).await?;
        self.changed_listing();
        Ok(())
    }
}

fn schema_ident(name: &str) -> Result<NamespaceIdent> {
    if name.starts_with("pg_") || name.is_empty() {
        return Err(CatalogError::ReservedSchema(name.to_string()));
    }
    NamespaceIdent::from_strs(name.split('.')).map_err(CatalogError::from)
}
