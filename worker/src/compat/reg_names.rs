//! The text form of OID-alias values: a `regclass` prints as its relation's
//! name (schema-qualified when the search path would not find it), a
//! `regtype` as `format_type` writes it, a `regproc` as its function's name, a
//! `regnamespace` and a `regrole` as their names, and OID 0 as `-`, as
//! PostgreSQL prints them. The engine holds these values as OIDs; the encoder
//! asks this for their text when a column announced with one of these types
//! is sent in text. An OID with no name prints as its number, as in
//! PostgreSQL.

use std::collections::HashMap;

use floe_catalog::pg_schema::pg15_catalog;
use floe_catalog::pg_schema::pg15_rows;
use floe_catalog::pg_schema::pg15_rows::quote_ident_as_postgres as quote_ident;
use floe_catalog::pg_schema::virtual_schema::{namespace_oid, relation_oid};
use floe_catalog::Listing;

use crate::codec::types::oid;

/// Names of the relations and schemas a session can see, for printing
/// `regclass` and `regnamespace` values.
#[derive(Debug, Default)]
pub struct RegNames {
    classes: HashMap<u32, String>,
    namespaces: HashMap<u32, String>,
    configs: &'static [(u32, String)],
    dictionaries: &'static [(u32, String)],
}

fn named(objects: &[(u32, String)], value: u32) -> Option<String> {
    objects
        .iter()
        .find(|(o, _)| *o == value)
        .map(|(_, n)| quote_ident(n))
}

impl RegNames {
    /// Names from the catalog's own relations and the lake's schemas and
    /// tables; `path` is the session's search path (schemas in order).
    pub fn new(listing: Option<&Listing>, path: &[String]) -> RegNames {
        let mut names = RegNames {
            configs: pg15_rows::named_objects("pg_ts_config"),
            dictionaries: pg15_rows::named_objects("pg_ts_dict"),
            ..RegNames::default()
        };
        for r in pg15_catalog::all_relations().values() {
            // pg_catalog is always searched; information_schema only when on the path.
            let visible = r.schema == "pg_catalog" || path.iter().any(|s| s == r.schema);
            names
                .classes
                .insert(r.oid, qualified(r.schema, r.name, visible));
        }
        for s in ["pg_catalog", "pg_toast", "public", "information_schema"] {
            names.namespaces.insert(namespace_oid(s), quote_ident(s));
        }
        let Some(listing) = listing else {
            return names;
        };
        for schema in &listing.schemas {
            names
                .namespaces
                .insert(namespace_oid(&schema.name), quote_ident(&schema.name));
            let relations = schema
                .tables
                .iter()
                .chain(&schema.views)
                .chain(schema.parquet.iter().map(|(n, _)| n));
            for table in relations {
                // Visible when the first schema on the path holding that name is this one.
                let first = path.iter().find(|s| {
                    listing.schema(s).is_some_and(|e| {
                        e.tables.contains(table)
                            || e.views.contains(table)
                            || e.parquet.iter().any(|(n, _)| n == table)
                    })
                });
                let visible = first.is_some_and(|s| *s == schema.name);
                names.classes.insert(
                    relation_oid(&schema.name, table),
                    qualified(&schema.name, table, visible),
                );
            }
        }
        names
    }

    /// The text of `value` as a value of OID-alias type `type_oid`; `None`
    /// when it prints as its number.
    pub fn text(&self, type_oid: u32, value: u32) -> Option<String> {
        if value == 0 {
            return Some("-".into());
        }
        match type_oid {
            oid::REGCLASS => self.classes.get(&value).cloned(),
            oid::REGNAMESPACE => self.namespaces.get(&value).cloned(),
            oid::REGTYPE => pg15_rows::format_types().get(&value).cloned(),
            oid::REGPROC => pg15_rows::proc_names().get(&value).cloned(),
            oid::REGPROCEDURE => pg15_rows::procedure_signatures().get(&value).cloned(),
            oid::REGOPER => pg15_rows::operator_names().0.get(&value).cloned(),
            oid::REGOPERATOR => pg15_rows::operator_names().1.get(&value).cloned(),
            oid::REGROLE => named(pg15_rows::roles(), value),
            oid::REGCONFIG => named(self.configs, value),
            oid::REGDICTIONARY => named(self.dictionaries, value),
            _ => None,
        }
    }
}

/// The OID of the type `format_type` names `name` (the reverse of a
/// `regtype`'s text).
pub fn type_oid(name: &[u8]) -> Option<u32> {
    // Built once: the encoder asks for every row of a `pg_typeof` column.
    static BY_NAME: std::sync::OnceLock<HashMap<Vec<u8>, u32>> = std::sync::OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            let mut by_name = HashMap::new();
            for (oid, n) in pg15_rows::format_types() {
                // Of two OIDs with one name, the lowest (as a lookup by name gives).
                let e = by_name.entry(n.as_bytes().to_vec()).or_insert(*oid);
                *e = (*e).min(*oid);
            }
            by_name
        })
        .get(name)
        .copied()
}

/// Whether a column announced as `type_oid` prints names through [`RegNames`].
pub fn prints_names(type_oid: u32) -> bool {
    matches!(
        type_oid,
        oid::REGCLASS
            | oid::REGNAMESPACE
            | oid::REGTYPE
            | oid::REGPROC
            | oid::REGPROCEDURE
            | oid::REGOPER
            | oid::REGOPERATOR
            | oid::REGROLE
            | oid::REGCONFIG
            | oid::REGDICTIONARY
    )
}

fn qualified(schema: &str, name: &str, visible: bool) -> String {
    if visible {
        quote_ident(name)
    } else {
        format!("{}.{}", quote_ident(schema), quote_ident(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_relations_print_by_name() {
        let names = RegNames::new(None, &["public".to_string()]);
        assert_eq!(names.text(oid::REGCLASS, 1259).as_deref(), Some("pg_class"));
        assert_eq!(
            names
                .text(
                    oid::REGCLASS,
                    pg15_catalog::relations()["information_schema.tables"].oid
                )
                .as_deref(),
            Some("information_schema.tables")
        );
        assert_eq!(names.text(oid::REGCLASS, 0).as_deref(), Some("-"));
        assert_eq!(names.text(oid::REGCLASS, 99), None);
        assert_eq!(
            names.text(oid::REGTYPE, 1043).as_deref(),
            Some("character varying")
        );
        assert_eq!(
            names.text(oid::REGPROC, 3).as_deref(),
            Some("heap_tableam_handler")
        );
        assert_eq!(
            names.text(oid::REGNAMESPACE, 2200).as_deref(),
            Some("public")
        );
        assert_eq!(names.text(oid::REGROLE, 10).as_deref(), Some("postgres"));
        assert_eq!(
            names.text(oid::REGDICTIONARY, 3765).as_deref(),
            Some("simple")
        );
    }

    #[test]
    fn identifiers_are_quoted_as_postgres_quotes_them() {
        assert_eq!(quote_ident("orders"), "orders");
        for needs_quotes in ["Orders", "select", "1x"] {
            assert_eq!(quote_ident(needs_quotes), format!("\"{needs_quotes}\""));
        }
    }
}
