//! PostgreSQL 15's catalog shapes: every `pg_catalog` relation and
//! `information_schema` view with its columns, in order, and their types, as
//! written by `scripts/gen-pg15-catalog` from a real PostgreSQL 15 into
//! `pg15_catalog.txt`. The virtual schema gives each relation exactly these
//! columns, so a client's query binds as it would against PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// One column of a PostgreSQL 15 catalog relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogColumn {
    pub name: &'static str,
    /// The Postgres type as `format_type` writes it (domains as their base).
    pub pg_type: &'static str,
}

/// One PostgreSQL 15 catalog relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRelation {
    /// `pg_catalog` or `information_schema`.
    pub schema: &'static str,
    pub name: &'static str,
    /// Its OID in PostgreSQL 15 (what `'pg_constraint'::regclass` gives).
    pub oid: u32,
    /// `r` (table) or `v` (view).
    pub relkind: &'static str,
    pub columns: Vec<CatalogColumn>,
}

const SHAPES_TEXT: &str = include_str!("pg15_catalog.txt");

/// Relations Floe answers elsewhere, left out of the shapes: the router serves
/// `pg_stat_activity`.
const ANSWERED_ELSEWHERE: &[&str] = &["pg_stat_activity"];

/// Every relation the virtual schema shapes, by the name it uses (`pg_class`,
/// `information_schema.columns`): all of PostgreSQL 15's but those answered
/// elsewhere.
pub fn relations() -> &'static HashMap<String, CatalogRelation> {
    static SHAPED: OnceLock<HashMap<String, CatalogRelation>> = OnceLock::new();
    SHAPED.get_or_init(|| {
        all_relations()
            .iter()
            .filter(|(key, _)| !ANSWERED_ELSEWHERE.contains(&key.as_str()))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect()
    })
}

/// All of PostgreSQL 15's catalog relations (what `pg_class` lists).
pub fn all_relations() -> &'static HashMap<String, CatalogRelation> {
    static SHAPES: OnceLock<HashMap<String, CatalogRelation>> = OnceLock::new();
    SHAPES.get_or_init(|| {
        SHAPES_TEXT
            .lines()
            .filter_map(|line| {
                let mut fields = line.splitn(4, ' ');
                let qualified = fields.next()?;
                let oid = fields.next()?.parse().ok()?;
                let relkind = fields.next()?;
                let columns = fields.next()?;
                let (schema, name) = qualified.split_once('.')?;
                let key = qualified
                    .strip_prefix("pg_catalog.")
                    .unwrap_or(qualified)
                    .to_string();
                let columns = columns
                    .split(',')
                    .filter_map(|c| {
                        let (name, pg_type) = c.split_once(':')?;
                        Some(CatalogColumn { name, pg_type })
                    })
                    .collect();
                Some((
                    key,
                    CatalogRelation {
                        schema,
                        name,
                        oid,
                        relkind,
                        columns,
                    },
                ))
            })
            .collect()
    })
}

/// Whether `word` names a `pg_catalog` relation of PostgreSQL 15.
pub fn is_catalog_relation(word: &str) -> bool {
    relations().contains_key(word)
}

/// The DuckDB type that holds values of Postgres type `pg_type` in the
/// virtual schema.
pub fn duck_type(pg_type: &str) -> String {
    if let Some(element) = pg_type.strip_suffix("[]") {
        return format!("{}[]", duck_type(element));
    }
    // Type modifiers do not change the type: `timestamp(2) with time zone`.
    let base = match (pg_type.find('('), pg_type.find(')')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &pg_type[..open], &pg_type[close + 1..])
        }
        _ => pg_type.to_string(),
    };
    match base.as_str() {
        "oid" | "regproc" | "regclass" | "regtype" | "regnamespace" | "regrole" | "regoper"
        | "regprocedure" | "regoperator" | "regconfig" | "regdictionary" | "xid" | "cid" => {
            "UINTEGER".into()
        }
        "xid8" => "UBIGINT".into(),
        "smallint" => "SMALLINT".into(),
        "integer" => "INTEGER".into(),
        "bigint" => "BIGINT".into(),
        "real" => "REAL".into(),
        "double precision" => "DOUBLE".into(),
        "numeric" => "DOUBLE".into(),
        "boolean" => "BOOLEAN".into(),
        "timestamp with time zone" => "TIMESTAMPTZ".into(),
        "timestamp without time zone" => "TIMESTAMP".into(),
        "interval" => "INTERVAL".into(),
        "bytea" => "BLOB".into(),
        "int2vector" => "SMALLINT[]".into(),
        "oidvector" => "UINTEGER[]".into(),
        // name, text, "char", character varying, pg_node_tree, aclitem,
        // anyarray, pg_lsn, inet and the statistics types read as text.
        _ => "VARCHAR".into(),
    }
}

/// The catalog's column names whose type is `pg_type` (`name`, `"char"`) in
/// every `pg_catalog` relation that has a column of that name: a result column
/// read straight from one of them has PostgreSQL's type.
pub fn columns_always_of_type(pg_type: &str) -> HashSet<&'static str> {
    let mut typed: HashMap<&'static str, bool> = HashMap::new();
    for relation in relations().values().filter(|r| r.schema == "pg_catalog") {
        for c in &relation.columns {
            let same = c.pg_type == pg_type;
            typed
                .entry(c.name)
                .and_modify(|all| *all &= same)
                .or_insert(same);
        }
    }
    typed
        .into_iter()
        .filter(|(_, all)| *all)
        .map(|(n, _)| n)
        .collect()
}

/// `columns` as one subquery: each column from `known` (the relation Floe
/// fills, with the named columns) when it has it, else a typed NULL; every
/// column cast to the type PostgreSQL gives it, in PostgreSQL's order.
pub fn shaped(columns: &[CatalogColumn], known: Option<(&[String], &str)>) -> String {
    let select: Vec<String> = columns
        .iter()
        .map(|c| {
            let ty = duck_type(c.pg_type);
            let name = quote(c.name);
            match known {
                Some((names, _)) if names.iter().any(|n| n == c.name) => {
                    format!("CAST({name} AS {ty}) AS {name}")
                }
                _ => format!("CAST(NULL AS {ty}) AS {name}"),
            }
        })
        .collect();
    match known {
        Some((_, sql)) => format!("(SELECT {} FROM {sql} AS floe_rows)", select.join(", ")),
        None => format!("(SELECT {} LIMIT 0)", select.join(", ")),
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_postgres_15_relation_has_its_columns() {
        let shapes = relations();
        assert!(shapes.len() > 200, "{}", shapes.len());
        let class = &shapes["pg_class"].columns;
        assert_eq!(shapes["pg_class"].oid, 1259);
        assert_eq!(shapes["information_schema.tables"].relkind, "v");
        assert_eq!(
            class[0],
            CatalogColumn {
                name: "oid",
                pg_type: "oid"
            }
        );
        assert!(class
            .iter()
            .any(|c| c.name == "relacl" && c.pg_type == "aclitem[]"));
        assert!(shapes["information_schema.columns"]
            .columns
            .iter()
            .any(|c| c.name == "character_set_catalog"));
        for name in [
            "pg_auth_members",
            "pg_shdescription",
            "pg_opclass",
            "pg_range",
            "pg_user",
        ] {
            assert!(is_catalog_relation(name), "{name}");
        }
        assert!(!is_catalog_relation("pg_stat_activity"));
        assert!(all_relations().contains_key("pg_settings"));
    }

    #[test]
    fn types_map_to_duckdb() {
        let pg_and_duck = [
            ("int2vector", "SMALLINT[]"),
            ("aclitem[]", "VARCHAR[]"),
            ("regproc", "UINTEGER"),
            ("character varying(3)", "VARCHAR"),
            ("timestamp(2) with time zone", "TIMESTAMPTZ"),
        ];
        for (pg, duck) in pg_and_duck {
            assert_eq!(duck_type(pg), duck, "{pg}");
        }
    }

    #[test]
    fn known_columns_are_kept_and_the_rest_are_null() {
        let columns = [
            CatalogColumn {
                name: "oid",
                pg_type: "oid",
            },
            CatalogColumn {
                name: "relacl",
                pg_type: "aclitem[]",
            },
        ];
        let names = vec!["oid".to_string(), "extra".to_string()];
        assert_eq!(
            shaped(&columns, Some((&names, "(SELECT 1 AS oid, 2 AS extra)"))),
            "(SELECT CAST(\"oid\" AS UINTEGER) AS \"oid\", CAST(NULL AS VARCHAR[]) AS \"relacl\" \
             FROM (SELECT 1 AS oid, 2 AS extra) AS floe_rows)"
        );
        assert!(shaped(&columns, None).ends_with("LIMIT 0)"));
    }
}
