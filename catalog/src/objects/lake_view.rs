//! A lake view as a statement expands it, read from its Iceberg view metadata:
//! the defining query (a SQL representation in Floe's dialect), its output
//! columns and the namespace unqualified names resolve in.

use std::sync::Arc;

use iceberg::spec::{Schema, ViewMetadata, ViewRepresentations};
use iceberg::{NamespaceIdent, TableIdent};

use crate::error::{display, CatalogError, Result};

/// The dialect of the SQL representation Floe writes and reads.
pub const VIEW_DIALECT: &str = "floe";

/// A view as a statement expands it.
#[derive(Debug, Clone)]
pub struct LakeView {
    pub ident: TableIdent,
    /// The defining query, as written.
    pub sql: String,
    /// The output columns.
    pub schema: Arc<Schema>,
    /// Where unqualified names in `sql` resolve.
    pub default_namespace: NamespaceIdent,
    pub comment: Option<String>,
    /// The view's metadata file.
    pub metadata_location: String,
}

impl LakeView {
    pub(crate) fn from_metadata(
        ident: TableIdent,
        metadata: &ViewMetadata,
        location: String,
    ) -> Result<Self> {
        let version = metadata.current_version();
        let sql = version
            .representations()
            .iter()
            .map(|r| match r {
                iceberg::spec::ViewRepresentation::Sql(s) => s,
            })
            .find(|s| s.dialect == VIEW_DIALECT)
            .map(|s| s.sql.clone())
            .ok_or_else(|| {
                CatalogError::Unsupported(format!(
                    "view {} without a {VIEW_DIALECT} SQL representation",
                    display(&ident)
                ))
            })?;
        Ok(LakeView {
            sql,
            schema: metadata.current_schema().clone(),
            default_namespace: version.default_namespace().clone(),
            comment: metadata.properties().get("comment").cloned(),
            metadata_location: location,
            ident,
        })
    }
}

/// The representations list of one SQL text.
pub(crate) fn representations(sql: &str) -> Result<ViewRepresentations> {
    serde_json::from_value(serde_json::json!([
        { "type": "sql", "sql": sql, "dialect": VIEW_DIALECT }
    ]))
    .map_err(|e| CatalogError::Commit(format!("view representation: {e}")))
}
