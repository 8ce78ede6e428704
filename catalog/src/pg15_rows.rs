//! The rows PostgreSQL 15 creates itself in catalogs of fixed built-in content
//! (access methods, operator classes, operators, casts, conversions, languages,
//! plpgsql, tablespaces, text search objects, built-in roles, the standard
//! schemas and their comments), as `scripts/gen-pg15-rows` read them from a
//! real PostgreSQL 15 into `pg15_rows.jsonl`. The virtual schema serves them
//! beside Floe's own rows, with PostgreSQL's OIDs, so tools that look up an
//! operator class or a text search configuration find what PostgreSQL has.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::types::quote_literal;

const ROWS_TEXT: &str = include_str!("pg15_rows.jsonl");

/// The name of the role that owns every built-in object (OID 10), as the
/// bootstrap superuser of a PostgreSQL installation is named.
pub const BOOTSTRAP_ROLE: &str = "postgres";

/// Everything `pg15_rows.jsonl` holds, parsed once.
struct Builtin {
    rows: HashMap<String, Vec<String>>,
    format_types: HashMap<u32, String>,
    procs: HashMap<u32, String>,
    /// (OID, name) of each relation's rows whose first two columns are those.
    named: HashMap<String, Vec<(u32, String)>>,
}

fn builtin() -> &'static Builtin {
    static BUILTIN: OnceLock<Builtin> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        let mut b = Builtin {
            rows: HashMap::new(),
            format_types: HashMap::new(),
            procs: HashMap::new(),
            named: HashMap::new(),
        };
        for line in ROWS_TEXT.lines() {
            let Ok(Value::Array(values)) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some((Value::String(relation), values)) = values.split_first() else {
                continue;
            };
            let oid = values
                .first()
                .and_then(Value::as_u64)
                .and_then(|o| u32::try_from(o).ok());
            let text = values.get(1).and_then(Value::as_str).map(str::to_string);
            match (relation.as_str(), oid, text) {
                ("format_type", Some(oid), Some(name)) => {
                    b.format_types.insert(oid, name);
                }
                ("regproc", Some(oid), Some(name)) => {
                    b.procs.insert(oid, name);
                }
                (relation, oid, text) => {
                    if let (Some(oid), Some(name)) = (oid, text) {
                        b.named
                            .entry(relation.to_string())
                            .or_default()
                            .push((oid, name));
                    }
                    let literals: Vec<String> = values.iter().map(literal).collect();
                    b.rows
                        .entry(relation.to_string())
                        .or_default()
                        .push(format!("({})", literals.join(", ")));
                }
            }
        }
        b
    })
}

/// The database (attached in memory, once per engine) holding the built-in
/// rows as tables: parsing thousands of VALUES rows in every statement that
/// reads `pg_type` would cost far more than the statement.
pub const BUILTIN_DATABASE: &str = "floe_pg15";

/// Statements creating the built-in rows' tables in [`BUILTIN_DATABASE`], one
/// per catalog relation, with PostgreSQL's columns and types.
pub fn builtin_tables_setup() -> Vec<String> {
    let shapes = crate::pg15_catalog::relations();
    let mut out = vec![format!(
        "ATTACH IF NOT EXISTS ':memory:' AS {BUILTIN_DATABASE}"
    )];
    let mut names: Vec<&String> = rows().keys().collect();
    names.sort();
    for name in names {
        let Some(relation) = shapes.get(name.as_str()) else {
            continue;
        };
        out.push(format!(
            "CREATE OR REPLACE TABLE {BUILTIN_DATABASE}.main.{name} AS SELECT * FROM {}",
            crate::pg15_catalog::shaped_values(&relation.columns, &rows()[name])
        ));
    }
    out
}

/// The built-in rows of `relation` as a subquery, when it has any.
pub fn builtin_relation(relation: &str) -> Option<String> {
    crate::pg15_catalog::relations().get(relation)?;
    rows()
        .contains_key(relation)
        .then(|| format!("(SELECT * FROM {BUILTIN_DATABASE}.main.{relation})"))
}

/// The built-in rows of each relation (and of `ts_token_type`: parser OID,
/// token id, alias, description), each row as SQL literals in the relation's
/// column order (`pg15_catalog`), ready for a VALUES list.
pub fn rows() -> &'static HashMap<String, Vec<String>> {
    &builtin().rows
}

/// The built-in roles by OID (`pg_database_owner`, `pg_monitor`, …, and the
/// bootstrap superuser).
pub fn roles() -> &'static [(u32, String)] {
    named_objects("pg_authid")
}

/// (OID, name) of the built-in rows of `relation` whose first two columns
/// are those (`pg_ts_dict`, `pg_ts_config`, `pg_authid`, `encoding`, …).
pub fn named_objects(relation: &str) -> &'static [(u32, String)] {
    builtin().named.get(relation).map_or(&[], Vec::as_slice)
}

/// How `format_type(oid, NULL)` writes each built-in type (`integer`,
/// `character varying[]`): the text form of a `regtype`.
pub fn format_types() -> &'static HashMap<u32, String> {
    &builtin().format_types
}

/// The names of the built-in functions the built-in rows name (`amhandler`,
/// `typinput`, …): the text form of a `regproc`.
pub fn proc_names() -> &'static HashMap<u32, String> {
    &builtin().procs
}

/// The catalogs (OID, name) whose objects have comments: `pg_class` (Floe's
/// tables and views) and those of the built-in comments (`pg_type`,
/// `pg_ts_config`, …), for `obj_description(oid, 'catalog')`.
pub fn described_catalogs() -> &'static [(u32, &'static str)] {
    static CATALOGS: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        let mut oids: Vec<u32> = ROWS_TEXT
            .lines()
            .filter(|line| line.starts_with("[\"pg_description\", "))
            .filter_map(|line| {
                let v: Vec<Value> = serde_json::from_str(line).ok()?;
                u32::try_from(v.get(2)?.as_u64()?).ok()
            })
            .chain([crate::pg15_catalog::relations()["pg_class"].oid])
            .collect();
        oids.sort_unstable();
        oids.dedup();
        let relations = crate::pg15_catalog::relations();
        oids.into_iter()
            .filter_map(|oid| {
                relations
                    .values()
                    .find(|r| r.oid == oid && r.schema == "pg_catalog")
                    .map(|r| (oid, r.name))
            })
            .collect()
    })
}

/// How values of built-in type `type_oid` are stored (`typstorage`: `p`lain,
/// `m`ain, e`x`tended), as a column of that type shows in `attstorage`.
pub fn type_storage(type_oid: u32) -> Option<&'static str> {
    static STORAGE: OnceLock<HashMap<u32, String>> = OnceLock::new();
    STORAGE
        .get_or_init(|| {
            let columns = &crate::pg15_catalog::relations()["pg_type"].columns;
            let at = |name: &str| columns.iter().position(|c| c.name == name).map(|i| i + 1);
            let (Some(oid), Some(storage)) = (at("oid"), at("typstorage")) else {
                return HashMap::new();
            };
            ROWS_TEXT
                .lines()
                .filter(|line| line.starts_with("[\"pg_type\", "))
                .filter_map(|line| {
                    let v: Vec<Value> = serde_json::from_str(line).ok()?;
                    Some((
                        u32::try_from(v.get(oid)?.as_u64()?).ok()?,
                        v.get(storage)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .get(&type_oid)
        .map(String::as_str)
}

/// Whether `quote_ident` quotes `word` for being a key word (any but an
/// unreserved one), as PostgreSQL 15's `pg_get_keywords()` lists them.
pub fn is_quoted_keyword(word: &str) -> bool {
    static QUOTED: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    QUOTED
        .get_or_init(|| {
            ROWS_TEXT
                .lines()
                .filter_map(|line| {
                    let v: Vec<Value> = serde_json::from_str(line).ok()?;
                    (v.first()?.as_str()? == "pg_get_keywords" && v.get(2)?.as_str()? != "U")
                        .then(|| v.get(1)?.as_str().map(str::to_string))?
                })
                .collect()
        })
        .contains(word)
}

/// A JSON value as a DuckDB literal: arrays as lists.
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote_literal(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(_) => quote_literal(&value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg15_catalog;

    #[test]
    fn every_row_has_its_relations_columns() {
        let shapes = pg15_catalog::relations();
        for line in ROWS_TEXT.lines() {
            let row: Vec<Value> = serde_json::from_str(line).expect("a JSON array");
            let relation = row[0].as_str().expect("a relation name");
            let width = match relation {
                "ts_token_type" => 4,
                "format_type" | "regproc" => 2,
                "pg_get_keywords" => 5,
                "encoding" => 2,
                r => shapes[r].columns.len(),
            };
            assert_eq!(row.len() - 1, width, "{line}");
        }
    }

    #[test]
    fn built_in_objects_are_there() {
        let rows = rows();
        assert_eq!(rows["pg_ts_config"].len(), 29);
        assert!(rows["pg_am"].iter().any(|r| r.contains("'btree'")));
        assert!(rows["pg_namespace"]
            .iter()
            .any(|r| r
                .starts_with("(2200, 'public', 6171, ['pg_database_owner=UC/pg_database_owner'")));
        assert!(roles().contains(&(10, BOOTSTRAP_ROLE.to_string())));
        assert!(roles()
            .iter()
            .any(|(o, n)| *o == 6171 && n == "pg_database_owner"));
        assert_eq!(format_types()[&1043], "character varying");
        assert!(named_objects("pg_ts_dict").contains(&(3765, "simple".to_string())));
        assert_eq!(format_types()[&1007], "integer[]");
        assert_eq!(proc_names()[&3], "heap_tableam_handler");
        assert!(is_quoted_keyword("select") && is_quoted_keyword("int"));
        assert!(described_catalogs().contains(&(1259, "pg_class")));
        assert_eq!(type_storage(1700), Some("m"));
        assert_eq!(type_storage(25), Some("x"));
        assert_eq!(type_storage(23), Some("p"));
        assert!(named_objects("encoding").contains(&(6, "UTF8".to_string())));
        assert!(described_catalogs().contains(&(3602, "pg_ts_config")));
        assert!(!is_quoted_keyword("abort") && !is_quoted_keyword("orders"));
    }
}
