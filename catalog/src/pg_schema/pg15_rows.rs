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

use crate::pg_schema::types::quote_literal;

const ROWS_TEXT: &str = include_str!("pg15_rows.jsonl");

/// The name of the role that owns every built-in object (OID 10), as the
/// bootstrap superuser of a PostgreSQL installation is named.
pub const BOOTSTRAP_ROLE: &str = "postgres";

/// Everything `pg15_rows.jsonl` holds, parsed once.
struct Builtin {
    rows: HashMap<String, Vec<String>>,
    /// Each relation's rows as JSON arrays of their values, for loading.
    json_rows: HashMap<String, Vec<String>>,
    format_types: HashMap<u32, String>,
    procs: HashMap<u32, String>,
    /// (OID, name) of each relation's rows whose first two columns are those.
    named: HashMap<String, Vec<(u32, String)>>,
    /// The catalog tables that have indexes (`pg_index.indrelid`).
    indexed: std::collections::HashSet<u32>,
}

fn builtin() -> &'static Builtin {
    static BUILTIN: OnceLock<Builtin> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        let mut b = Builtin {
            rows: HashMap::new(),
            json_rows: HashMap::new(),
            format_types: HashMap::new(),
            procs: HashMap::new(),
            named: HashMap::new(),
            indexed: Default::default(),
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
                (relation, oid, text) => {
                    if relation == "pg_index" {
                        let table = values.get(1).and_then(Value::as_u64);
                        b.indexed.extend(table.and_then(|t| u32::try_from(t).ok()));
                    }
                    if let (Some(oid), Some(name)) = (oid, text) {
                        b.named
                            .entry(relation.to_string())
                            .or_default()
                            .push((oid, name));
                    }
                    b.json_rows
                        .entry(relation.to_string())
                        .or_default()
                        .push(Value::Array(values.to_vec()).to_string());
                    let literals: Vec<String> = values.iter().map(literal).collect();
                    b.rows
                        .entry(relation.to_string())
                        .or_default()
                        .push(format!("({})", literals.join(", ")));
                }
            }
        }
        // A function's name prints schema-qualified when the name alone
        // would find more than one (regprocout).
        let procs = b.named.get("pg_proc").map_or(&[][..], Vec::as_slice);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for (_, name) in procs {
            *count.entry(name.as_str()).or_default() += 1;
        }
        b.procs = procs
            .iter()
            .map(|(oid, name)| {
                let text = if count[name.as_str()] > 1 {
                    format!("pg_catalog.{}", quote_ident_as_postgres(name))
                } else {
                    quote_ident_as_postgres(name)
                };
                (*oid, text)
            })
            .collect();
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
    let shapes = crate::pg_schema::pg15_catalog::relations();
    let mut out = vec![format!(
        "ATTACH IF NOT EXISTS ':memory:' AS {BUILTIN_DATABASE}"
    )];
    let mut names: Vec<&String> = rows().keys().collect();
    names.sort();
    for name in names {
        let columns: Vec<(String, String)> =
            if let Some((_, columns)) = DEFINITION_TABLES.iter().find(|t| t.0 == name.as_str()) {
                columns
                    .split(',')
                    .filter_map(|c| c.trim().split_once(' '))
                    .map(|(n, t)| (n.to_string(), t.to_string()))
                    .collect()
            } else if let Some(relation) = shapes.get(name.as_str()) {
                relation
                    .columns
                    .iter()
                    .map(|c| {
                        (
                            crate::pg_schema::types::quote_ident(c.name),
                            crate::pg_schema::pg15_catalog::duck_type(c.pg_type),
                        )
                    })
                    .collect()
            } else {
                continue;
            };
        out.push(format!(
            "CREATE OR REPLACE TABLE {BUILTIN_DATABASE}.main.{name} AS {}",
            select_json_rows(&columns, &builtin().json_rows[name])
        ));
    }
    out
}

/// A SELECT of `rows` (JSON arrays of values) as typed `columns` (name, DuckDB
/// type). The rows travel as one string literal that the engine splits and
/// reads as JSON: binding thousands of VALUES rows of constants would take
/// seconds at every engine's start.
fn select_json_rows(columns: &[(String, String)], rows: &[String]) -> String {
    let casts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, duck_type))| {
            // Lists keep their JSON form for the cast; scalars are read as text.
            let extract = if duck_type.ends_with("[]") {
                "json_extract"
            } else {
                "json_extract_string"
            };
            format!("CAST({extract}(floe_row, '$[{i}]') AS {duck_type}) AS {name}")
        })
        .collect();
    format!(
        "SELECT {} FROM (SELECT CAST(unnest(string_split({}, chr(10))) AS JSON) AS floe_row)",
        casts.join(", "),
        quote_literal(&rows.join("\n"))
    )
}

/// The definitions PostgreSQL deparses for built-in objects, as tables of
/// [`BUILTIN_DATABASE`] named as their rows in `pg15_rows.jsonl`: (name, columns).
/// `pg_get_indexdef` and `pg_get_constraintdef` read them.
const DEFINITION_TABLES: &[(&str, &str)] = &[
    (
        "indexdef",
        "index_oid UINTEGER, key_number INTEGER, definition VARCHAR, pretty_definition VARCHAR",
    ),
    (
        "constraintdef",
        "constraint_oid UINTEGER, definition VARCHAR",
    ),
    ("setting_shown", "name VARCHAR, shown VARCHAR"),
    (
        "functiondef",
        "proc_oid UINTEGER, result VARCHAR, arguments VARCHAR, identity_arguments VARCHAR, \
         definition VARCHAR",
    ),
    ("node_expression", "tree VARCHAR, expression VARCHAR"),
];

/// Whether built-in catalog table `oid` has indexes (`relhasindex`).
pub fn has_index(oid: u32) -> bool {
    builtin().indexed.contains(&oid)
}

/// The built-in rows of `relation` as a subquery, when it has any.
pub fn builtin_relation(relation: &str) -> Option<String> {
    crate::pg_schema::pg15_catalog::relations().get(relation)?;
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
            .chain([crate::pg_schema::pg15_catalog::relations()["pg_class"].oid])
            .collect();
        oids.sort_unstable();
        oids.dedup();
        let relations = crate::pg_schema::pg15_catalog::relations();
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

/// The values of `columns` in each built-in row of `relation`, in order.
fn column_values(relation: &str, columns: &[&str]) -> Vec<Vec<Value>> {
    let Some(shape) = crate::pg_schema::pg15_catalog::relations().get(relation) else {
        return Vec::new();
    };
    let at: Option<Vec<usize>> = columns
        .iter()
        .map(|name| shape.columns.iter().position(|c| c.name == *name))
        .collect();
    let (Some(at), Some(rows)) = (at, builtin().json_rows.get(relation)) else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let values: Vec<Value> = serde_json::from_str(row).ok()?;
            Some(
                at.iter()
                    .map(|&i| values.get(i).cloned().unwrap_or(Value::Null))
                    .collect(),
            )
        })
        .collect()
}

fn as_oid(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|o| u32::try_from(o).ok())
}

/// A type as regprocedure and regoperator write argument types.
fn type_text(oid: u32) -> String {
    format_types()
        .get(&oid)
        .cloned()
        .unwrap_or_else(|| oid.to_string())
}

/// The text of each built-in function as a `regprocedure`: its name and
/// argument types (`abs(integer)`, `now()`).
pub fn procedure_signatures() -> &'static HashMap<u32, String> {
    static SIGNATURES: OnceLock<HashMap<u32, String>> = OnceLock::new();
    SIGNATURES.get_or_init(|| {
        column_values("pg_proc", &["oid", "proname", "proargtypes"])
            .into_iter()
            .filter_map(|v| {
                let arguments: Vec<String> = v[2]
                    .as_array()
                    .map(|a| a.iter().filter_map(as_oid).map(type_text).collect())
                    .unwrap_or_default();
                Some((
                    as_oid(&v[0])?,
                    format!(
                        "{}({})",
                        quote_ident_as_postgres(v[1].as_str()?),
                        arguments.join(",")
                    ),
                ))
            })
            .collect()
    })
}

/// The text of each built-in operator as a `regoper` (its name, qualified
/// when the name alone is ambiguous) and as a `regoperator` (its name and
/// operand types, `NONE` for a prefix operator's left one).
pub fn operator_names() -> &'static (HashMap<u32, String>, HashMap<u32, String>) {
    static NAMES: OnceLock<(HashMap<u32, String>, HashMap<u32, String>)> = OnceLock::new();
    NAMES.get_or_init(|| {
        let rows = column_values("pg_operator", &["oid", "oprname", "oprleft", "oprright"]);
        let mut count: HashMap<String, usize> = HashMap::new();
        for v in &rows {
            *count
                .entry(v[1].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
        let mut names = HashMap::new();
        let mut signatures = HashMap::new();
        for v in &rows {
            let (Some(oid), Some(name)) = (as_oid(&v[0]), v[1].as_str()) else {
                continue;
            };
            let operand = |v: &Value| match as_oid(v) {
                Some(0) | None => "NONE".to_string(),
                Some(t) => type_text(t),
            };
            let qualified = if count[name] > 1 {
                format!("pg_catalog.{name}")
            } else {
                name.to_string()
            };
            names.insert(oid, qualified);
            signatures.insert(
                oid,
                format!("{name}({},{})", operand(&v[2]), operand(&v[3])),
            );
        }
        (names, signatures)
    })
}

/// How values of built-in type `type_oid` are stored (`typstorage`: `p`lain,
/// `m`ain, e`x`tended), as a column of that type shows in `attstorage`.
pub fn type_storage(type_oid: u32) -> Option<&'static str> {
    static STORAGE: OnceLock<HashMap<u32, String>> = OnceLock::new();
    STORAGE
        .get_or_init(|| {
            let columns = &crate::pg_schema::pg15_catalog::relations()["pg_type"].columns;
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

/// An identifier as PostgreSQL's `quote_ident` writes it: bare when it is
/// lower case letters, digits and underscores not starting with a digit and
/// not a key word, double-quoted otherwise.
pub fn quote_ident_as_postgres(name: &str) -> String {
    floe_sql::quote::ident_as_postgres(name, is_quoted_keyword)
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
    use crate::pg_schema::pg15_catalog;

    #[test]
    fn every_row_has_its_relations_columns() {
        let shapes = pg15_catalog::relations();
        for line in ROWS_TEXT.lines() {
            let row: Vec<Value> = serde_json::from_str(line).expect("a JSON array");
            let relation = row[0].as_str().expect("a relation name");
            let width = match relation {
                "ts_token_type" => 4,
                "format_type" => 2,
                "functiondef" => 5,
                "pg_get_keywords" => 5,
                "encoding" | "constraintdef" | "setting_shown" | "node_expression" => 2,
                "indexdef" => 4,
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
        assert_eq!(
            procedure_signatures()[&1217],
            "date_trunc(text,timestamp with time zone)"
        );
        assert_eq!(procedure_signatures()[&1299], "now()");
        assert_eq!(operator_names().0[&95], "pg_catalog.<");
        assert_eq!(operator_names().1[&95], "<(smallint,smallint)");
    }
}
