//! PostgreSQL name resolution for lake relations: a reference `t` through the
//! session's `search_path` (`$user` expanded), `schema.t`, or
//! `database.schema.t` in the session's own database.

use floe_catalog::{LakeTxn, Listing, ParquetSource};
use iceberg::TableIdent;

/// What name resolution needs from the session.
pub struct NameContext<'a> {
    pub search_path: &'a str,
    pub user: &'a str,
    pub database: &'a str,
    /// The open transaction's lake changes: its statements read the lake as
    /// the transaction left it.
    pub txn: Option<&'a LakeTxn>,
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
        [table] => search_path(names)
            .iter()
            .find_map(|schema| lookup(schema, table)),
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
        };
        assert_eq!(search_path(&names), vec!["alice", "public", "Mixed"]);
    }
}
