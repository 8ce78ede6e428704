//! `ALTER TABLE … ALTER COLUMN … SET DEFAULT / DROP DEFAULT` on a lake table:
//! the default kept in the table's properties changes (checked against the
//! stored-expression allowlist and bound once against the column's type, as
//! at CREATE TABLE); the rows already written keep their values, as in
//! PostgreSQL.

use floe_catalog::objects::table_rules::{default_key, TableRules};
use sqlparser::ast::AlterColumnOperation;

use super::create_table::sequence_named;
use super::*;
use crate::lake::stored_expr::{self, Use};

impl LakeReader {
    /// The plan of an ALTER TABLE whose operations all set or drop column
    /// defaults; `None` when it has any other operation.
    pub(super) fn plan_column_defaults(
        &self,
        ident: &TableIdent,
        operations: &[AlterTableOperation],
        listing: &Listing,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<Option<WritePlan>, PgError> {
        let only_defaults = operations.iter().all(|op| {
            matches!(
                op,
                AlterTableOperation::AlterColumn {
                    op: AlterColumnOperation::SetDefault { .. } | AlterColumnOperation::DropDefault,
                    ..
                }
            )
        });
        if !only_defaults {
            return Ok(None);
        }
        let table = self.table(names.txn, ident, runtime)?;
        let schema = table.metadata().current_schema();
        let rules = TableRules::from_properties(table.metadata().properties());
        let mut set = HashMap::new();
        let mut remove = Vec::new();
        for op in operations {
            let AlterTableOperation::AlterColumn { column_name, op } = op else {
                continue;
            };
            let column = fold(column_name);
            let field = schema
                .field_by_name(&column)
                .ok_or_else(|| no_column(&column, ident.name()))?;
            if rules.identity.contains_key(&field.id) {
                return Err(PgError::new(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "column \"{column}\" of relation \"{}\" is an identity column",
                        ident.name()
                    ),
                )
                .with_hint("Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead."));
            }
            match op {
                AlterColumnOperation::SetDefault { value } => {
                    let sequence = |text: &str| sequence_named(listing, text, names);
                    let expr = stored_expr::checked(
                        &value.to_string(),
                        &Use::Default {
                            sequence: &sequence,
                        },
                    )?;
                    // Bound once against the column's type: a type error shows now.
                    let ty = duck_type(&field.field_type);
                    conn.execute_batch(&format!(
                        "SELECT CAST(({}) AS {ty})",
                        stored_expr::without_sequence_calls(&expr)
                    ))
                    .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                    remove.retain(|k| *k != default_key(field.id));
                    set.insert(default_key(field.id), stored_expr::stored_form(&expr));
                }
                _ => {
                    set.remove(&default_key(field.id));
                    if rules.defaults.contains_key(&field.id) {
                        remove.push(default_key(field.id));
                    }
                }
            }
        }
        Ok(Some(WritePlan::Ddl(LakeDdl::Properties {
            changes: vec![(ident.clone(), set, remove)],
            tag: "ALTER TABLE",
        })))
    }
}
