//! `CREATE INDEX` and `DROP INDEX` on lake tables. A lake table has no index
//! structures: its files are pruned by statistics and partitions. What an
//! index declares is recorded in the table's properties (`floe.index.<name>`)
//! so that `\d`, `pg_indexes`, pgjdbc's `getIndexInfo` and ORMs' reflection
//! show it as PostgreSQL would, and `DROP INDEX` finds it. Uniqueness is
//! recorded, never enforced (the README says so).

use floe_catalog::objects::table_rules::{index_key, index_property, IndexDef, TableRules};
use sqlparser::ast::{CreateIndex, IndexType};

use super::*;
use crate::lake::names::search_path;

/// PostgreSQL's longest identifier (NAMEDATALEN - 1 bytes).
const MAX_NAME_BYTES: usize = 63;

impl LakeReader {
    /// The plan of `CREATE INDEX` on a lake table; `None` for any other table
    /// (a TEMP table's index is the engine's).
    pub(super) fn plan_create_index(
        &self,
        ci: &CreateIndex,
        listing: &Listing,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<WritePlan>, PgError> {
        let Some(ident) = resolve(listing, &parts(&ci.table_name), names) else {
            return Ok(None);
        };
        if ci.predicate.is_some() {
            return Err(unsupported(
                "partial indexes (CREATE INDEX … WHERE) on a lake table",
            ));
        }
        if !ci.include.is_empty() || !ci.with.is_empty() {
            return Err(unsupported(
                "CREATE INDEX … INCLUDE or WITH on a lake table",
            ));
        }
        let table = self.table(names.txn, &ident, runtime)?;
        let schema = table.metadata().current_schema();
        let mut fields = Vec::with_capacity(ci.columns.len());
        let mut column_names = Vec::with_capacity(ci.columns.len());
        for c in &ci.columns {
            let Expr::Identifier(id) = &c.column.expr else {
                return Err(unsupported("index expressions on a lake table"));
            };
            let name = fold(id);
            let field = schema.field_by_name(&name).ok_or_else(|| {
                PgError::new(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{name}\" does not exist"),
                )
            })?;
            fields.push(field.id);
            column_names.push(name);
        }
        if fields.is_empty() {
            return Err(PgError::new(
                sqlstate::SYNTAX_ERROR,
                "syntax error at or near \")\"",
            ));
        }
        let rules = TableRules::from_properties(table.metadata().properties());
        let namespace = ident.namespace().clone();
        let taken = |name: &str| {
            rules.index_names().any(|n| n == name) || listing.has_relation(&namespace, name)
        };
        let name = match &ci.name {
            Some(given) => {
                let given = parts(given);
                let [.., name] = given.as_slice() else {
                    return Err(PgError::new(
                        sqlstate::SYNTAX_ERROR,
                        "an index name was expected",
                    ));
                };
                if taken(name) {
                    if ci.if_not_exists {
                        return Ok(Some(WritePlan::Ddl(LakeDdl::Nothing("CREATE INDEX"))));
                    }
                    return Err(PgError::new(
                        sqlstate::DUPLICATE_TABLE,
                        format!("relation \"{name}\" already exists"),
                    ));
                }
                name.clone()
            }
            None => {
                let suffix = if ci.unique { "key" } else { "idx" };
                chosen_name(ident.name(), &column_names, suffix, &taken)
            }
        };
        let method = match &ci.using {
            None | Some(IndexType::BTree) => "btree".to_string(),
            Some(IndexType::Hash) => "hash".to_string(),
            Some(IndexType::GIN) => "gin".to_string(),
            Some(IndexType::GiST) => "gist".to_string(),
            Some(IndexType::SPGiST) => "spgist".to_string(),
            Some(IndexType::BRIN) => "brin".to_string(),
            Some(other) => {
                return Err(PgError::new(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("access method \"{other}\" does not exist"),
                ))
            }
        };
        if ci.unique && method != "btree" {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("access method \"{method}\" does not support unique indexes"),
            ));
        }
        let index = IndexDef {
            fields,
            unique: ci.unique,
            method,
        };
        Ok(Some(WritePlan::Ddl(LakeDdl::Properties {
            changes: vec![(
                ident,
                HashMap::from([index_property(&name, &index)]),
                Vec::new(),
            )],
            tag: "CREATE INDEX",
        })))
    }

    /// The plan of `DROP INDEX` naming lake tables' indexes; `None` when it
    /// names none (a TEMP table's index is the engine's).
    pub(super) fn plan_drop_index(
        &self,
        index_names: &[ObjectName],
        if_exists: bool,
        listing: &Listing,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<WritePlan>, PgError> {
        let mut changes: Vec<(TableIdent, HashMap<String, String>, Vec<String>)> = Vec::new();
        let mut missing = Vec::new();
        for name in index_names {
            let parts = parts(name);
            let found = resolve_with(&parts, names, |schema, index| {
                self.index_owner(listing, schema, index, runtime, names)
                    .transpose()
            })
            .transpose()?;
            match found {
                Some((ident, rules)) => {
                    let index = parts.last().cloned().unwrap_or_default();
                    if !rules.indexes.contains_key(&index) {
                        // Named as PostgreSQL names objects outside the search path.
                        let schema = ident.namespace().join(".");
                        let shown = |name: &str| match search_path(names).contains(&schema) {
                            true => name.to_string(),
                            false => format!("{schema}.{name}"),
                        };
                        let table = shown(ident.name());
                        return Err(PgError::new(
                            sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!(
                                "cannot drop index {} because constraint {index} on table {table} requires it",
                                shown(&index)
                            ),
                        )
                        .with_hint(format!(
                            "You can drop constraint {index} on table {table} instead."
                        )));
                    }
                    match changes.iter_mut().find(|(t, _, _)| *t == ident) {
                        Some((_, _, removed)) => removed.push(index_key(&index)),
                        None => changes.push((ident, HashMap::new(), vec![index_key(&index)])),
                    }
                }
                None => missing.push(parts),
            }
        }
        if changes.is_empty() && !if_exists {
            // Nothing in the lake: the engine's (TEMP) indexes, or an error there.
            return Ok(None);
        }
        if !missing.is_empty() && !if_exists {
            let name = missing[0].join(".");
            return Err(PgError::new(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{name}\" does not exist"),
            ));
        }
        if changes.is_empty() {
            return Ok(Some(WritePlan::Ddl(LakeDdl::Nothing("DROP INDEX"))));
        }
        Ok(Some(WritePlan::Ddl(LakeDdl::Properties {
            changes,
            tag: "DROP INDEX",
        })))
    }

    /// The lake table of `schema` that has an index (or key) named `index`,
    /// with its rules.
    fn index_owner(
        &self,
        listing: &Listing,
        schema: &str,
        index: &str,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<(TableIdent, TableRules)>, PgError> {
        let Some(entry) = listing.schema(schema) else {
            return Ok(None);
        };
        for table in &entry.tables {
            let ident = TableIdent::new(entry.ident.clone(), table.clone());
            let loaded = self.table(names.txn, &ident, runtime)?;
            let rules = TableRules::from_properties(loaded.metadata().properties());
            if rules.index_names().any(|n| n == index) {
                return Ok(Some((ident, rules)));
            }
        }
        Ok(None)
    }
}

/// An index name as PostgreSQL chooses one: `table_col1_col2_suffix`, cut to
/// 63 bytes (the table and column parts shortened, the suffix kept), with a
/// number appended until no relation of the schema has it.
fn chosen_name(
    table: &str,
    columns: &[String],
    suffix: &str,
    taken: &dyn Fn(&str) -> bool,
) -> String {
    let stem = format!("{table}_{}", columns.join("_"));
    for n in 0u32.. {
        let tail = match n {
            0 => format!("_{suffix}"),
            n => format!("_{suffix}{n}"),
        };
        let mut cut = MAX_NAME_BYTES.saturating_sub(tail.len()).min(stem.len());
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        let name = format!("{}{tail}", &stem[..cut]);
        if !taken(&name) {
            return name;
        }
    }
    unreachable!("some index name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_chosen_as_postgres_chooses_them() {
        let none = |_: &str| false;
        assert_eq!(
            chosen_name("t", &["a".into(), "b".into()], "idx", &none),
            "t_a_b_idx"
        );
        let first_taken = |n: &str| n == "t_a_key";
        assert_eq!(
            chosen_name("t", &["a".into()], "key", &first_taken),
            "t_a_key1"
        );
        let long = "x".repeat(80);
        let name = chosen_name(&long, &["a".into()], "idx", &none);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_idx"));
    }
}
