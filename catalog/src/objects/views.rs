//! Views in the lake catalog, stored as Iceberg views: a view metadata file with
//! the defining query as a SQL representation (dialect `floe`, the Postgres SQL
//! Floe accepts), its output columns as an Iceberg schema and the schema that
//! unqualified names resolve in as the default namespace; the SQL catalog keeps
//! a row of type `VIEW` pointing at it, as Iceberg's JDBC catalog does. Every
//! worker and session expands the view from there. Changes go through a
//! [`crate::LakeTxn`] (a one-statement one outside a transaction block). The REST
//! catalog's view API is not used yet: CREATE VIEW there is refused.

use std::collections::HashMap;

use iceberg::spec::{Schema, ViewMetadata, ViewMetadataBuilder, ViewVersion};
use iceberg::{NamespaceIdent, TableIdent, ViewCreation};

use crate::error::{display, CatalogError, Result};
use crate::lakehouse::{CatalogKind, Lakehouse};
use crate::objects::lake_view::{representations, LakeView};

impl Lakehouse {
    fn view_location(&self, ident: &TableIdent) -> String {
        format!(
            "{}/{}/{}",
            self.config().warehouse.trim_end_matches('/'),
            ident.namespace().join("/"),
            ident.name()
        )
    }

    /// Writes the metadata file of a new view, or of a new version of `previous`
    /// (CREATE OR REPLACE); returns the view. The catalog is not told.
    pub async fn stage_view(
        &self,
        ident: &TableIdent,
        sql: &str,
        schema: Schema,
        default_namespace: &NamespaceIdent,
        previous: Option<&LakeView>,
    ) -> Result<LakeView> {
        let metadata = match previous {
            None => {
                let creation = ViewCreation::builder()
                    .name(ident.name().to_string())
                    .location(self.view_location(ident))
                    .representations(representations(sql)?)
                    .schema(schema)
                    .default_namespace(default_namespace.clone())
                    .summary(HashMap::from([(
                        "engine-name".to_string(),
                        "floe".to_string(),
                    )]))
                    .build();
                ViewMetadataBuilder::from_view_creation(creation)?
                    .build()?
                    .metadata
            }
            Some(previous) => {
                let old = self.read_view_metadata(&previous.metadata_location).await?;
                let version = ViewVersion::builder()
                    .with_schema_id(-1)
                    .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
                    .with_representations(representations(sql)?)
                    .with_default_namespace(default_namespace.clone())
                    .with_summary(HashMap::from([(
                        "engine-name".to_string(),
                        "floe".to_string(),
                    )]))
                    .build();
                ViewMetadataBuilder::new_from_metadata(old)
                    .set_current_version(version, schema)?
                    .build()?
                    .metadata
            }
        };
        self.write_view_metadata(ident, metadata).await
    }

    /// Writes `metadata` as the next metadata file of view `ident`.
    pub(crate) async fn write_view_metadata(
        &self,
        ident: &TableIdent,
        metadata: ViewMetadata,
    ) -> Result<LakeView> {
        let location = format!(
            "{}/metadata/{}.metadata.json",
            metadata.location().trim_end_matches('/'),
            uuid::Uuid::new_v4()
        );
        let bytes = serde_json::to_vec(&metadata)
            .map_err(|e| CatalogError::Commit(format!("view metadata: {e}")))?;
        self.file_io()
            .new_output(&location)?
            .write(bytes.into())
            .await?;
        LakeView::from_metadata(ident.clone(), &metadata, location)
    }

    async fn read_view_metadata(&self, location: &str) -> Result<ViewMetadata> {
        let bytes = self.file_io().new_input(location)?.read().await?;
        serde_json::from_slice(&bytes).map_err(|e| CatalogError::Storage {
            path: location.to_string(),
            message: format!("not Iceberg view metadata: {e}"),
        })
    }

    /// A copy of `view` with the table property `comment` set (or removed).
    pub async fn stage_view_comment(
        &self,
        view: &LakeView,
        comment: Option<&str>,
    ) -> Result<LakeView> {
        let old = self.read_view_metadata(&view.metadata_location).await?;
        let builder = ViewMetadataBuilder::new_from_metadata(old);
        let builder = match comment {
            Some(c) => {
                builder.set_properties(HashMap::from([("comment".to_string(), c.to_string())]))?
            }
            None => builder.remove_properties(&["comment".to_string()]),
        };
        self.write_view_metadata(&view.ident, builder.build()?.metadata)
            .await
    }

    /// A copy of `view` whose column `column` has the doc `comment`: a new view
    /// version with the same query and the changed schema.
    pub async fn stage_view_column_comment(
        &self,
        view: &LakeView,
        column: &str,
        comment: Option<&str>,
    ) -> Result<LakeView> {
        let fields =
            crate::objects::tables::with_doc(&view.schema, column, comment).ok_or_else(|| {
                CatalogError::NoSuchColumn(column.to_string(), view.ident.name().to_string())
            })?;
        let schema = Schema::builder()
            .with_fields(fields.into_iter().map(Into::into))
            .build()?;
        self.stage_view(
            &view.ident,
            &view.sql,
            schema,
            &view.default_namespace,
            Some(view),
        )
        .await
    }

    pub(crate) fn sql_uri(&self) -> Result<&str> {
        match &self.config().kind {
            CatalogKind::Sql { uri } => Ok(uri),
            CatalogKind::Rest { .. } => {
                Err(CatalogError::Unsupported("views in a REST catalog".into()))
            }
        }
    }

    /// Every view's (namespace, name) in the SQL catalog; none for REST.
    pub(crate) async fn list_views(&self) -> Result<Vec<(String, String)>> {
        let Ok(uri) = self.sql_uri() else {
            return Ok(Vec::new());
        };
        let pool = self.sql_pool(uri).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_namespace, table_name FROM iceberg_tables
             WHERE catalog_name = ? AND iceberg_type = 'VIEW'",
        )
        .bind(&self.config().name)
        .fetch_all(&pool)
        .await
        .map_err(|e| CatalogError::Commit(e.to_string()))?;
        Ok(rows)
    }

    /// The view `ident` as the catalog has it now.
    pub async fn view(&self, ident: &TableIdent) -> Result<LakeView> {
        let uri = self.sql_uri()?;
        let pool = self.sql_pool(uri).await?;
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT metadata_location FROM iceberg_tables
             WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?
               AND iceberg_type = 'VIEW'",
        )
        .bind(&self.config().name)
        .bind(ident.namespace().join("."))
        .bind(ident.name())
        .fetch_optional(&pool)
        .await
        .map_err(|e| CatalogError::Commit(e.to_string()))?;
        let Some((location,)) = row else {
            return Err(CatalogError::NoSuchTable(display(ident)));
        };
        if let Some(v) = self.view_cache().get(&location) {
            if &v.ident == ident {
                return Ok(v);
            }
        }
        let metadata = self.read_view_metadata(&location).await?;
        let view = LakeView::from_metadata(ident.clone(), &metadata, location.clone())?;
        self.view_cache().insert(location, view.clone());
        Ok(view)
    }
}
