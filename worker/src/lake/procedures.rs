//! The lakehouse procedures clients call with `CALL`: registering plain Parquet
//! (a prefix or glob, optionally Hive-partitioned) as a read-only table,
//! removing such a registration, registering an existing Iceberg table by its
//! metadata file, and removing a table's orphan files. They change the catalog
//! at once, inside a transaction block or not.

use floe_catalog::{CatalogError, ParquetSource, SnapshotSelector};
use iceberg::NamespaceIdent;

use crate::lake::names::{search_path, NameContext};
use crate::lake::reader::LakeReader;
use crate::pg_error::{sqlstate, PgError};

/// `CALL floe_cache_warm('schema.table' [, snapshot_id])`: every data and
/// delete file of the table's current (or given) snapshot fetched into the SSD
/// cache the machine's workers share, as a first read would fetch them, so
/// the first statement over it reads no object storage. Says what it loaded.
pub fn warm(
    reader: &LakeReader,
    args: &[String],
    names: &NameContext<'_>,
    runtime: &tokio::runtime::Handle,
) -> Result<String, PgError> {
    let (name, snapshot) = match args {
        [name] => (name, SnapshotSelector::Current),
        [name, id] => (
            name,
            SnapshotSelector::Id(id.parse::<i64>().map_err(|_| {
                PgError::new(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!("invalid input syntax for type bigint: \"{id}\""),
                )
            })?),
        ),
        _ => {
            return Err(PgError::new(
                sqlstate::UNDEFINED_FUNCTION,
                "procedure floe_cache_warm takes a table name and an optional snapshot id",
            ))
        }
    };
    let (namespace, table) = target(name, names)?;
    let ident = iceberg::TableIdent::new(namespace, table);
    let started = std::time::Instant::now();
    let table = reader.table(names.txn, &ident, runtime)?;
    let catalog = |e: CatalogError| PgError::new(e.sqlstate(), e.to_string());
    let plan = runtime
        .block_on(floe_catalog::scan::plan_scan(&table, snapshot, None))
        .map_err(catalog)?;
    let downloaded_before = reader.cache_downloaded_bytes();
    let mut files = 0u64;
    let mut bytes = 0u64;
    for f in &plan.files {
        let deletes = f.position_deletes.iter().chain(&f.equality_deletes);
        for (path, size) in
            std::iter::once((&f.path, f.size)).chain(deletes.map(|d| (&d.path, d.size)))
        {
            // Fetched and let go at once: the file stays in the cache, unpinned.
            runtime
                .block_on(reader.cache.local_path(path, size))
                .map_err(catalog)?;
            files += 1;
            bytes += size;
        }
    }
    let downloaded = reader
        .cache_downloaded_bytes()
        .saturating_sub(downloaded_before);
    Ok(format!(
        "warmed {}.{}: {files} files, {bytes} bytes ({downloaded} downloaded) in {:.3} s",
        ident.namespace().join("."),
        ident.name(),
        started.elapsed().as_secs_f64()
    ))
}

/// Files younger than this are never orphans: a write may still be committing.
const DEFAULT_ORPHAN_AGE_SECONDS: u64 = 3600;

/// Runs `CALL procedure(args)`; returns what to tell the client, if anything.
pub fn call(
    reader: &LakeReader,
    procedure: &str,
    args: &[String],
    names: &NameContext<'_>,
    runtime: &tokio::runtime::Handle,
) -> Result<Option<String>, PgError> {
    let lake = reader.lakehouse();
    if procedure == "floe_remove_orphan_files" {
        let [name, rest @ ..] = args else {
            return Err(PgError::new(
                sqlstate::UNDEFINED_FUNCTION,
                "procedure floe_remove_orphan_files takes a table name and an optional age in seconds",
            ));
        };
        let age = match rest {
            [] => DEFAULT_ORPHAN_AGE_SECONDS,
            [seconds] => seconds.parse::<u64>().map_err(|_| {
                PgError::new(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!("invalid input syntax for type bigint: \"{seconds}\""),
                )
            })?,
            _ => {
                return Err(PgError::new(
                    sqlstate::UNDEFINED_FUNCTION,
                    "floe_remove_orphan_files takes at most two arguments",
                ))
            }
        };
        let (namespace, table) = target(name, names)?;
        let ident = iceberg::TableIdent::new(namespace, table);
        let report = runtime
            .block_on(lake.remove_orphan_files(&ident, std::time::Duration::from_secs(age)))
            .map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
        return Ok(Some(format!(
            "removed {} orphan files ({} bytes) of {}",
            report.removed_files,
            report.removed_bytes,
            ident.name()
        )));
    }
    let outcome = match (procedure, args) {
        ("floe_register_parquet", [name, location, rest @ ..]) if rest.len() <= 1 => {
            let (namespace, table) = target(name, names)?;
            let hive_partitioning = match rest.first().map(String::as_str) {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(PgError::new(
                        sqlstate::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type boolean: \"{other}\""),
                    ))
                }
            };
            let source = ParquetSource {
                location: location.clone(),
                hive_partitioning,
            };
            runtime.block_on(lake.register_parquet(&namespace, &table, source))
        }
        ("floe_unregister_parquet", [name]) => {
            let (namespace, table) = target(name, names)?;
            runtime.block_on(lake.unregister_parquet(&namespace, &table))
        }
        ("floe_register_iceberg", [name, metadata_location]) => {
            let (namespace, table) = target(name, names)?;
            runtime.block_on(lake.register_iceberg(&namespace, &table, metadata_location))
        }
        ("floe_register_parquet" | "floe_unregister_parquet" | "floe_register_iceberg", _) => {
            return Err(PgError::new(
                sqlstate::UNDEFINED_FUNCTION,
                format!(
                    "procedure {procedure} does not take {} arguments: see the README",
                    args.len()
                ),
            ))
        }
        _ => {
            return Err(PgError::new(
                sqlstate::UNDEFINED_FUNCTION,
                format!("procedure {procedure} does not exist"),
            ))
        }
    };
    outcome.map_err(|e: CatalogError| PgError::new(e.sqlstate(), e.to_string()))?;
    reader.forget_virtual_schema();
    Ok(None)
}

/// The namespace and table a name argument names: `schema.table`, or `table`
/// in the first schema of the search path.
fn target(name: &str, names: &NameContext<'_>) -> Result<(NamespaceIdent, String), PgError> {
    let invalid = || {
        PgError::new(
            sqlstate::INVALID_NAME,
            format!("invalid table name \"{name}\""),
        )
    };
    let parts = floe_sql::spans::split_name(name).ok_or_else(invalid)?;
    match parts.as_slice() {
        [table] => {
            let schema = search_path(names)
                .into_iter()
                .next()
                .unwrap_or_else(|| "public".into());
            Ok((NamespaceIdent::new(schema), table.clone()))
        }
        [schema, table] => {
            let ns = NamespaceIdent::from_strs(schema.split('.')).map_err(|_| invalid())?;
            Ok((ns, table.clone()))
        }
        _ => Err(invalid()),
    }
}
