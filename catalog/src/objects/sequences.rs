//! Sequences (`CREATE SEQUENCE`, and the ones behind `serial` and identity
//! columns), kept in the SQL catalog's database so that every worker draws
//! from the same counter: table `floe_sequences`, one row per sequence with
//! its definition and the next value to hand out.
//!
//! A worker takes values in blocks (at least the sequence's `CACHE`, or as
//! many as the statement asks for at once) with one compare-and-swap on the
//! row, and hands them out from memory; values a worker took and did not use
//! are skipped, as in PostgreSQL with `CACHE` above 1 (sequences promise
//! unique values, not gapless ones). Allocation is not transactional: a
//! value, once handed out, is never handed out again, whatever the statement
//! that took it does.
//!
//! A REST catalog offers no atomic counter, so sequences need the SQL catalog.

use std::collections::HashMap;

use floe_protocol::sqlstate;
use iceberg::{NamespaceIdent, TableIdent};

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;

/// A sequence's definition, as `CREATE SEQUENCE` (or a serial column) gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceDef {
    /// `smallint`, `integer` or `bigint`.
    pub data_type: &'static str,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cycle: bool,
    pub cache: i64,
    /// The column whose default draws from it (`serial`, identity): it is
    /// dropped with that table.
    pub owned_by: Option<(TableIdent, String)>,
}

/// What a statement declared; `None` takes PostgreSQL's default.
#[derive(Debug, Clone, Default)]
pub struct SequenceOptions {
    pub increment: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub start: Option<i64>,
    pub cycle: bool,
    pub cache: Option<i64>,
}

fn invalid(message: String) -> CatalogError {
    CatalogError::Sequence {
        state: sqlstate::INVALID_PARAMETER_VALUE,
        message,
    }
}

impl SequenceDef {
    /// The definition `options` give a sequence of `data_type` (`smallint`,
    /// `integer`, `bigint`), with PostgreSQL's defaults and checks.
    pub fn new(data_type: &str, options: &SequenceOptions) -> Result<SequenceDef> {
        let (data_type, type_min, type_max) = match data_type {
            "smallint" | "int2" => ("smallint", i64::from(i16::MIN), i64::from(i16::MAX)),
            "integer" | "int" | "int4" => ("integer", i64::from(i32::MIN), i64::from(i32::MAX)),
            "bigint" | "int8" => ("bigint", i64::MIN, i64::MAX),
            other => {
                return Err(invalid(format!(
                    "sequence type must be smallint, integer, or bigint, not {other}"
                )))
            }
        };
        let increment = options.increment.unwrap_or(1);
        if increment == 0 {
            return Err(invalid("INCREMENT must not be zero".into()));
        }
        let min = options
            .min
            .unwrap_or(if increment > 0 { 1 } else { type_min });
        let max = options
            .max
            .unwrap_or(if increment > 0 { type_max } else { -1 });
        if min < type_min || max > type_max {
            return Err(invalid(format!(
                "MINVALUE ({min}) and MAXVALUE ({max}) must be within the range of type {data_type}"
            )));
        }
        if min >= max {
            return Err(invalid(format!(
                "MINVALUE ({min}) must be less than MAXVALUE ({max})"
            )));
        }
        let start = options
            .start
            .unwrap_or(if increment > 0 { min } else { max });
        if start < min {
            return Err(invalid(format!(
                "START value ({start}) cannot be less than MINVALUE ({min})"
            )));
        }
        if start > max {
            return Err(invalid(format!(
                "START value ({start}) cannot be greater than MAXVALUE ({max})"
            )));
        }
        let cache = options.cache.unwrap_or(1);
        if cache < 1 {
            return Err(invalid(format!(
                "CACHE ({cache}) must be greater than zero"
            )));
        }
        Ok(SequenceDef {
            data_type,
            start,
            increment,
            min,
            max,
            cycle: options.cycle,
            cache,
            owned_by: None,
        })
    }
}

/// The values one request got: `first`, `first + increment`, … (`count` of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Values {
    pub first: i64,
    pub count: i64,
    pub increment: i64,
}

impl Values {
    /// The `i`-th value (below `count`).
    pub fn nth(&self, i: i64) -> i64 {
        self.first.wrapping_add(i.wrapping_mul(self.increment))
    }
}

/// Values a worker took from the catalog and has not handed out yet.
#[derive(Debug, Default)]
pub struct SequenceBlocks {
    blocks: parking_lot::Mutex<HashMap<(String, String), Values>>,
}

/// How long a block may be (a runaway statement cannot take a sequence's range).
const MAX_BLOCK: i64 = 1 << 20;

/// The row of a sequence: (data type, start, increment, min, max, cycle,
/// cache, next value or NULL when used up).
type Row = (String, i64, i64, i64, i64, bool, i64, Option<i64>);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS floe_sequences (
    catalog_name TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    data_type TEXT NOT NULL, start_value INTEGER NOT NULL, increment INTEGER NOT NULL,
    min_value INTEGER NOT NULL, max_value INTEGER NOT NULL, cycle INTEGER NOT NULL,
    cache INTEGER NOT NULL, next_value INTEGER, owned_by TEXT,
    PRIMARY KEY (catalog_name, namespace, name))";

fn sql_error(e: sqlx::Error) -> CatalogError {
    CatalogError::Commit(e.to_string())
}

fn no_sequence(name: &str) -> CatalogError {
    CatalogError::NoSuchTable(name.to_string())
}

/// `ns.table.column`, as `owned_by` is stored.
fn owner_key(table: &TableIdent, column: &str) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{column}",
        table.namespace().join("."),
        table.name()
    )
}

impl Lakehouse {
    async fn sequence_pool(&self) -> Result<sqlx::SqlitePool> {
        let uri = match self.sql_uri() {
            Ok(uri) => uri,
            Err(_) => {
                return Err(CatalogError::Unsupported(
                    "sequences (serial, identity, CREATE SEQUENCE) in a REST catalog, which \
                     has no atomic counter; they are kept in the embedded SQL catalog"
                        .into(),
                ))
            }
        };
        let pool = self.sql_pool(uri).await?;
        self.sequence_table
            .get_or_try_init(|| async {
                sqlx::query(CREATE_TABLE)
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(sql_error)
            })
            .await?;
        Ok(pool)
    }

    /// Creates sequence `name` in `ns`; `false` when it exists and
    /// `if_not_exists` was given.
    pub async fn create_sequence(
        &self,
        ns: &NamespaceIdent,
        name: &str,
        def: &SequenceDef,
        if_not_exists: bool,
    ) -> Result<bool> {
        let pool = self.sequence_pool().await?;
        let listing = self.listing().await?;
        if listing.has_relation(ns, name) {
            return if if_not_exists {
                Ok(false)
            } else {
                Err(CatalogError::Exists(name.to_string()))
            };
        }
        let result = sqlx::query(
            "INSERT INTO floe_sequences (catalog_name, namespace, name, data_type, start_value,
             increment, min_value, max_value, cycle, cache, next_value, owned_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&self.config().name)
        .bind(ns.join("."))
        .bind(name)
        .bind(def.data_type)
        .bind(def.start)
        .bind(def.increment)
        .bind(def.min)
        .bind(def.max)
        .bind(def.cycle)
        .bind(def.cache)
        .bind(def.start)
        .bind(def.owned_by.as_ref().map(|(t, c)| owner_key(t, c)))
        .execute(&pool)
        .await
        .map_err(sql_error)?;
        if result.rows_affected() == 0 {
            return if if_not_exists {
                Ok(false)
            } else {
                Err(CatalogError::Exists(name.to_string()))
            };
        }
        self.changed_listing();
        Ok(true)
    }

    /// Drops sequence `name` of `ns`; `false` when there is none.
    pub async fn drop_sequence(&self, ns: &NamespaceIdent, name: &str) -> Result<bool> {
        let pool = self.sequence_pool().await?;
        let result = sqlx::query(
            "DELETE FROM floe_sequences WHERE catalog_name = ? AND namespace = ? AND name = ?",
        )
        .bind(&self.config().name)
        .bind(ns.join("."))
        .bind(name)
        .execute(&pool)
        .await
        .map_err(sql_error)?;
        self.forget_sequence_block(&ns.join("."), name);
        self.changed_listing();
        Ok(result.rows_affected() > 0)
    }

    /// Drops the sequences the columns of `table` own (it was dropped).
    pub async fn drop_owned_sequences(&self, table: &TableIdent) -> Result<()> {
        let Ok(pool) = self.sequence_pool().await else {
            return Ok(());
        };
        let prefix = format!(
            "{}\u{1f}{}\u{1f}",
            table.namespace().join("."),
            table.name()
        );
        sqlx::query(
            "DELETE FROM floe_sequences WHERE catalog_name = ? AND substr(owned_by, 1, ?) = ?",
        )
        .bind(&self.config().name)
        .bind(prefix.len() as i64)
        .bind(&prefix)
        .execute(&pool)
        .await
        .map_err(sql_error)?;
        self.changed_listing();
        Ok(())
    }

    /// Every sequence, as (namespace, name); none on a REST catalog.
    pub(crate) async fn list_sequences(&self) -> Result<Vec<(String, String)>> {
        if self.sql_uri().is_err() {
            return Ok(Vec::new());
        }
        let pool = self.sequence_pool().await?;
        sqlx::query_as("SELECT namespace, name FROM floe_sequences WHERE catalog_name = ?")
            .bind(&self.config().name)
            .fetch_all(&pool)
            .await
            .map_err(sql_error)
    }

    async fn sequence_row(&self, pool: &sqlx::SqlitePool, ns: &str, name: &str) -> Result<Row> {
        sqlx::query_as(
            "SELECT data_type, start_value, increment, min_value, max_value, cycle, cache, next_value
             FROM floe_sequences WHERE catalog_name = ? AND namespace = ? AND name = ?",
        )
        .bind(&self.config().name)
        .bind(ns)
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(sql_error)?
        .ok_or_else(|| no_sequence(name))
    }

    /// Up to `wanted` next values of sequence `ns.name` from this process's
    /// block, when it has values left (no catalog request).
    pub fn cached_sequence_values(&self, ns: &str, name: &str, wanted: i64) -> Option<Values> {
        let mut blocks = self.sequence_blocks.blocks.lock();
        let block = blocks
            .get_mut(&(ns.to_string(), name.to_string()))
            .filter(|b| b.count > 0)?;
        let n = wanted.clamp(1, MAX_BLOCK).min(block.count);
        let taken = Values { count: n, ..*block };
        block.first = block.nth(n);
        block.count -= n;
        Some(taken)
    }

    /// Up to `wanted` next values of sequence `ns.name` (at least one): from
    /// this process's block, or a new block taken from the catalog.
    pub async fn next_sequence_values(&self, ns: &str, name: &str, wanted: i64) -> Result<Values> {
        if let Some(taken) = self.cached_sequence_values(ns, name, wanted) {
            return Ok(taken);
        }
        let key = (ns.to_string(), name.to_string());
        let wanted = wanted.clamp(1, MAX_BLOCK);
        let pool = self.sequence_pool().await?;
        loop {
            let (_, _, increment, min, max, cycle, cache, stored) =
                self.sequence_row(&pool, ns, name).await?;
            let next = match stored {
                Some(n) => n,
                None if cycle => {
                    if increment > 0 {
                        min
                    } else {
                        max
                    }
                }
                None => {
                    let (which, bound) = if increment > 0 {
                        ("maximum", max)
                    } else {
                        ("minimum", min)
                    };
                    return Err(CatalogError::Sequence {
                        state: sqlstate::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                        message: format!(
                            "nextval: reached {which} value of sequence \"{name}\" ({bound})"
                        ),
                    });
                }
            };
            let step = i128::from(increment);
            let left = if increment > 0 {
                (i128::from(max) - i128::from(next)) / step + 1
            } else {
                (i128::from(next) - i128::from(min)) / -step + 1
            };
            let take = i128::from(wanted.max(cache).min(MAX_BLOCK))
                .min(left)
                .max(1);
            let after = i128::from(next) + take * step;
            let after = (i128::from(min)..=i128::from(max))
                .contains(&after)
                .then_some(after as i64);
            let swapped = sqlx::query(
                "UPDATE floe_sequences SET next_value = ?
                 WHERE catalog_name = ? AND namespace = ? AND name = ? AND next_value IS ?",
            )
            .bind(after)
            .bind(&self.config().name)
            .bind(ns)
            .bind(name)
            .bind(stored)
            .execute(&pool)
            .await
            .map_err(sql_error)?;
            if swapped.rows_affected() == 0 {
                // Another worker took a block first (or the row was used up
                // and cycled): read the row again.
                continue;
            }
            let block = Values {
                first: next,
                count: take as i64,
                increment,
            };
            let n = wanted.min(block.count);
            let rest = Values {
                first: block.nth(n),
                count: block.count - n,
                increment,
            };
            self.sequence_blocks.blocks.lock().insert(key, rest);
            return Ok(Values { count: n, ..block });
        }
    }

    /// `setval`: the next value handed out is `value` (`is_called` false) or
    /// the one after it; drops this process's block.
    pub async fn set_sequence(
        &self,
        ns: &str,
        name: &str,
        value: i64,
        is_called: bool,
    ) -> Result<()> {
        let pool = self.sequence_pool().await?;
        let (_, _, increment, min, max, _, _, _) = self.sequence_row(&pool, ns, name).await?;
        if value < min || value > max {
            return Err(CatalogError::Sequence {
                state: sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                message: format!(
                    "setval: value {value} is out of bounds for sequence \"{name}\" ({min}..{max})"
                ),
            });
        }
        let next = if is_called {
            value
                .checked_add(increment)
                .filter(|n| (min..=max).contains(n))
        } else {
            Some(value)
        };
        sqlx::query(
            "UPDATE floe_sequences SET next_value = ?
             WHERE catalog_name = ? AND namespace = ? AND name = ?",
        )
        .bind(next)
        .bind(&self.config().name)
        .bind(ns)
        .bind(name)
        .execute(&pool)
        .await
        .map_err(sql_error)?;
        self.forget_sequence_block(ns, name);
        Ok(())
    }

    /// Drops what this process holds of a sequence's values (it changed).
    fn forget_sequence_block(&self, ns: &str, name: &str) {
        self.sequence_blocks
            .blocks
            .lock()
            .remove(&(ns.to_string(), name.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_take_postgres_defaults_and_checks() {
        let def = SequenceDef::new("integer", &SequenceOptions::default()).unwrap();
        assert_eq!((def.start, def.min, def.max), (1, 1, i64::from(i32::MAX)));
        let down = SequenceOptions {
            increment: Some(-1),
            ..Default::default()
        };
        let def = SequenceDef::new("bigint", &down).unwrap();
        assert_eq!((def.start, def.min, def.max), (-1, i64::MIN, -1));
        let zero = SequenceOptions {
            increment: Some(0),
            ..Default::default()
        };
        assert!(SequenceDef::new("bigint", &zero).is_err());
        let low = SequenceOptions {
            start: Some(0),
            ..Default::default()
        };
        assert!(SequenceDef::new("bigint", &low).is_err());
        assert!(SequenceDef::new("text", &SequenceOptions::default()).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_draw_unique_values_in_blocks() {
        let dir = tempfile::tempdir().expect("dir");
        let a = std::sync::Arc::new(crate::test_lake::open_lake(dir.path()).await);
        let b = std::sync::Arc::new(crate::test_lake::open_lake(dir.path()).await);
        let ns = NamespaceIdent::new("app".into());
        a.catalog()
            .create_namespace(&ns, HashMap::new())
            .await
            .expect("schema");
        let def = SequenceDef::new("bigint", &SequenceOptions::default()).unwrap();
        assert!(a.create_sequence(&ns, "s", &def, false).await.unwrap());
        assert!(!a.create_sequence(&ns, "s", &def, true).await.unwrap());
        assert!(a.create_sequence(&ns, "s", &def, false).await.is_err());
        let mut tasks = Vec::new();
        for lake in [a.clone(), b.clone(), a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for wanted in [1, 3, 7, 1, 50] {
                    let v = lake.next_sequence_values("app", "s", wanted).await.unwrap();
                    got.extend((0..v.count).map(|i| v.nth(i)));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a value was handed out twice");
        // setval: the next value follows it, in every process once its
        // block is used up (this one's block is dropped at once).
        a.set_sequence("app", "s", 1000, true).await.unwrap();
        assert_eq!(
            a.next_sequence_values("app", "s", 1).await.unwrap().first,
            1001
        );
        assert!(a.set_sequence("app", "s", 0, true).await.is_err());
        let small = SequenceOptions {
            max: Some(2),
            ..Default::default()
        };
        let def = SequenceDef::new("integer", &small).unwrap();
        a.create_sequence(&ns, "tiny", &def, false).await.unwrap();
        let v = a.next_sequence_values("app", "tiny", 10).await.unwrap();
        assert_eq!((v.first, v.count), (1, 2));
        let e = a.next_sequence_values("app", "tiny", 1).await.unwrap_err();
        assert_eq!(e.sqlstate(), "2200H");
        assert!(b.drop_sequence(&ns, "s").await.unwrap());
        assert!(b.next_sequence_values("app", "s", 1).await.is_err());
    }
}
