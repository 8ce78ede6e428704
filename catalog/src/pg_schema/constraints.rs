//! Lake tables' defaults, identity columns, constraints and sequences as
//! PostgreSQL's catalog shows them: `pg_attrdef`, `pg_constraint`, `pg_index`
//! with an index relation in `pg_class` for each primary key and UNIQUE
//! constraint (PostgreSQL backs them with one; Floe records them and does not
//! enforce uniqueness), sequences in `pg_class`, and the definitions
//! `pg_get_constraintdef` and `pg_get_indexdef` return.

use floe_sql::view_definition::{CONSTRAINT_DEFINITIONS_RELATION, INDEX_DEFINITIONS_RELATION};

use crate::objects::table_rules::{names_column, TableRules};
use crate::pg_schema::pg15_rows::quote_ident_as_postgres as quote_ident;
use crate::pg_schema::relations::{RelationKind, TableColumns};
use crate::pg_schema::types::quote_literal;
use crate::pg_schema::virtual_schema::{namespace_oid, relation_oid, stable_oid};

/// The btree access method (`pg_am`).
const BTREE_AM: u32 = 403;

/// What an index relation stands for.
#[derive(Clone, Copy)]
enum IndexKind<'a> {
    PrimaryKey,
    Unique,
    /// Made with CREATE [UNIQUE] INDEX … USING method.
    Plain(bool, &'a str),
}

/// `pg_am`'s OID of an index access method PostgreSQL 15 has built in.
fn access_method(name: &str) -> u32 {
    match name {
        "hash" => 405,
        "gist" => 783,
        "gin" => 2742,
        "spgist" => 4000,
        "brin" => 3580,
        _ => BTREE_AM,
    }
}

/// The rows a set of lake tables adds to the catalog relations.
#[derive(Default)]
pub(crate) struct ConstraintRows {
    pub attrdef: Vec<String>,
    pub constraint: Vec<String>,
    pub index: Vec<String>,
    /// `pg_class` rows of indexes and sequences (same columns as tables').
    pub classes: Vec<String>,
    pub constraint_definitions: Vec<String>,
    pub index_definitions: Vec<String>,
    /// Rows of the `pg_indexes` view.
    pub indexes_view: Vec<String>,
}

/// The columns of `pg_attrdef`, `pg_constraint`, `pg_index` and the two
/// definition relations, with the engine's types.
pub(crate) const ATTRDEF_COLUMNS: &str =
    "oid UINTEGER, adrelid UINTEGER, adnum SMALLINT, adbin VARCHAR";
pub(crate) const CONSTRAINT_COLUMNS: &str = "oid UINTEGER, conname VARCHAR, connamespace UINTEGER, contype VARCHAR, \
     conrelid UINTEGER, confrelid UINTEGER, conkey SMALLINT[], confkey SMALLINT[], conindid UINTEGER, \
     condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, conislocal BOOLEAN, \
     connoinherit BOOLEAN, conbin VARCHAR, confupdtype VARCHAR, confdeltype VARCHAR, \
     confmatchtype VARCHAR, conparentid UINTEGER";
pub(crate) const INDEX_COLUMNS: &str =
    "indexrelid UINTEGER, indrelid UINTEGER, indnatts SMALLINT, \
     indnkeyatts SMALLINT, indisunique BOOLEAN, indisprimary BOOLEAN, indisclustered BOOLEAN, \
     indisvalid BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indimmediate BOOLEAN, \
     indisreplident BOOLEAN, indkey SMALLINT[], indexprs VARCHAR, indpred VARCHAR, \
     indnullsnotdistinct BOOLEAN, indisexclusion BOOLEAN, indcheckxmin BOOLEAN, \
     indoption SMALLINT[], indcollation UINTEGER[], indclass UINTEGER[]";
pub(crate) const CONSTRAINT_DEFINITION_COLUMNS: &str =
    "constraint_oid UINTEGER, definition VARCHAR, pretty_definition VARCHAR";
pub(crate) const INDEXES_VIEW_COLUMNS: &str =
    "schemaname VARCHAR, tablename VARCHAR, indexname VARCHAR, tablespace VARCHAR, indexdef VARCHAR";
pub(crate) const INDEX_DEFINITION_COLUMNS: &str =
    "index_oid UINTEGER, key_number INTEGER, definition VARCHAR";

/// A default as PostgreSQL shows it: `nextval('t_id_seq'::regclass)` for a
/// sequence (its schema named unless it is `public`), the expression for
/// the rest.
pub fn shown_default(stored: &str) -> String {
    let sequence = stored
        .strip_prefix("nextval('")
        .and_then(|s| s.strip_suffix("')"))
        .filter(|s| !s.contains('\''));
    match sequence {
        Some(qualified) => {
            let name = match qualified.split_once('.') {
                Some(("public", name)) => name,
                _ => qualified,
            };
            format!("nextval('{name}'::regclass)")
        }
        None => stored.to_string(),
    }
}

/// `{1,2}`-style list of attribute numbers, as the engine writes a list.
fn key_list(nums: &[i16]) -> String {
    let items: Vec<String> = nums.iter().map(i16::to_string).collect();
    format!("[{}]::SMALLINT[]", items.join(", "))
}

pub(crate) fn rows(tables: &[TableColumns<'_>], sequences: &[(&str, &str)]) -> ConstraintRows {
    let mut out = ConstraintRows::default();
    for t in tables.iter().filter(|t| t.kind == RelationKind::Table) {
        let rel = relation_oid(t.schema, t.table);
        let nsp = namespace_oid(t.schema);
        let fields = t.columns.as_struct().fields();
        let attnum = |id: i32| fields.iter().position(|f| f.id == id).map(|i| i as i16 + 1);
        let column_name = |num: i16| fields[(num - 1) as usize].name.clone();
        let rules: &TableRules = &t.rules;
        for (id, text) in &rules.defaults {
            if let Some(num) = attnum(*id) {
                let oid = stable_oid("attrdef", &format!("{}.{}.{num}", t.schema, t.table));
                out.attrdef.push(format!(
                    "({oid}, {rel}, {num}, {})",
                    quote_literal(&shown_default(text))
                ));
            }
        }
        // Keys: the primary key (the schema's identifier fields), then UNIQUE;
        // then the indexes CREATE INDEX made, which back no constraint.
        let mut keys: Vec<(&str, IndexKind, Vec<i16>)> = Vec::new();
        if let Some(name) = &rules.primary_key {
            let nums: Vec<i16> = t
                .columns
                .identifier_field_ids()
                .filter_map(attnum)
                .collect();
            if !nums.is_empty() {
                keys.push((name, IndexKind::PrimaryKey, nums));
            }
        }
        for (name, ids) in &rules.unique {
            let nums: Vec<i16> = ids.iter().filter_map(|id| attnum(*id)).collect();
            if nums.len() == ids.len() {
                keys.push((name, IndexKind::Unique, nums));
            }
        }
        for (name, index) in &rules.indexes {
            let nums: Vec<i16> = index.fields.iter().filter_map(|id| attnum(*id)).collect();
            if nums.len() == index.fields.len() {
                keys.push((name, IndexKind::Plain(index.unique, &index.method), nums));
            }
        }
        for (name, kind, nums) in keys {
            let qualified = format!("{}.{}", t.schema, name);
            let index = stable_oid("index", &qualified);
            let names: Vec<String> = nums.iter().map(|n| quote_ident(&column_name(*n))).collect();
            let (unique, primary) = match kind {
                IndexKind::PrimaryKey => (true, true),
                IndexKind::Unique => (true, false),
                IndexKind::Plain(unique, _) => (unique, false),
            };
            let constraint = match kind {
                IndexKind::PrimaryKey => Some(("'p'", "PRIMARY KEY")),
                IndexKind::Unique => Some(("'u'", "UNIQUE")),
                IndexKind::Plain(..) => None,
            };
            if let Some((contype, shown)) = constraint {
                let con = stable_oid("constraint", &format!("{}.{}.{name}", t.schema, t.table));
                out.constraint.push(format!(
                    "({con}, {}, {nsp}, {contype}, {rel}, 0, {}, NULL, {index}, false, false, true, true, true, NULL, ' ', ' ', ' ', 0)",
                    quote_literal(name),
                    key_list(&nums),
                ));
                let definition = quote_literal(&format!("{shown} ({})", names.join(", ")));
                out.constraint_definitions
                    .push(format!("({con}, {definition}, {definition})"));
            }
            // Ascending, nulls last, default collation and operator class:
            // what an index declared without options has.
            let zeros = vec!["0"; nums.len()].join(", ");
            out.index.push(format!(
                "({index}, {rel}, {n}, {n}, {unique}, {primary}, false, true, true, true, true, false, {}, NULL, NULL, \
                 false, false, false, [{zeros}]::SMALLINT[], [{zeros}]::UINTEGER[], [{zeros}]::UINTEGER[])",
                key_list(&nums),
                n = nums.len(),
            ));
            let method = match kind {
                IndexKind::Plain(_, method) => method,
                _ => "btree",
            };
            let definition = quote_literal(&format!(
                "CREATE {}INDEX {} ON {}.{} USING {method} ({})",
                if unique { "UNIQUE " } else { "" },
                quote_ident(name),
                quote_ident(t.schema),
                quote_ident(t.table),
                names.join(", ")
            ));
            out.index_definitions
                .push(format!("({index}, 0, {definition})"));
            out.indexes_view.push(format!(
                "({}, {}, {}, NULL, {definition})",
                quote_literal(t.schema),
                quote_literal(t.table),
                quote_literal(name)
            ));
            for (k, column) in names.iter().enumerate() {
                out.index_definitions.push(format!(
                    "({index}, {}, {})",
                    k + 1,
                    quote_literal(column)
                ));
            }
            out.classes.push(class_row(
                index,
                name,
                nsp,
                "'i'",
                nums.len(),
                access_method(method),
            ));
        }
        for (name, expr) in &rules.checks {
            let con = stable_oid("constraint", &format!("{}.{}.{name}", t.schema, t.table));
            let nums: Vec<i16> = fields
                .iter()
                .enumerate()
                .filter(|(_, f)| names_column(expr, &f.name))
                .map(|(i, _)| i as i16 + 1)
                .collect();
            out.constraint.push(format!(
                "({con}, {}, {nsp}, 'c', {rel}, 0, {}, NULL, 0, false, false, true, true, false, {}, ' ', ' ', ' ', 0)",
                quote_literal(name),
                key_list(&nums),
                quote_literal(expr),
            ));
            // PostgreSQL parenthesizes the expression, but for pretty output.
            out.constraint_definitions.push(format!(
                "({con}, {}, {})",
                quote_literal(&format!("CHECK (({expr}))")),
                quote_literal(&format!("CHECK ({expr})"))
            ));
        }
    }
    for t in tables.iter().filter(|t| t.kind == RelationKind::Table) {
        for (name, fk) in &t.rules.foreign_keys {
            let fields = t.columns.as_struct().fields();
            let own: Vec<i16> = fk
                .fields
                .iter()
                .filter_map(|id| {
                    fields
                        .iter()
                        .position(|f| f.id == *id)
                        .map(|i| i as i16 + 1)
                })
                .collect();
            let own_names: Vec<String> = own
                .iter()
                .map(|n| quote_ident(&fields[(*n - 1) as usize].name))
                .collect();
            // The referenced columns' numbers, when the table is listed.
            let target = tables
                .iter()
                .find(|r| r.schema == fk.schema && r.table == fk.table);
            let referenced: Vec<i16> = target
                .map(|r| {
                    let rf = r.columns.as_struct().fields();
                    fk.columns
                        .iter()
                        .filter_map(|c| rf.iter().position(|f| &f.name == c).map(|i| i as i16 + 1))
                        .collect()
                })
                .unwrap_or_default();
            if own.len() != fk.fields.len() {
                continue;
            }
            let con = stable_oid("constraint", &format!("{}.{}.{name}", t.schema, t.table));
            let index = target
                .and_then(|r| r.rules.primary_key.as_ref().map(|k| (r.schema, k)))
                .map_or(0, |(s, k)| stable_oid("index", &format!("{s}.{k}")));
            out.constraint.push(format!(
                "({con}, {}, {}, 'f', {}, {}, {}, {}, {index}, false, false, true, true, true, NULL, 'a', 'a', 's', 0)",
                quote_literal(name),
                namespace_oid(t.schema),
                relation_oid(t.schema, t.table),
                relation_oid(&fk.schema, &fk.table),
                key_list(&own),
                key_list(&referenced),
            ));
            let shown_table = if fk.schema == "public" {
                quote_ident(&fk.table)
            } else {
                format!("{}.{}", quote_ident(&fk.schema), quote_ident(&fk.table))
            };
            let referenced_names: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
            let definition = quote_literal(&format!(
                "FOREIGN KEY ({}) REFERENCES {shown_table}({})",
                own_names.join(", "),
                referenced_names.join(", ")
            ));
            out.constraint_definitions
                .push(format!("({con}, {definition}, {definition})"));
        }
    }
    for (schema, name) in sequences {
        let oid = relation_oid(schema, name);
        out.classes
            .push(class_row(oid, name, namespace_oid(schema), "'S'", 3, 0));
    }
    out
}

/// A `pg_class` row of an index or a sequence, with the columns lake tables'
/// rows have (see `VirtualSchema::build`).
fn class_row(oid: u32, name: &str, nsp: u32, kind: &str, natts: usize, am: u32) -> String {
    format!(
        "({oid}, {}, {nsp}, 0, 0, 10, {am}, {oid}, 0, 0, -1, 0, 0, false, false, 'p', {kind}, {natts}, 0, \
         false, false, false, false, false, true, 'n', false, 0, NULL, NULL)",
        quote_literal(name)
    )
}

/// The relations `pg_get_constraintdef` and `pg_get_indexdef` read for lake
/// objects, by name.
pub(crate) fn definition_relations() -> [(&'static str, &'static str); 2] {
    [
        (
            CONSTRAINT_DEFINITIONS_RELATION,
            CONSTRAINT_DEFINITION_COLUMNS,
        ),
        (INDEX_DEFINITIONS_RELATION, INDEX_DEFINITION_COLUMNS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_show_as_postgres_shows_them() {
        assert_eq!(
            shown_default("nextval('public.t_id_seq')"),
            "nextval('t_id_seq'::regclass)"
        );
        assert_eq!(
            shown_default("nextval('s.t_id_seq')"),
            "nextval('s.t_id_seq'::regclass)"
        );
        assert_eq!(shown_default("now()"), "now()");
    }
}
