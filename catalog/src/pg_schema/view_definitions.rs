//! Lake views' definitions as PostgreSQL gives them back: each view's query
//! analysed against the lake's relations (`floe_sql::view_definition`) and
//! written in `pg_get_viewdef`'s two forms, for `pg_views`,
//! `information_schema.views` and `pg_get_viewdef(v [, pretty])`. A query the
//! analysis does not cover keeps the text its author wrote.

use std::collections::HashMap;

use floe_sql::view_definition::{types::PgType, view_definitions, Definitions, ViewCatalog};

use crate::pg_schema::pg15_rows::quote_ident_as_postgres;
use crate::pg_schema::relations::{RelationKind, TableColumns};
use crate::pg_schema::types::pg_type;

pub use floe_sql::view_definition::VIEW_DEFINITIONS_RELATION as VIEW_DEFINITIONS;

/// The lake's relations as the analysis sees them.
struct LakeRelations<'a, 'b> {
    tables: &'a [TableColumns<'b>],
}

impl LakeRelations<'_, '_> {
    fn columns(t: &TableColumns<'_>) -> Vec<(String, PgType)> {
        t.columns
            .as_struct()
            .fields()
            .iter()
            .map(|f| {
                let (oid, typmod) = match t.lengths.get(&f.id) {
                    Some(n) => (1043, i32::try_from(*n).unwrap_or(i32::MAX - 4) + 4),
                    None => pg_type(&f.field_type),
                };
                (f.name.clone(), PgType { oid, typmod })
            })
            .collect()
    }
}

impl ViewCatalog for LakeRelations<'_, '_> {
    fn relation(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Option<(String, Vec<(String, PgType)>)> {
        let mut found = self
            .tables
            .iter()
            .filter(|t| t.table == name && schema.is_none_or(|s| s == t.schema));
        let t = found.next()?;
        // An unqualified name that more than one schema has: which one the
        // view meant depends on its path, so the analysis stops.
        if found.next().is_some() {
            return None;
        }
        Some((t.schema.to_string(), Self::columns(t)))
    }

    fn relation_name(&self, schema: &str, name: &str) -> String {
        // Qualified unless the default path (`"$user", public`) finds it.
        if schema == "public" {
            quote_ident_as_postgres(name)
        } else {
            format!(
                "{}.{}",
                quote_ident_as_postgres(schema),
                quote_ident_as_postgres(name)
            )
        }
    }

    fn quote_ident(&self, name: &str) -> String {
        quote_ident_as_postgres(name)
    }
}

/// Each lake view's definitions by (schema, name): deparsed where the
/// analysis covers the query, else the query as written (both forms).
pub fn lake_view_definitions(
    tables: &[TableColumns<'_>],
) -> HashMap<(String, String), Definitions> {
    let catalog = LakeRelations { tables };
    tables
        .iter()
        .filter(|t| t.kind == RelationKind::View)
        .map(|t| {
            // As written, with PostgreSQL's names for the router's
            // stand-ins and its divisions written as divisions.
            let restored = floe_sql::stand_ins::restore_pg_names(t.definition.unwrap_or(""));
            let fields = t.columns.as_struct().fields();
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let definitions =
                view_definitions(&restored, &names, &catalog).unwrap_or_else(|| Definitions {
                    plain: restored.clone(),
                    pretty: restored,
                });
            ((t.schema.to_string(), t.table.to_string()), definitions)
        })
        .collect()
}
