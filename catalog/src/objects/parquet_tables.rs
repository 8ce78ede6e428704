//! Plain Parquet registered as read-only tables: every object under a prefix, or
//! matching a glob (`*` within a path segment, `**` across segments, `?`), on
//! object storage or in the local warehouse; Hive-style `key=value` directories
//! become columns. Registrations are namespace properties (`floe.parquet.<table>`)
//! so that both catalog kinds keep them and every worker sees them; the files are
//! listed again on every catalog refresh, so new objects are read without a
//! re-registration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use iceberg::spec::Schema;
use iceberg::{NamespaceIdent, TableIdent};
use object_store::ObjectStoreExt;

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;
use crate::object_storage::location_url;
use crate::objects::parquet_source::{
    glob_matches, ParquetListing, ParquetObject, ParquetSource, PROPERTY_PREFIX,
};

impl Lakehouse {
    /// Registers `location` as the read-only table `namespace.table`.
    pub async fn register_parquet(
        &self,
        namespace: &NamespaceIdent,
        table: &str,
        source: ParquetSource,
    ) -> Result<()> {
        self.check_location(&source.location)?;
        if self.listing_fresh().await?.has_relation(namespace, table) {
            return Err(CatalogError::Exists(format!(
                "{}.{}",
                namespace.join("."),
                table
            )));
        }
        let files = self.list_parquet(&source).await?;
        if files.is_empty() {
            return Err(CatalogError::Storage {
                path: source.location.clone(),
                message: "no Parquet objects there".into(),
            });
        }
        self.ensure_namespace(namespace).await?;
        let value =
            serde_json::to_string(&source).map_err(|e| CatalogError::Commit(e.to_string()))?;
        self.set_namespace_property(namespace, &format!("{PROPERTY_PREFIX}{table}"), value)
            .await?;
        self.changed_listing();
        Ok(())
    }

    /// Removes a Parquet registration; the files are not touched.
    pub async fn unregister_parquet(&self, namespace: &NamespaceIdent, table: &str) -> Result<()> {
        let listing = self.listing_fresh().await?;
        let registered = listing
            .schema(&namespace.join("."))
            .is_some_and(|s| s.parquet.iter().any(|(n, _)| n == table));
        if !registered {
            return Err(CatalogError::NoSuchTable(format!(
                "{}.{}",
                namespace.join("."),
                table
            )));
        }
        // Catalogs update properties but not all of them remove one: an empty
        // value is no registration.
        self.set_namespace_property(
            namespace,
            &format!("{PROPERTY_PREFIX}{table}"),
            String::new(),
        )
        .await?;
        self.changed_listing();
        Ok(())
    }

    /// Registers an existing Iceberg table by its metadata file.
    pub async fn register_iceberg(
        &self,
        namespace: &NamespaceIdent,
        table: &str,
        metadata_location: &str,
    ) -> Result<()> {
        self.check_location(metadata_location)?;
        // The table's own location is where its writes go and what orphan
        // removal deletes under: it must be inside as well.
        let table_location = self.metadata_table_location(metadata_location).await?;
        self.check_location(&table_location)?;
        if self.listing_fresh().await?.has_relation(namespace, table) {
            return Err(CatalogError::Exists(format!(
                "{}.{}",
                namespace.join("."),
                table
            )));
        }
        self.ensure_namespace(namespace).await?;
        let ident = TableIdent::new(namespace.clone(), table.to_string());
        self.catalog()
            .register_table(&ident, metadata_location.to_string())
            .await?;
        self.changed_listing();
        Ok(())
    }

    /// The objects of a registered table, listed again after the refresh interval.
    pub async fn parquet_files(&self, source: &ParquetSource) -> Result<Arc<Vec<ParquetObject>>> {
        Ok(self.parquet_listing(source).await?.files.clone())
    }

    /// The table's columns, read from the footer of its first file.
    pub async fn parquet_schema(&self, source: &ParquetSource) -> Result<Option<Arc<Schema>>> {
        Ok(self.parquet_listing(source).await?.schema.clone())
    }

    async fn parquet_listing(&self, source: &ParquetSource) -> Result<Arc<ParquetListing>> {
        if let Some(hit) = self.parquet_cache().lock().get(source) {
            if hit.loaded.elapsed() < self.config().refresh {
                return Ok(hit.clone());
            }
        }
        let files = self.list_parquet(source).await?;
        let schema = match files.first() {
            Some(first) => {
                let mut arrow = self.read_parquet_schema(first).await?;
                if source.hive_partitioning {
                    arrow = with_hive_columns(arrow, &first.location);
                }
                Some(Arc::new(
                    iceberg::arrow::arrow_schema_to_schema_auto_assign_ids(&arrow)?,
                ))
            }
            None => None,
        };
        let listing = Arc::new(ParquetListing {
            files: Arc::new(files),
            schema,
            loaded: Instant::now(),
        });
        self.parquet_cache()
            .lock()
            .insert(source.clone(), listing.clone());
        Ok(listing)
    }

    async fn list_parquet(&self, source: &ParquetSource) -> Result<Vec<ParquetObject>> {
        let (prefix, pattern) = source.split();
        // A single object named exactly.
        if pattern.is_none() && prefix.ends_with(".parquet") {
            let (store, path) = self.storage().resolve(&prefix)?;
            if let Ok(meta) = store.head(&path).await {
                return Ok(vec![ParquetObject {
                    location: prefix,
                    size: meta.size,
                }]);
            }
        }
        let (store, base) = self.storage().resolve(&format!("{prefix}/"))?;
        let base_str = base.as_ref().trim_end_matches('/').to_string();
        let url = location_url(&prefix)?;
        let root = if url.scheme() == "file" {
            "file://".to_string()
        } else {
            format!("{}://{}/", url.scheme(), url.authority())
        };
        let listed: Vec<object_store::ObjectMeta> = store
            .list(Some(&base))
            .try_collect()
            .await
            .map_err(|e| CatalogError::Storage {
                path: source.location.clone(),
                message: e.to_string(),
            })?;
        let mut files: Vec<ParquetObject> = listed
            .into_iter()
            .filter_map(|m| {
                let full = m.location.as_ref().to_string();
                let relative = full
                    .strip_prefix(&base_str)
                    .unwrap_or(&full)
                    .trim_start_matches('/')
                    .to_string();
                let file_name = relative.rsplit('/').next().unwrap_or("");
                // Hidden and marker files (`_SUCCESS`, `.crc`) are not data.
                if file_name.starts_with(['_', '.']) || m.size == 0 {
                    return None;
                }
                let keep = match &pattern {
                    Some(p) => glob_matches(p, &relative),
                    None => file_name.ends_with(".parquet"),
                };
                let location = if root == "file://" {
                    format!("file:///{}", full.trim_start_matches('/'))
                } else {
                    format!("{root}{full}")
                };
                keep.then_some(ParquetObject {
                    location,
                    size: m.size,
                })
            })
            .collect();
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(files)
    }

    async fn read_parquet_schema(&self, file: &ParquetObject) -> Result<arrow_schema::Schema> {
        let storage_error = |message: String| CatalogError::Storage {
            path: file.location.clone(),
            message,
        };
        let (store, path) = self.storage().resolve(&file.location)?;
        // The footer: its length is in the last 8 bytes.
        if file.size < 12 {
            return Err(storage_error("too small to be Parquet".into()));
        }
        let tail = store
            .get_range(&path, file.size - 8..file.size)
            .await
            .map_err(|e| storage_error(e.to_string()))?;
        if &tail[4..] != b"PAR1" {
            return Err(storage_error("not a Parquet file".into()));
        }
        let footer_len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
        if footer_len + 8 > file.size {
            return Err(storage_error("corrupt Parquet footer".into()));
        }
        let footer = store
            .get_range(&path, file.size - 8 - footer_len..file.size - 8)
            .await
            .map_err(|e| storage_error(e.to_string()))?;
        let metadata = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(&footer)
            .map_err(|e| storage_error(e.to_string()))?;
        let arrow = parquet::arrow::parquet_to_arrow_schema(
            metadata.file_metadata().schema_descr(),
            metadata.file_metadata().key_value_metadata(),
        )
        .map_err(|e| storage_error(e.to_string()))?;
        Ok(arrow)
    }

    /// Refuses locations outside the warehouse and the configured
    /// `[storage] allowed_locations` prefixes: registering one would read (and,
    /// for an Iceberg table, write and delete) what clients are kept away from.
    /// Local paths are compared after resolving symlinks.
    pub fn check_location(&self, location: &str) -> Result<()> {
        let url = location_url(location)?;
        let forbidden = || {
            CatalogError::Forbidden(format!(
                "location {location} is outside the warehouse and the allowed locations"
            ))
        };
        if url.path().split('/').any(|s| s == "..") {
            return Err(forbidden());
        }
        let mut prefixes = vec![self.config().warehouse.clone()];
        if let Some(list) = self
            .config()
            .storage
            .get(crate::object_storage::ALLOWED_LOCATIONS)
        {
            prefixes.extend(
                list.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            );
        }
        for prefix in prefixes {
            let Ok(base) = location_url(&prefix) else {
                continue;
            };
            if base.scheme() != url.scheme() || base.authority() != url.authority() {
                continue;
            }
            if url.scheme() == "file" {
                let (Ok(base), Ok(path)) = (base.to_file_path(), url.to_file_path()) else {
                    continue;
                };
                if let (Some(base), Some(path)) = (resolved(&base), resolved(&path)) {
                    if path.starts_with(&base) && path != base {
                        return Ok(());
                    }
                }
            } else {
                let base_path = format!("{}/", base.path().trim_end_matches('/'));
                if url.path().starts_with(&base_path)
                    || base.path().trim_end_matches('/').is_empty()
                {
                    return Ok(());
                }
            }
        }
        Err(forbidden())
    }

    /// The location an Iceberg metadata file names for its table.
    async fn metadata_table_location(&self, metadata_location: &str) -> Result<String> {
        let bytes = self.storage().read_all(metadata_location).await?;
        let bad = |message: String| CatalogError::Storage {
            path: metadata_location.to_string(),
            message,
        };
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        json.get("location")
            .and_then(|l| l.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad("the metadata names no table location".into()))
    }

    async fn ensure_namespace(&self, namespace: &NamespaceIdent) -> Result<()> {
        if !self.catalog().namespace_exists(namespace).await? {
            self.catalog()
                .create_namespace(namespace, HashMap::new())
                .await?;
        }
        Ok(())
    }

    async fn set_namespace_property(
        &self,
        namespace: &NamespaceIdent,
        key: &str,
        value: String,
    ) -> Result<()> {
        let mut properties = self
            .catalog()
            .get_namespace(namespace)
            .await?
            .properties()
            .clone();
        properties.insert(key.to_string(), value);
        self.catalog()
            .update_namespace(namespace, properties)
            .await?;
        Ok(())
    }
}

/// `schema` with the Hive partition columns of `location`'s `key=value`
/// directories appended, typed as DuckDB infers them for the common cases
/// (whole numbers BIGINT, the rest VARCHAR).
fn with_hive_columns(schema: arrow_schema::Schema, location: &str) -> arrow_schema::Schema {
    use arrow_schema::{DataType, Field};
    let path = location.split_once("://").map_or(location, |(_, p)| p);
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop();
    for segment in segments {
        let Some((key, value)) = segment.split_once('=') else {
            continue;
        };
        if key.is_empty() || fields.iter().any(|f| f.name() == key) {
            continue;
        }
        let data_type = if value.parse::<i64>().is_ok() {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        fields.push(Field::new(key, data_type, true));
    }
    arrow_schema::Schema::new(fields)
}

/// `path` with symlinks resolved: the longest existing ancestor canonicalized,
/// the rest appended (a location may not exist yet).
fn resolved(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&cur) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return Some(out);
        }
        let name = cur.file_name()?.to_os_string();
        rest.push(name);
        cur = cur.parent()?.to_path_buf();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::parquet_source::registrations;

    #[test]
    fn globs_match_like_shells() {
        assert!(glob_matches("*.parquet", "a.parquet"));
        assert!(!glob_matches("*.parquet", "x/a.parquet"));
        assert!(glob_matches("**/*.parquet", "x/y/a.parquet"));
        assert!(glob_matches("**/*.parquet", "a.parquet"));
        assert!(glob_matches(
            "year=*/month=0?/*.parquet",
            "year=2024/month=03/p.parquet"
        ));
        assert!(!glob_matches(
            "year=*/month=0?/*.parquet",
            "year=2024/month=11/p.parquet"
        ));
        assert!(!glob_matches("*.parquet", "a.csv"));
    }

    #[test]
    fn locations_split_at_the_first_wildcard_segment() {
        let s = |l: &str| ParquetSource {
            location: l.into(),
            hive_partitioning: false,
        };
        assert_eq!(s("s3://b/logs/").split(), ("s3://b/logs".into(), None));
        assert_eq!(
            s("s3://b/logs/year=*/*.parquet").split(),
            ("s3://b/logs".into(), Some("year=*/*.parquet".into()))
        );
    }

    #[test]
    fn hive_directories_become_columns() {
        let base = arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "v",
            arrow_schema::DataType::Int32,
            true,
        )]);
        let s = with_hive_columns(base, "s3://b/logs/year=2025/region=eu/part-0.parquet");
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["v", "year", "region"]);
        assert_eq!(s.field(1).data_type(), &arrow_schema::DataType::Int64);
        assert_eq!(s.field(2).data_type(), &arrow_schema::DataType::Utf8);
    }

    #[test]
    fn registrations_come_from_namespace_properties() {
        let props = HashMap::from([
            ("owner".to_string(), "x".to_string()),
            (
                "floe.parquet.logs".to_string(),
                r#"{"location":"s3://b/l/","hive_partitioning":true}"#.to_string(),
            ),
            ("floe.parquet.gone".to_string(), String::new()),
        ]);
        let r = registrations(&props);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, "logs");
        assert!(r[0].1.hive_partitioning);
    }
}
