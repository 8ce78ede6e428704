//! The virtual Postgres schema: lake namespaces, tables and
//! columns as rows of `pg_catalog` and `information_schema` relations, with
//! stable OIDs derived from names and real Postgres type OIDs. Each relation is
//! rendered as a SQL subquery the worker splices in where a statement names it.

use std::collections::HashMap;

use crate::pg_schema::constraints::{self, ConstraintRows};
use crate::pg_schema::pg15_catalog;
use crate::pg_schema::pg15_rows::{self, BOOTSTRAP_ROLE};
pub use crate::pg_schema::relations::{RelationKind, TableColumns};
use crate::pg_schema::types::{pg_type, quote_ident, quote_literal};
use crate::pg_schema::view_definitions::{lake_view_definitions, VIEW_DEFINITIONS};

/// OIDs of the built-in namespaces, as in PostgreSQL.
const PG_CATALOG_OID: u32 = 11;
const PUBLIC_OID: u32 = 2200;
const PG_TOAST_OID: u32 = 99;
const INFORMATION_SCHEMA_OID: u32 = 13_207;
/// OIDs Floe derives from names start here (Postgres's first user OID).
const FIRST_USER_OID: u32 = 16_384;

/// A stable OID for a named object: the same name gives the same OID on every
/// worker and after every restart.
pub fn stable_oid(kind: &str, name: &str) -> u32 {
    // FNV-1a, 32 bits.
    let mut h: u32 = 0x811c_9dc5;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    FIRST_USER_OID + h % (i32::MAX as u32 - FIRST_USER_OID)
}

/// The OID of a schema: PostgreSQL's for its standard schemas, a stable one
/// for the lake's.
pub fn namespace_oid(name: &str) -> u32 {
    match name {
        "pg_catalog" => PG_CATALOG_OID,
        "pg_toast" => PG_TOAST_OID,
        "public" => PUBLIC_OID,
        "information_schema" => INFORMATION_SCHEMA_OID,
        other => stable_oid("namespace", other),
    }
}

/// The OID of a lake table or view.
pub fn relation_oid(schema: &str, name: &str) -> u32 {
    stable_oid("table", &format!("{schema}.{name}"))
}

/// The OID of a table's or view's row type (`pg_class.reltype`).
pub fn row_type_oid(schema: &str, name: &str) -> u32 {
    stable_oid("row type", &format!("{schema}.{name}"))
}

/// The relation of `(oid, bytes)` the size functions read (not a Postgres
/// catalog: named only by Floe's rewrite of those functions).
pub const RELATION_SIZES: &str = "floe_relation_sizes";

/// `pg_class`'s OID for the catalog of relations (`classoid` in pg_description).
pub const PG_CLASS_OID: u32 = 1259;
/// `pg_rewrite`'s OID (`classid` of a view's dependencies in pg_depend).
const PG_REWRITE_OID: u32 = 2618;

use floe_protocol::types::{oid, BUILTIN_TYPES as TYPES};

/// The SQL data type name information_schema shows for a type OID.
fn sql_type_name(type_oid: u32) -> &'static str {
    match type_oid {
        oid::BOOL => "boolean",
        oid::BYTEA => "bytea",
        oid::INT8 => "bigint",
        oid::INT2 => "smallint",
        oid::INT4 => "integer",
        oid::TEXT => "text",
        oid::JSON => "json",
        oid::VARCHAR => "character varying",
        oid::FLOAT4 => "real",
        oid::FLOAT8 => "double precision",
        oid::DATE => "date",
        oid::TIME => "time without time zone",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::NUMERIC => "numeric",
        oid::UUID => "uuid",
        _ => "ARRAY",
    }
}

fn type_name(oid: u32) -> &'static str {
    TYPES.iter().find(|t| t.0 == oid).map_or("text", |t| t.1)
}

/// Every virtual relation, by name, as a subquery (without alias).
pub struct VirtualSchema {
    relations: HashMap<String, String>,
}

/// A relation Floe fills: its column names and the subquery giving its rows.
struct Filled {
    names: Vec<String>,
    sql: String,
}

/// Relations that exist so that tools' queries bind; Floe has no rows for them
/// yet (indexes, constraints, policies, …): (name, columns with DuckDB types).
const EMPTY_RELATIONS: &[(&str, &str)] = &[
    ("pg_policy", "oid UINTEGER, polname VARCHAR, polrelid UINTEGER, polcmd VARCHAR, polpermissive BOOLEAN, polroles UINTEGER[], polqual VARCHAR, polwithcheck VARCHAR"),
    ("pg_statistic_ext", "oid UINTEGER, stxrelid UINTEGER, stxname VARCHAR, stxnamespace UINTEGER, stxowner UINTEGER, stxstattarget INTEGER, stxkeys VARCHAR, stxkind VARCHAR[]"),
    ("pg_publication", "oid UINTEGER, pubname VARCHAR, pubowner UINTEGER, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN"),
    ("pg_publication_namespace", "oid UINTEGER, pnpubid UINTEGER, pnnspid UINTEGER"),
    ("pg_publication_rel", "oid UINTEGER, prpubid UINTEGER, prrelid UINTEGER, prqual VARCHAR, prattrs SMALLINT[]"),
    ("pg_inherits", "inhrelid UINTEGER, inhparent UINTEGER, inhseqno INTEGER, inhdetachpending BOOLEAN"),
    ("pg_collation", "oid UINTEGER, collname VARCHAR, collnamespace UINTEGER, collowner UINTEGER, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR"),
    ("pg_trigger", "oid UINTEGER, tgrelid UINTEGER, tgparentid UINTEGER, tgname VARCHAR, tgfoid UINTEGER, tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN"),
];

impl VirtualSchema {
    /// Builds every relation from the lake's schemas and tables.
    pub fn build(
        schemas: &[&str],
        tables: &[TableColumns<'_>],
        sequences: &[(&str, &str)],
        database: &str,
    ) -> VirtualSchema {
        let mut relations = HashMap::new();
        let constraint_rows = constraints::rows(tables, sequences);
        let nsp_oid = namespace_oid;
        let mut namespaces: Vec<&str> = vec!["pg_catalog", "public", "information_schema"];
        for s in schemas {
            if !namespaces.contains(s) {
                namespaces.push(s);
            }
        }

        // The standard schemas are PostgreSQL's own rows (pg15_rows); the
        // lake's other schemas follow.
        relations.insert(
            "pg_namespace",
            values(
                "oid UINTEGER, nspname VARCHAR, nspowner UINTEGER, nspacl VARCHAR[]",
                namespaces
                    .iter()
                    .filter(|n| {
                        !matches!(
                            **n,
                            "pg_catalog" | "public" | "information_schema" | "pg_toast"
                        )
                    })
                    .map(|n| format!("({}, {}, 10, NULL)", nsp_oid(n), quote_literal(n)))
                    .collect(),
            ),
        );
        // Tables a FOREIGN KEY references (PostgreSQL's RI triggers sit on
        // both sides: psql lists "Referenced by" when relhastriggers).
        let referenced: Vec<(&str, &str)> = tables
            .iter()
            .flat_map(|t| t.rules.foreign_keys.values())
            .map(|fk| (fk.schema.as_str(), fk.table.as_str()))
            .collect();
        let class_rows = tables
            .iter()
            .map(|t| {
                let oid = relation_oid(t.schema, t.table);
                let row_type = row_type_oid(t.schema, t.table);
                let has_index = t.rules.index_names().next().is_some();
                let has_triggers = !t.rules.foreign_keys.is_empty()
                    || referenced.contains(&(t.schema, t.table));
                format!(
                    "({oid}, {}, {}, {row_type}, 0, 10, {}, {oid}, 0, 0, -1, 0, 0, {has_index}, false, 'p', {}, {}, {}, \
                     {}, {has_triggers}, false, false, false, true, {}, false, 0, NULL, NULL)",
                    quote_literal(t.table),
                    nsp_oid(t.schema),
                    if t.kind == RelationKind::View { 0 } else { 2 },
                    if t.kind == RelationKind::View { "'v'" } else { "'r'" },
                    t.columns.as_struct().fields().len(),
                    t.rules.checks.len(),
                    t.kind == RelationKind::View,
                    // Views have no replica identity.
                    if t.kind == RelationKind::View { "'n'" } else { "'d'" },
                )
            })
            .collect::<Vec<String>>();
        // The catalog's own relations, with PostgreSQL 15's OIDs.
        let catalog_rows = pg15_catalog::all_relations().values().map(|r| {
            let view = r.relkind == "v";
            format!(
                "({}, {}, {}, 0, 0, 10, {}, {}, 0, 0, -1, 0, 0, {}, false, 'p', {}, {}, 0, \
                 {view}, false, false, false, false, true, 'n', false, 0, NULL, NULL)",
                r.oid,
                quote_literal(r.name),
                nsp_oid(r.schema),
                if view { 0 } else { 2 },
                if view { 0 } else { r.oid },
                pg15_rows::has_index(r.oid),
                quote_literal(r.relkind),
                r.columns.len(),
            )
        });
        let class_rows = class_rows
            .into_iter()
            .chain(constraint_rows.classes.iter().cloned())
            .chain(catalog_rows)
            .collect();
        relations.insert(
            "pg_class",
            values_and_local(LOCAL_CLASSES,
                "oid UINTEGER, relname VARCHAR, relnamespace UINTEGER, reltype UINTEGER, reloftype UINTEGER, \
                 relowner UINTEGER, relam UINTEGER, relfilenode UINTEGER, reltablespace UINTEGER, relpages INTEGER, \
                 reltuples REAL, relallvisible INTEGER, reltoastrelid UINTEGER, relhasindex BOOLEAN, relisshared BOOLEAN, \
                 relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, \
                 relhastriggers BOOLEAN, relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, \
                 relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relrewrite UINTEGER, \
                 reloptions VARCHAR[], relpartbound VARCHAR",
                class_rows,
            ),
        );
        // Each table's and view's row type and the array type of it, as
        // PostgreSQL creates them with the relation.
        let type_rows = tables
            .iter()
            .flat_map(|t| {
                let (row_type, array_type) = (
                    row_type_oid(t.schema, t.table),
                    stable_oid("array type", &format!("{}.{}", t.schema, t.table)),
                );
                let relation = relation_oid(t.schema, t.table);
                let namespace = nsp_oid(t.schema);
                [
                    format!(
                        "({row_type}, {}, {namespace}, 10, -1, false, 'c', 'C', false, true, ',', \
                         {relation}, 0, 0, {array_type}, 2290, 2291, 2402, 2403, 0, 0, 0, 'd', 'x', \
                         false, 0, -1, 0, 0)",
                        quote_literal(t.table)
                    ),
                    format!(
                        "({array_type}, {}, {namespace}, 10, -1, false, 'b', 'A', false, true, ',', \
                         0, 6179, {row_type}, 0, 750, 751, 2400, 2401, 0, 0, 3816, 'd', 'x', \
                         false, 0, -1, 0, 0)",
                        quote_literal(&format!("_{}", t.table))
                    ),
                ]
            })
            .collect();
        relations.insert(
            "pg_type",
            values(
                "oid UINTEGER, typname VARCHAR, typnamespace UINTEGER, typowner UINTEGER, \
                 typlen SMALLINT, typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, \
                 typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, typrelid UINTEGER, \
                 typsubscript UINTEGER, typelem UINTEGER, typarray UINTEGER, typinput UINTEGER, \
                 typoutput UINTEGER, typreceive UINTEGER, typsend UINTEGER, typmodin UINTEGER, \
                 typmodout UINTEGER, typanalyze UINTEGER, typalign VARCHAR, typstorage VARCHAR, \
                 typnotnull BOOLEAN, typbasetype UINTEGER, typtypmod INTEGER, typndims INTEGER, \
                 typcollation UINTEGER",
                type_rows,
            ),
        );
        let mut attribute_rows = Vec::new();
        let mut column_rows = Vec::new();
        let mut description_rows = Vec::new();
        for t in tables {
            let rel = relation_oid(t.schema, t.table);
            if let Some(c) = t.comment {
                description_rows.push(format!("({rel}, {PG_CLASS_OID}, 0, {})", quote_literal(c)));
            }
            for (i, f) in t.columns.as_struct().fields().iter().enumerate() {
                let (oid, typmod) = match t.lengths.get(&f.id) {
                    // character varying(n): its modifier is n + 4.
                    Some(n) => (1043, *n as i32 + 4),
                    None => pg_type(&f.field_type),
                };
                let num = i + 1;
                if let Some(doc) = &f.doc {
                    description_rows.push(format!(
                        "({rel}, {PG_CLASS_OID}, {num}, {})",
                        quote_literal(doc)
                    ));
                }
                let len = TYPES.iter().find(|t| t.0 == oid).map_or(-1, |t| t.2);
                let dims = i32::from(TYPES.iter().any(|t| t.0 == oid && t.4 != 0));
                let identity = t.rules.identity.get(&f.id);
                let default = t
                    .rules
                    .defaults
                    .get(&f.id)
                    .map(|d| constraints::shown_default(d));
                attribute_rows.push(format!(
                    "({rel}, {}, {oid}, {num}, {typmod}, {}, {}, false, {}, '', false, 0, {}, {len}, {dims}, {}, -1, {}, '')",
                    quote_literal(&f.name),
                    f.required,
                    default.is_some(),
                    quote_literal(identity.map_or("", |i| i.code())),
                    if matches!(oid, 25 | 1043) { 100 } else { 0 },
                    len > 0 && len <= 8,
                    // As the type is stored (numeric in main, text extended, …).
                    quote_literal(pg15_rows::type_storage(oid).unwrap_or(if len > 0 { "p" } else { "x" })),
                ));
                let (precision, scale) = match oid {
                    oid::NUMERIC if typmod > 4 => (
                        ((typmod - 4) >> 16).to_string(),
                        ((typmod - 4) & 0xffff).to_string(),
                    ),
                    oid::INT8 => ("64".into(), "0".into()),
                    oid::INT4 => ("32".into(), "0".into()),
                    oid::FLOAT4 => ("24".into(), "NULL".into()),
                    oid::FLOAT8 => ("53".into(), "NULL".into()),
                    _ => ("NULL".into(), "NULL".into()),
                };
                let radix = match oid {
                    oid::NUMERIC if typmod > 4 => "10",
                    oid::INT8 | oid::INT4 | oid::FLOAT4 | oid::FLOAT8 => "2",
                    _ => "NULL",
                };
                // Characters at most, and bytes (four per character in UTF8;
                // PostgreSQL's limit of a value when the type has none).
                let (max_chars, max_bytes) = match (oid, t.lengths.get(&f.id)) {
                    (1043, Some(n)) => (n.to_string(), (u64::from(*n) * 4).to_string()),
                    (25 | 1043, _) => ("NULL".to_string(), "1073741824".to_string()),
                    _ => ("NULL".to_string(), "NULL".to_string()),
                };
                // Identity columns show no default, as in PostgreSQL.
                let column_default = match (identity, &default) {
                    (None, Some(d)) => quote_literal(d),
                    _ => "NULL".to_string(),
                };
                column_rows.push(format!(
                    "({}, {}, {}, {}, {num}, {column_default}, {}, {}, {max_chars}, {max_bytes}, {precision}, {radix}, {scale}, {}, {}, 'pg_catalog', {}, {}, 'NEVER', {})",
                    quote_literal(database),
                    quote_literal(t.schema),
                    quote_literal(t.table),
                    quote_literal(&f.name),
                    quote_literal(if f.required { "NO" } else { "YES" }),
                    quote_literal(sql_type_name(oid)),
                    if matches!(oid, 1082 | 1083 | 1114 | 1184) { "6" } else { "NULL" },
                    quote_literal(database),
                    quote_literal(type_name(oid)),
                    if identity.is_some() { "'YES'" } else { "'NO'" },
                    if t.kind == RelationKind::View { "'NO'" } else { "'YES'" },
                ));
            }
        }
        relations.insert(
            "pg_attribute",
            values(
                "attrelid UINTEGER, attname VARCHAR, atttypid UINTEGER, attnum SMALLINT, atttypmod INTEGER, \
                 attnotnull BOOLEAN, atthasdef BOOLEAN, attisdropped BOOLEAN, attidentity VARCHAR, \
                 attgenerated VARCHAR, attislocal BOOLEAN, attinhcount INTEGER, attcollation UINTEGER, \
                 attlen SMALLINT, attndims INTEGER, attbyval BOOLEAN, attstattarget INTEGER, \
                 attstorage VARCHAR, attcompression VARCHAR",
                attribute_rows,
            ),
        );
        // The session's database, with PostgreSQL 15's columns (psql's `\l`).
        relations.insert(
            "pg_database",
            values(
                "oid UINTEGER, datname VARCHAR, datdba UINTEGER, encoding INTEGER, \
                 datlocprovider VARCHAR, datistemplate BOOLEAN, datallowconn BOOLEAN, \
                 datconnlimit INTEGER, datfrozenxid UINTEGER, datminmxid UINTEGER, \
                 dattablespace UINTEGER, datcollate VARCHAR, datctype VARCHAR, \
                 daticulocale VARCHAR, datcollversion VARCHAR, datacl VARCHAR[]",
                vec![format!(
                    "({}, {}, 10, 6, 'c', false, true, -1, 0, 1, 1663, 'C', 'C', NULL, NULL, NULL)",
                    stable_oid("database", database),
                    quote_literal(database)
                )],
            ),
        );
        for (name, columns) in EMPTY_RELATIONS {
            relations.insert(name, values(columns, Vec::new()));
        }
        let ConstraintRows {
            attrdef,
            constraint,
            index,
            constraint_definitions,
            index_definitions,
            indexes_view,
            ..
        } = constraint_rows;
        relations.insert(
            "pg_indexes",
            values(constraints::INDEXES_VIEW_COLUMNS, indexes_view),
        );
        relations.insert("pg_attrdef", values(constraints::ATTRDEF_COLUMNS, attrdef));
        relations.insert(
            "pg_constraint",
            values(constraints::CONSTRAINT_COLUMNS, constraint),
        );
        relations.insert("pg_index", values(constraints::INDEX_COLUMNS, index));
        let [(constraint_defs, constraint_def_columns), (index_defs, index_def_columns)] =
            constraints::definition_relations();
        relations.insert(
            constraint_defs,
            values(constraint_def_columns, constraint_definitions),
        );
        relations.insert(index_defs, values(index_def_columns, index_definitions));
        // The session's open cursors, which the session publishes as the
        // table macro `floe_cursors()`.
        relations.insert(
            "pg_cursors",
            Filled {
                names: [
                    "name",
                    "statement",
                    "is_holdable",
                    "is_binary",
                    "is_scrollable",
                    "creation_time",
                ]
                .map(String::from)
                .to_vec(),
                sql: "(SELECT * FROM floe_cursors())".to_string(),
            },
        );
        relations.insert(
            "pg_description",
            values(
                "objoid UINTEGER, classoid UINTEGER, objsubid INTEGER, description VARCHAR",
                description_rows,
            ),
        );
        let of_kind = |kind: RelationKind| tables.iter().filter(move |t| t.kind == kind);
        relations.insert(
            "pg_tables",
            values_and_local(
                LOCAL_TABLES,
                "schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR, tablespace VARCHAR, \
                 hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN, rowsecurity BOOLEAN",
                of_kind(RelationKind::Table)
                    .map(|t| {
                        format!(
                            "({}, {}, '{BOOTSTRAP_ROLE}', NULL, false, false, false, false)",
                            quote_literal(t.schema),
                            quote_literal(t.table)
                        )
                    })
                    .collect(),
            ),
        );
        // Views' definitions as PostgreSQL deparses them (pg_get_viewdef's
        // two forms).
        let definitions = lake_view_definitions(tables);
        let definition_of = |t: &TableColumns<'_>| {
            definitions
                .get(&(t.schema.to_string(), t.table.to_string()))
                .map(|d| (d.plain.as_str(), d.pretty.as_str()))
                .unwrap_or_default()
        };
        relations.insert(
            "pg_views",
            values_and_local(
                LOCAL_VIEWS,
                "schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR, definition VARCHAR",
                of_kind(RelationKind::View)
                    .map(|t| {
                        format!(
                            "({}, {}, '{BOOTSTRAP_ROLE}', {})",
                            quote_literal(t.schema),
                            quote_literal(t.table),
                            quote_literal(definition_of(t).0)
                        )
                    })
                    .collect(),
            ),
        );
        relations.insert(
            VIEW_DEFINITIONS,
            values(
                "view_oid UINTEGER, definition VARCHAR, pretty_definition VARCHAR",
                of_kind(RelationKind::View)
                    .map(|t| {
                        let (plain, pretty) = definition_of(t);
                        format!(
                            "({}, {}, {})",
                            relation_oid(t.schema, t.table),
                            quote_literal(plain),
                            quote_literal(pretty)
                        )
                    })
                    .collect(),
            ),
        );
        // A view is a `_RETURN` rule: pg_depend ties the rule to its view
        // (internal) and to every relation the view reads (normal), as in Postgres.
        let mut rewrite_rows = Vec::new();
        let mut depend_rows = Vec::new();
        for t in of_kind(RelationKind::View) {
            let view = relation_oid(t.schema, t.table);
            let rule = stable_oid("rule", &format!("{}.{}", t.schema, t.table));
            rewrite_rows.push(format!("({rule}, '_RETURN', {view}, '1', 'O', true)"));
            depend_rows.push(format!(
                "({PG_REWRITE_OID}, {rule}, 0, {PG_CLASS_OID}, {view}, 0, 'i')"
            ));
            for (schema, name) in &t.depends_on {
                let referenced = stable_oid("table", &format!("{schema}.{name}"));
                depend_rows.push(format!(
                    "({PG_REWRITE_OID}, {rule}, 0, {PG_CLASS_OID}, {referenced}, 0, 'n')"
                ));
            }
        }
        relations.insert(
            "pg_rewrite",
            values(
                "oid UINTEGER, rulename VARCHAR, ev_class UINTEGER, ev_type VARCHAR, ev_enabled VARCHAR, \
                 is_instead BOOLEAN",
                rewrite_rows,
            ),
        );
        relations.insert(
            "pg_depend",
            values(
                "classid UINTEGER, objid UINTEGER, objsubid INTEGER, refclassid UINTEGER, \
                 refobjid UINTEGER, refobjsubid INTEGER, deptype VARCHAR",
                depend_rows,
            ),
        );
        relations.insert(
            RELATION_SIZES,
            values(
                "oid UINTEGER, bytes BIGINT",
                tables
                    .iter()
                    .filter_map(|t| {
                        t.size_bytes.map(|b| {
                            let oid = relation_oid(t.schema, t.table);
                            format!("({oid}, {b})")
                        })
                    })
                    .collect(),
            ),
        );
        relations.insert(
            "pg_matviews",
            values(
                "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, \
                 hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
                Vec::new(),
            ),
        );
        relations.insert(
            "information_schema.views",
            values(
                "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR, \
                 check_option VARCHAR, is_updatable VARCHAR, is_insertable_into VARCHAR, \
                 is_trigger_updatable VARCHAR, is_trigger_deletable VARCHAR, is_trigger_insertable_into VARCHAR",
                of_kind(RelationKind::View)
                    .map(|t| {
                        format!(
                            "({}, {}, {}, {}, 'NONE', 'NO', 'NO', 'NO', 'NO', 'NO')",
                            quote_literal(database),
                            quote_literal(t.schema),
                            quote_literal(t.table),
                            quote_literal(definition_of(t).0)
                        )
                    })
                    .collect(),
            ),
        );
        relations.insert(
            "information_schema.schemata",
            values(
                "catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR, \
                 default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR, \
                 default_character_set_name VARCHAR, sql_path VARCHAR",
                namespaces
                    .iter()
                    .map(|n| {
                        format!(
                            "({}, {}, '{BOOTSTRAP_ROLE}', NULL, NULL, NULL, NULL)",
                            quote_literal(database),
                            quote_literal(n)
                        )
                    })
                    .collect(),
            ),
        );
        relations.insert(
            "information_schema.tables",
            values(
                "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, \
                 self_referencing_column_name VARCHAR, reference_generation VARCHAR, \
                 user_defined_type_catalog VARCHAR, user_defined_type_schema VARCHAR, \
                 user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR, commit_action VARCHAR",
                tables
                    .iter()
                    .map(|t| {
                        format!(
                            "({}, {}, {}, {}, NULL, NULL, NULL, NULL, NULL, {}, 'NO', NULL)",
                            quote_literal(database),
                            quote_literal(t.schema),
                            quote_literal(t.table),
                            if t.kind == RelationKind::View { "'VIEW'" } else { "'BASE TABLE'" },
                            if t.kind == RelationKind::View { "'NO'" } else { "'YES'" },
                        )
                    })
                    .collect(),
            ),
        );
        relations.insert(
            "information_schema.columns",
            values_and_local(
                &local_columns(database),
                "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, \
                 ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, \
                 character_maximum_length INTEGER, character_octet_length INTEGER, numeric_precision INTEGER, \
                 numeric_precision_radix INTEGER, numeric_scale INTEGER, datetime_precision INTEGER, \
                 udt_catalog VARCHAR, udt_schema VARCHAR, udt_name VARCHAR, is_identity VARCHAR, \
                 is_generated VARCHAR, is_updatable VARCHAR",
                column_rows,
            ),
        );
        VirtualSchema {
            relations: postgres_shaped(relations),
        }
    }

    /// The subquery for `pg_catalog` relation `name` or `information_schema.name`.
    pub fn relation(&self, schema: Option<&str>, name: &str) -> Option<&str> {
        self.relations
            .get(relation_key(schema, name)?.as_str())
            .map(String::as_str)
    }

    /// [`VirtualSchema::relation`] with PostgreSQL's system column `tableoid`
    /// (the relation's own OID) after its columns, for statements that read it
    /// (psql's `\dd` joins comments on `classoid = tableoid`).
    pub fn relation_with_tableoid(&self, schema: Option<&str>, name: &str) -> Option<String> {
        let key = relation_key(schema, name)?;
        let sql = self.relations.get(key.as_str())?;
        // Floe's own relations (no PostgreSQL catalog) have no tableoid.
        let Some(oid) = pg15_catalog::relations().get(&key).map(|r| r.oid) else {
            return Some(sql.clone());
        };
        Some(format!(
            "(SELECT *, CAST({oid} AS UINTEGER) AS tableoid FROM {sql} AS floe_system)"
        ))
    }

    /// Whether a word may name one of the relations (a cheap pre-check).
    pub fn mentions(word: &str) -> bool {
        word == "pg_catalog"
            || word == "information_schema"
            || pg15_catalog::is_catalog_relation(word)
            || EMPTY_RELATIONS.iter().any(|(n, _)| *n == word)
    }
}

/// The key of a catalog relation named `name` in `schema` (`pg_class`,
/// `information_schema.columns`).
fn relation_key(schema: Option<&str>, name: &str) -> Option<String> {
    match schema {
        Some("information_schema") => Some(format!("information_schema.{name}")),
        Some("pg_catalog") | None => Some(name.to_string()),
        Some(_) => None,
    }
}

/// Tables and views in the worker's own DuckDB catalog (temporary tables, and
/// tables created outside the lake) are listed too, in schema `public`; the
/// engine's own catalog views are not, nor the session tables holding open
/// cursors' rows (temporary `floe_cursor_n`), nor the tables of PostgreSQL's
/// built-in rows (`pg15_rows::BUILTIN_DATABASE`).
const LOCAL_CLASSES: &str = "SELECT oid::UINTEGER, relname, 2200::UINTEGER, 0, 0, 10, 2, oid::UINTEGER, 0, 0, -1, 0, 0, \
     false, false, 'p', relkind, relnatts, 0, false, false, false, false, false, true, 'd', false, 0, NULL, NULL \
     FROM pg_catalog.pg_class WHERE relkind IN ('r', 'v') AND oid IN \
     (SELECT table_oid FROM duckdb_tables() WHERE NOT internal AND database_name <> 'floe_pg15' \
      AND NOT (temporary AND starts_with(table_name, 'floe_cursor_')) \
      UNION ALL SELECT view_oid FROM duckdb_views() WHERE NOT internal)";

/// The columns of the session's own tables and views (temporary ones in
/// `pg_temp`), with Postgres type names.
fn local_columns(database: &str) -> String {
    const PG_NAMES: &[(&str, &str, &str)] = &[
        ("INTEGER", "integer", "int4"),
        ("BIGINT", "bigint", "int8"),
        ("SMALLINT", "smallint", "int2"),
        ("TINYINT", "smallint", "int2"),
        ("VARCHAR", "text", "text"),
        ("DOUBLE", "double precision", "float8"),
        ("FLOAT", "real", "float4"),
        ("BOOLEAN", "boolean", "bool"),
        ("DATE", "date", "date"),
        ("TIMESTAMP", "timestamp without time zone", "timestamp"),
        (
            "TIMESTAMP WITH TIME ZONE",
            "timestamp with time zone",
            "timestamptz",
        ),
        ("TIME", "time without time zone", "time"),
        ("INTERVAL", "interval", "interval"),
        ("UUID", "uuid", "uuid"),
        ("BLOB", "bytea", "bytea"),
        ("JSON", "json", "json"),
        ("HUGEINT", "numeric", "numeric"),
    ];
    let case = |pick: fn(&(&'static str, &'static str, &'static str)) -> &'static str,
                decimal: &str,
                array: &str| {
        let arms: Vec<String> = PG_NAMES
            .iter()
            .map(|t| format!("WHEN '{}' THEN '{}'", t.0, pick(t)))
            .collect();
        format!(
            "CASE data_type {} ELSE CASE WHEN data_type LIKE 'DECIMAL%' THEN '{decimal}' \
             WHEN data_type LIKE '%[]' THEN '{array}' ELSE lower(data_type) END END",
            arms.join(" ")
        )
    };
    format!(
        "SELECT {db}, CASE WHEN database_name = 'temp' THEN 'pg_temp' WHEN schema_name = 'main' \
         THEN 'public' ELSE schema_name END, table_name, column_name, column_index, column_default, \
         CASE WHEN is_nullable THEN 'YES' ELSE 'NO' END, {data_type}, NULL, NULL, numeric_precision, \
         numeric_precision_radix, numeric_scale, NULL, {db}, 'pg_catalog', {udt}, 'NO', 'NEVER', 'YES' \
         FROM duckdb_columns() WHERE NOT internal AND database_name <> 'floe_pg15' \
         AND schema_name NOT IN ('pg_catalog', 'information_schema') \
         AND NOT (database_name = 'temp' AND starts_with(table_name, 'floe_cursor_'))",
        db = quote_literal(database),
        data_type = case(|t| t.1, "numeric", "ARRAY"),
        udt = case(|t| t.2, "numeric", "_text"),
    )
}

/// The session's own tables (DuckDB schema `main`, shown as `public`), owned
/// like everything by [`BOOTSTRAP_ROLE`].
const LOCAL_TABLES: &str = "SELECT CASE schemaname WHEN 'main' THEN 'public' ELSE schemaname END, \
     tablename, 'postgres', NULL, false, false, false, false FROM pg_catalog.pg_tables \
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \
     AND (schemaname, tablename) IN (SELECT (schema_name, table_name) FROM duckdb_tables() \
     WHERE NOT internal AND database_name <> 'floe_pg15' AND NOT (temporary AND starts_with(table_name, 'floe_cursor_')))";

/// The session's own views, owned by [`BOOTSTRAP_ROLE`].
const LOCAL_VIEWS: &str = "SELECT CASE schemaname WHEN 'main' THEN 'public' ELSE schemaname END, \
     viewname, 'postgres', definition FROM pg_catalog.pg_views \
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \
     AND (schemaname, viewname) IN (SELECT (schema_name, view_name) FROM duckdb_views() WHERE NOT internal)";

/// [`values`] followed by rows from DuckDB's own catalog (`local`, a SELECT with
/// the same columns in the same order).
fn values_and_local(local: &str, columns: &str, rows: Vec<String>) -> Filled {
    let lake = values(columns, rows);
    Filled {
        sql: format!("(SELECT * FROM {} AS lake UNION ALL {local})", lake.sql),
        names: lake.names,
    }
}

/// Every PostgreSQL 15 catalog relation with PostgreSQL's columns, filled from
/// `filled` where Floe has rows; Floe's own relations (not in PostgreSQL) as
/// they are.
fn postgres_shaped(mut filled: HashMap<&'static str, Filled>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (name, relation) in pg15_catalog::relations() {
        let columns = &relation.columns;
        let floe = filled
            .remove(name.as_str())
            .map(|f| pg15_catalog::shaped(columns, Some((f.names.as_slice(), f.sql.as_str()))));
        let builtin = pg15_rows::builtin_relation(name);
        if name == "pg_settings" {
            out.insert(name.clone(), settings_relation(columns));
            continue;
        }
        let sql = match (floe, builtin) {
            (Some(floe), Some(builtin)) => format!(
                "(SELECT * FROM {floe} AS floe_objects UNION ALL SELECT * FROM {builtin} AS floe_initdb)"
            ),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => pg15_catalog::shaped(columns, None),
        };
        out.insert(name.clone(), sql);
    }
    out.extend(filled.into_iter().map(|(k, f)| (k.to_string(), f.sql)));
    out
}

/// The session macro listing the session's own parameters (name, value as
/// SHOW writes it, value in the parameter's base unit, source, reset value in
/// the base unit), which the session
/// publishes before a statement reads `pg_settings` or `current_setting(x)`.
pub const SESSION_SETTINGS: &str = "floe_session_settings()";

/// `pg_settings`: PostgreSQL 15's parameters at their defaults, with the
/// session's value, its source and its reset value for those the session
/// holds.
fn settings_relation(columns: &[pg15_catalog::CatalogColumn]) -> String {
    let select: Vec<String> = columns
        .iter()
        .map(|c| match c.name {
            "setting" => "COALESCE(floe_s.setting, floe_b.setting) AS setting".to_string(),
            "source" | "reset_val" => format!("COALESCE(floe_s.{0}, floe_b.{0}) AS {0}", c.name),
            name => format!("floe_b.{}", quote_ident(name)),
        })
        .collect();
    format!(
        "(SELECT {} FROM {}.main.pg_settings floe_b LEFT JOIN {SESSION_SETTINGS} floe_s \
         ON lower(floe_s.name) = lower(floe_b.name))",
        select.join(", "),
        pg15_rows::BUILTIN_DATABASE
    )
}

/// A typed relation: `(SELECT … FROM (VALUES …))`, or an empty one.
fn values(columns: &str, rows: Vec<String>) -> Filled {
    let defs: Vec<(&str, &str)> = columns
        .split(',')
        .map(|c| {
            let c = c.trim();
            c.split_once(' ').unwrap_or((c, "VARCHAR"))
        })
        .collect();
    let names: Vec<&str> = defs.iter().map(|d| d.0).collect();
    let owned_names = names.iter().map(|n| n.to_string()).collect();
    let casts: Vec<String> = defs
        .iter()
        .map(|(n, t)| format!("CAST({n} AS {t}) AS {n}"))
        .collect();
    if rows.is_empty() {
        let nulls: Vec<String> = defs
            .iter()
            .map(|(n, t)| format!("CAST(NULL AS {t}) AS {n}"))
            .collect();
        return Filled {
            names: owned_names,
            sql: format!("(SELECT {} LIMIT 0)", nulls.join(", ")),
        };
    }
    Filled {
        names: owned_names,
        sql: format!(
            "(SELECT {} FROM (VALUES {}) AS v({}))",
            casts.join(", "),
            rows.join(", "),
            names.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_objects_have_the_bootstrap_owner() {
        for sql in [LOCAL_TABLES, LOCAL_VIEWS] {
            assert!(sql.contains(&format!("'{BOOTSTRAP_ROLE}'")), "{sql}");
        }
        let builtin = format!("database_name <> '{}'", pg15_rows::BUILTIN_DATABASE);
        for sql in [LOCAL_CLASSES, LOCAL_TABLES, &local_columns("floe")] {
            assert!(sql.contains(&builtin), "{sql}");
        }
    }

    #[test]
    fn oids_are_stable_and_in_the_user_range() {
        let a = stable_oid("table", "sales.orders");
        assert_eq!(a, stable_oid("table", "sales.orders"));
        assert_ne!(a, stable_oid("table", "sales.order"));
        assert_ne!(a, stable_oid("namespace", "sales.orders"));
        assert!(a >= FIRST_USER_OID && a < i32::MAX as u32);
    }

    #[test]
    fn relations_resolve_by_schema() {
        let v = VirtualSchema::build(&["sales"], &[], &[], "floe");
        assert!(v.relation(Some("pg_catalog"), "pg_class").is_some());
        assert!(v
            .relation(None, "pg_namespace")
            .expect("ns")
            .contains("'sales'"));
        assert!(v.relation(Some("information_schema"), "tables").is_some());
        assert!(v.relation(Some("sales"), "pg_class").is_none());
        // Every PostgreSQL 15 column, typed as PostgreSQL types it.
        assert!(v
            .relation_with_tableoid(Some("pg_catalog"), "pg_class")
            .expect("pg_class")
            .contains("CAST(1259 AS UINTEGER) AS tableoid"));
        let index = v.relation(None, "pg_index").expect("pg_index");
        assert!(index.contains("LIMIT 0)"), "{index}");
        assert!(index.contains("AS SMALLINT[]) AS \"indkey\""), "{index}");
        assert!(index.contains("AS \"indisexclusion\""), "{index}");
        // Built-in rows come from the tables made once per engine.
        let opclass = v.relation(None, "pg_opclass").expect("pg_opclass");
        assert_eq!(opclass, "(SELECT * FROM floe_pg15.main.pg_opclass)");
        let namespaces = v.relation(None, "pg_namespace").expect("pg_namespace");
        assert!(
            namespaces
                .contains("UNION ALL SELECT * FROM (SELECT * FROM floe_pg15.main.pg_namespace)"),
            "{namespaces}"
        );
        assert!(v.relation(None, "duckdb_tables").is_none());
    }
}
