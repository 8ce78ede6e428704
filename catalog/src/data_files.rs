//! Data files Floe writes: the Iceberg `DataFile` entry for a Parquet file the
//! engine wrote (record count, size, and per field id the column sizes, value
//! and null counts and lower/upper bounds read from the Parquet footer), and the
//! upload of that file to the table's data location.
//!
//! Bounds are kept only where they are exact enough to prune with: top-level
//! primitive columns, never a NaN, and an upper bound only when the footer says
//! it was not truncated.

use std::collections::HashMap;
use std::path::Path;

use iceberg::spec::{
    DataContentType, DataFile, DataFileBuilder, DataFileFormat, Datum, PrimitiveType, Schema,
    Struct, Type,
};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use tokio::io::AsyncReadExt;

use crate::error::{CatalogError, Result};
use crate::object_storage::ObjectStorage;

/// Uploads below this size go in one request.
const SINGLE_PUT_LIMIT: u64 = 8 << 20;
/// Part size of multipart uploads (S3 needs at least 5 MiB per part).
const PART_SIZE: usize = 16 << 20;

/// A Parquet file the engine wrote, described from its footer.
#[derive(Debug)]
pub struct WrittenFile {
    pub record_count: u64,
    pub file_size: u64,
    /// Nulls per top-level field id (for NOT NULL checks before committing).
    pub null_counts: HashMap<i32, u64>,
    metadata: ParquetMetaData,
}

impl WrittenFile {
    /// Reads the footer of the local Parquet file at `path`.
    pub fn read(path: &Path) -> Result<WrittenFile> {
        let local = || path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| storage(&local(), e))?;
        let file_size = file.metadata().map_err(|e| storage(&local(), e))?.len();
        let reader = SerializedFileReader::new(file).map_err(|e| storage(&local(), e))?;
        let metadata = reader.metadata().clone();
        let mut null_counts = HashMap::new();
        for group in metadata.row_groups() {
            for column in group.columns() {
                let descr = column.column_descr();
                let top = descr.path().parts().len() == 1;
                let Some(id) = field_id(descr.self_type()) else {
                    continue;
                };
                if let (true, Some(stats)) = (top, column.statistics()) {
                    *null_counts.entry(id).or_insert(0) += stats.null_count_opt().unwrap_or(0);
                }
            }
        }
        Ok(WrittenFile {
            record_count: metadata.file_metadata().num_rows().max(0) as u64,
            file_size,
            null_counts,
            metadata,
        })
    }

    /// The Iceberg entry for this file once it lives at `location`: a data
    /// file, or a position delete file (columns `file_path` and `pos`) of data
    /// files in `partition`.
    pub fn entry(
        &self,
        content: DataContentType,
        location: &str,
        schema: &Schema,
        spec_id: i32,
        partition: Struct,
    ) -> Result<DataFile> {
        let mut column_sizes = HashMap::new();
        let mut value_counts = HashMap::new();
        let mut null_value_counts = HashMap::new();
        let mut lower: HashMap<i32, Datum> = HashMap::new();
        let mut upper: HashMap<i32, Datum> = HashMap::new();
        let mut unbounded: Vec<i32> = Vec::new();
        for group in self.metadata.row_groups() {
            for column in group.columns() {
                let descr = column.column_descr();
                let Some(id) = field_id(descr.self_type()) else {
                    continue;
                };
                *column_sizes.entry(id).or_insert(0u64) += column.compressed_size().max(0) as u64;
                *value_counts.entry(id).or_insert(0u64) += column.num_values().max(0) as u64;
                let stats = column.statistics();
                if let Some(n) = stats.and_then(Statistics::null_count_opt) {
                    *null_value_counts.entry(id).or_insert(0u64) += n;
                }
                if descr.path().parts().len() != 1 || unbounded.contains(&id) {
                    continue;
                }
                let primitive = match schema.field_by_id(id).map(|f| f.field_type.as_ref()) {
                    Some(Type::Primitive(p)) => p,
                    _ => continue,
                };
                let all_null = stats
                    .is_some_and(|s| s.null_count_opt() == Some(column.num_values().max(0) as u64));
                if all_null {
                    continue;
                }
                let bounds = stats.map(|s| {
                    (
                        bound(s, primitive, Side::Lower),
                        bound(s, primitive, Side::Upper),
                    )
                });
                match bounds {
                    Some((Some(lo), Some(hi))) => {
                        merge(&mut lower, id, lo, std::cmp::Ordering::Less);
                        merge(&mut upper, id, hi, std::cmp::Ordering::Greater);
                    }
                    // A row group without usable bounds: none for the file.
                    _ => {
                        unbounded.push(id);
                        lower.remove(&id);
                        upper.remove(&id);
                    }
                }
            }
        }
        let split_offsets: Vec<i64> = self
            .metadata
            .row_groups()
            .iter()
            .filter_map(|g| g.file_offset())
            .collect();
        DataFileBuilder::default()
            .content(content)
            .file_path(location.to_string())
            .file_format(DataFileFormat::Parquet)
            .partition(partition)
            .partition_spec_id(spec_id)
            .record_count(self.record_count)
            .file_size_in_bytes(self.file_size)
            .column_sizes(column_sizes)
            .value_counts(value_counts)
            .null_value_counts(null_value_counts)
            .lower_bounds(lower)
            .upper_bounds(upper)
            .split_offsets(Some(split_offsets))
            .build()
            .map_err(|e| CatalogError::Commit(format!("data file entry for {location}: {e}")))
    }
}

impl ObjectStorage {
    /// Copies the local file `path` to `location` (in parts when it is large).
    pub async fn upload(&self, path: &Path, location: &str) -> Result<()> {
        let (store, object) = self.resolve(location)?;
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| storage(location, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| storage(location, e))?
            .len();
        if size <= SINGLE_PUT_LIMIT {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes)
                .await
                .map_err(|e| storage(location, e))?;
            store
                .put(&object, PutPayload::from(bytes))
                .await
                .map_err(|e| storage(location, e))?;
            return Ok(());
        }
        let upload = store
            .put_multipart(&object)
            .await
            .map_err(|e| storage(location, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(storage(location, e));
                }
            };
            if n == 0 {
                break;
            }
            // Bounded memory: wait while too many parts are in flight.
            if let Err(e) = writer.wait_for_capacity(4).await {
                return Err(storage(location, e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| storage(location, e))?;
        Ok(())
    }

    /// Deletes the object at `location`; a missing object is not an error.
    pub async fn remove_object(&self, location: &str) -> Result<()> {
        let (store, object) = self.resolve(location)?;
        match store.delete(&object).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage(location, e)),
        }
    }
}

fn field_id(t: &parquet::schema::types::Type) -> Option<i32> {
    let info = t.get_basic_info();
    info.has_id().then(|| info.id())
}

#[derive(Clone, Copy)]
enum Side {
    Lower,
    Upper,
}

/// A footer bound as an Iceberg value of the column's type, if usable.
fn bound(stats: &Statistics, t: &PrimitiveType, side: Side) -> Option<Datum> {
    use PrimitiveType as P;
    use Statistics as S;
    let exact = match side {
        Side::Lower => true,
        Side::Upper => stats.max_is_exact(),
    };
    macro_rules! pick {
        ($s:expr) => {
            match side {
                Side::Lower => $s.min_opt(),
                Side::Upper => $s.max_opt(),
            }
        };
    }
    match (stats, t) {
        (S::Boolean(s), P::Boolean) => pick!(s).map(|v| Datum::bool(*v)),
        (S::Int32(s), P::Int) => pick!(s).map(|v| Datum::int(*v)),
        (S::Int32(s), P::Date) => pick!(s).map(|v| Datum::date(*v)),
        (S::Int32(s), P::Decimal { .. }) => pick!(s).and_then(|v| decimal(i128::from(*v), t)),
        (S::Int64(s), P::Long) => pick!(s).map(|v| Datum::long(*v)),
        (S::Int64(s), P::Time) => pick!(s).and_then(|v| Datum::time_micros(*v).ok()),
        (S::Int64(s), P::Timestamp) => pick!(s).map(|v| Datum::timestamp_micros(*v)),
        (S::Int64(s), P::Timestamptz) => pick!(s).map(|v| Datum::timestamptz_micros(*v)),
        (S::Int64(s), P::Decimal { .. }) => pick!(s).and_then(|v| decimal(i128::from(*v), t)),
        (S::Float(s), P::Float) => pick!(s).filter(|v| !v.is_nan()).map(|v| Datum::float(*v)),
        (S::Double(s), P::Double) => pick!(s).filter(|v| !v.is_nan()).map(|v| Datum::double(*v)),
        (S::ByteArray(s), P::String) if exact => pick!(s)
            .and_then(|v| std::str::from_utf8(v.data()).ok())
            .map(Datum::string),
        (S::ByteArray(s), P::Binary) if exact => {
            pick!(s).map(|v| Datum::binary(v.data().iter().copied()))
        }
        (S::FixedLenByteArray(s), P::Uuid) => pick!(s)
            .and_then(|v| uuid::Uuid::from_slice(v.data()).ok())
            .map(Datum::uuid),
        (S::FixedLenByteArray(s), P::Decimal { .. }) => {
            let bytes = pick!(s)?.data();
            (bytes.len() <= 16).then_some(())?;
            let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
            let mut padded = if negative { [0xFF; 16] } else { [0; 16] };
            padded[16 - bytes.len()..].copy_from_slice(bytes);
            decimal(i128::from_be_bytes(padded), t)
        }
        (S::FixedLenByteArray(s), P::Fixed(_)) if exact => {
            pick!(s).map(|v| Datum::fixed(v.data().iter().copied()))
        }
        _ => None,
    }
}

fn decimal(unscaled: i128, t: &PrimitiveType) -> Option<Datum> {
    Datum::try_from_bytes(&unscaled.to_be_bytes(), t.clone()).ok()
}

/// Keeps the smaller (`Less`) or larger (`Greater`) of the bound held and `new`.
fn merge(bounds: &mut HashMap<i32, Datum>, id: i32, new: Datum, keep: std::cmp::Ordering) {
    match bounds.get(&id) {
        Some(old) if new.partial_cmp(old) != Some(keep) => {}
        _ => {
            bounds.insert(id, new);
        }
    }
}

fn storage(path: &str, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Storage {
        path: path.to_string(),
        message: e.to_string(),
    }
}
