//! Tables Floe creates and drops: `CREATE TABLE` becomes an Iceberg table (format
//! v2) in the catalog, with the schema and partition spec the statement declared;
//! `DROP TABLE` removes it from the catalog (and a Parquet registration of that
//! name likewise). Data files stay where they are: other engines' snapshots and
//! time travel may still reference them.

use iceberg::spec::{Schema, UnboundPartitionSpec};
use iceberg::table::Table;
use iceberg::{NamespaceIdent, TableCreation, TableIdent};

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;

impl Lakehouse {
    /// Creates `ident`; `None` if it exists and `if_not_exists` was given.
    pub async fn create_table(
        &self,
        ident: &TableIdent,
        schema: Schema,
        partition: Option<UnboundPartitionSpec>,
        if_not_exists: bool,
    ) -> Result<Option<Table>> {
        let listing = self.listing_fresh().await?;
        if listing.has_relation(ident.namespace(), ident.name())
            || self.catalog().table_exists(ident).await?
        {
            return if if_not_exists {
                Ok(None)
            } else {
                Err(CatalogError::Exists(ident.name().to_string()))
            };
        }
        let creation = TableCreation::builder()
            .name(ident.name().to_string())
            .schema(schema)
            .partition_spec_opt(partition)
            .properties([(
                "write.parquet.compression-codec".to_string(),
                "zstd".to_string(),
            )])
            .build();
        let table = self
            .catalog()
            .create_table(ident.namespace(), creation)
            .await?;
        self.forget_listing();
        Ok(Some(table))
    }

    /// Drops the Iceberg table `ident` from the catalog.
    pub async fn drop_table(&self, ident: &TableIdent) -> Result<()> {
        self.catalog().drop_table(ident).await?;
        self.forget_table(ident);
        self.forget_listing();
        Ok(())
    }

    /// Whether `namespace` exists in the catalog.
    pub async fn schema_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        Ok(self.catalog().namespace_exists(namespace).await?)
    }
}
