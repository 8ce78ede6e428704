//! PostgreSQL name resolution for lake relations: a reference `t` through the
//! session's `search_path` (`$user` expanded), `schema.t`, or
//! `database.schema.t` in the session's own database.

use floe_catalog::{LakeTxn, Listing, ParquetSource};
use iceberg::TableIdent;

use crate::pg_error::{sqlstate, PgError};

/// What name resolution needs from the session.
pub struct NameContext<'a> {
    pub search_path: &'a str,
    pub user: &'a str,
    pub database: &'a str,
    /// The open transaction's lake changes: its statements read the lake as
    /// the transaction left it.
    pub txn: Option<&'a LakeTxn>,
    /// The session's TEMP tables and views: an unqualified name finds them
    /// before any lake relation, as PostgreSQL searches `pg_temp` first.
    pub temp: &'a [String],
}

/// The lake table a reference names, if any: `t` through the search path,
/// `schema.t`, or `database.schema.t` in the session's own database.
pub(crate) fn resolve(
    listing: &Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Option<TableIdent> {
    resolve_with(parts, names, |schema, table| listing.table(schema, table))
}

/// The registered Parquet table a reference names, if any (resolved like
/// `resolve`; an Iceberg table of the same name cannot exist).
pub(crate) fn resolve_parquet<'l>(
    listing: &'l Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Option<&'l ParquetSource> {
    resolve_with(parts, names, |schema, table| listing.parquet(schema, table))
}

/// Postgres name resolution over `lookup(schema, table)`.
pub(crate) fn resolve_with<T>(
    parts: &[String],
    names: &NameContext<'_>,
    lookup: impl Fn(&str, &str) -> Option<T>,
) -> Option<T> {
    match parts {
        [table] => {
            let path = search_path(names);
            // `pg_temp` is searched first unless the path places it.
            let temp_first = !path.iter().any(|s| s == "pg_temp");
            if temp_first && names.temp.contains(table) {
                return None;
            }
            for schema in &path {
                if schema == "pg_temp" && names.temp.contains(table) {
                    return None;
                }
                if let Some(found) = lookup(schema, table) {
                    return Some(found);
                }
            }
            None
        }
        [schema, table] => lookup(schema, table),
        [db, schema, table] if db.eq_ignore_ascii_case(names.database) => lookup(schema, table),
        _ => None,
    }
}

/// A table named in a string argument (`'schema.table'` or `'table'`), with
/// the same folding and search path as a reference in SQL.
pub(crate) fn name_argument(
    listing: &Listing,
    text: &str,
    names: &NameContext<'_>,
) -> Option<TableIdent> {
    resolve(listing, &floe_sql::spans::split_name(text)?, names)
}

/// Where `CREATE` puts a new relation named `parts`, decided as PostgreSQL
/// decides it: an unqualified name goes to the first schema of the search path
/// that exists. `Ok(None)` is the session's temporary schema (`pg_temp`,
/// `temp`), which the engine keeps for the session alone. Every other relation
/// is a lake relation: a worker keeps no tables of its own, so a schema the
/// lake does not have fails (3F000), as a missing schema does in PostgreSQL.
pub(crate) fn creation_target(
    listing: &Listing,
    parts: &[String],
    names: &NameContext<'_>,
) -> Result<Option<TableIdent>, PgError> {
    let (schema, name) = match parts {
        [name] => {
            let first = search_path(names)
                .into_iter()
                .find(|s| listing.schema(s).is_some() || is_temp_schema(s));
            match first {
                Some(schema) => (schema, name),
                None => {
                    return Err(PgError::new(
                        sqlstate::INVALID_SCHEMA_NAME,
                        "no schema has been selected to create in",
                    ))
                }
            }
        }
        [schema, name] => (schema.clone(), name),
        [db, schema, name] if db.eq_ignore_ascii_case(names.database) => (schema.clone(), name),
        _ => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "cross-database references are not implemented: {}",
                    parts.join(".")
                ),
            ))
        }
    };
    if is_temp_schema(&schema) {
        return Ok(None);
    }
    match listing.schema(&schema) {
        Some(entry) => Ok(Some(TableIdent::new(entry.ident.clone(), name.clone()))),
        None if schema == "pg_catalog" => Err(PgError::new(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied to create \"pg_catalog.{name}\""),
        )
        .with_detail("System catalog modifications are currently disallowed.")),
        None => Err(PgError::new(
            sqlstate::INVALID_SCHEMA_NAME,
            format!("schema \"{schema}\" does not exist"),
        )),
    }
}

/// The session's own schema for TEMP relations, under PostgreSQL's name and
/// the engine's.
fn is_temp_schema(schema: &str) -> bool {
    matches!(schema, "pg_temp" | "temp")
}

/// The schemas of `search_path`, in order (`$user` is the session's user).
pub(crate) fn search_path(names: &NameContext<'_>) -> Vec<String> {
    names
        .search_path
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "\"$user\"" || s == "$user" {
                names.user.to_string()
            } else if let Some(q) = s.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                q.replace("\"\"", "\"")
            } else {
                s.to_lowercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_expands_user_and_unquotes() {
        let names = NameContext {
            search_path: "\"$user\", public, \"Mixed\"",
            user: "alice",
            database: "floe",
            txn: None,
            temp: &[],
        };
        assert_eq!(search_path(&names), vec!["alice", "public", "Mixed"]);
    }
}
