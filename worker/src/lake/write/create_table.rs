//! `CREATE TABLE` on a lake schema: the Iceberg schema and partition spec,
//! and what PostgreSQL keeps beside the columns (defaults, `serial` and
//! identity columns with their sequences, CHECK, UNIQUE and PRIMARY KEY), as
//! table properties ([`TableRules`]) and catalog sequences.

use floe_catalog::objects::sequences::{SequenceDef, SequenceOptions as Declared};
use floe_catalog::objects::table_rules::{ForeignKey, Identity, TableRules};
use floe_sql::quote::literal as quote_literal;
use sqlparser::ast::{CreateTable, GeneratedAs, Ident, SequenceOptions};

use super::*;
use crate::lake::stored_expr::{self, Use};

/// A sequence `CREATE TABLE` makes for a `serial` or identity column.
#[derive(Debug)]
pub struct OwnedSequence {
    pub namespace: NamespaceIdent,
    pub name: String,
    pub def: SequenceDef,
}

/// The integer type behind a serial type name, if `declared` is one.
fn serial_type(declared: &str) -> Option<&'static str> {
    match declared.to_ascii_lowercase().as_str() {
        "serial" | "serial4" => Some("integer"),
        "bigserial" | "serial8" => Some("bigint"),
        "smallserial" | "serial2" => Some("smallint"),
        _ => None,
    }
}

/// The sequence options a statement gave, as numbers.
pub(super) fn sequence_options(options: &[SequenceOptions]) -> Result<Declared, PgError> {
    let number = |e: &Expr| -> Result<i64, PgError> {
        let text = e.to_string();
        text.parse().map_err(|_| {
            PgError::new(
                sqlstate::SYNTAX_ERROR,
                format!("sequence option value {text} is not an integer"),
            )
        })
    };
    let mut out = Declared::default();
    for o in options {
        match o {
            SequenceOptions::IncrementBy(e, _) => out.increment = Some(number(e)?),
            SequenceOptions::MinValue(e) => out.min = e.as_ref().map(number).transpose()?,
            SequenceOptions::MaxValue(e) => out.max = e.as_ref().map(number).transpose()?,
            SequenceOptions::StartWith(e, _) => out.start = Some(number(e)?),
            SequenceOptions::Cache(e) => out.cache = Some(number(e)?),
            SequenceOptions::Cycle(no) => out.cycle = !no,
        }
    }
    Ok(out)
}

/// Constraint names as PostgreSQL makes them (`t_v_check`, `t_a_b_key`), a
/// number added when the name is taken.
struct ConstraintNames(Vec<String>);

impl ConstraintNames {
    fn take(
        &mut self,
        given: Option<&Ident>,
        table: &str,
        columns: &[String],
        kind: &str,
    ) -> String {
        if let Some(given) = given {
            let name = fold(given);
            self.0.push(name.clone());
            return name;
        }
        let mut base = vec![table.to_string()];
        base.extend(columns.iter().cloned());
        base.push(kind.to_string());
        let base = base.join("_");
        let mut name = base.clone();
        let mut n = 0;
        while self.0.contains(&name) {
            n += 1;
            name = format!("{base}{n}");
        }
        self.0.push(name.clone());
        name
    }
}

/// The columns a constraint's column list names.
fn index_columns(columns: &[sqlparser::ast::IndexColumn]) -> Result<Vec<String>, PgError> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(id) => Ok(fold(id)),
            other => Err(PgError::new(
                sqlstate::SYNTAX_ERROR,
                format!("constraint column ({other}) must name a column"),
            )),
        })
        .collect()
}

/// The first column an expression names (PostgreSQL names a table CHECK
/// after it).
fn first_column(expr: &Expr, columns: &[String]) -> Option<String> {
    let mut found = None;
    let _ = sqlparser::ast::visit_expressions(expr, |e| {
        if let Expr::Identifier(id) = e {
            let name = fold(id);
            if columns.contains(&name) {
                found = Some(name);
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    found
}

impl LakeReader {
    /// The plan of `CREATE TABLE` (without a query) into lake schema
    /// `namespace`.
    pub(super) fn plan_create_table(
        &self,
        ct: &CreateTable,
        ident: TableIdent,
        listing: &Listing,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<WritePlan, PgError> {
        let table = ident.name().to_string();
        let schema_name = ident.namespace().join(".");
        let partition = match &ct.partition_by {
            Some(e) => partition_columns(e)?,
            None => Vec::new(),
        };
        if ct.or_replace {
            return Err(unsupported("CREATE OR REPLACE TABLE on a lake table"));
        }
        let column_names: Vec<String> = ct.columns.iter().map(|c| fold(&c.name)).collect();
        let mut constraint_names = ConstraintNames(Vec::new());
        let mut rules = TableRules::default();
        let mut primary_key: Vec<String> = Vec::new();
        let mut primary_key_name = None;
        let mut unique: Vec<(String, Vec<String>)> = Vec::new();
        let mut checks: Vec<(String, Expr)> = Vec::new();
        // (name, columns, referenced table, referenced columns)
        let mut foreign: Vec<(String, Vec<String>, ObjectName, Vec<String>)> = Vec::new();
        let mut sequences: Vec<OwnedSequence> = Vec::new();
        let mut defaults: Vec<(usize, String)> = Vec::new();
        let mut columns = Vec::with_capacity(ct.columns.len());
        let mut lengths = Vec::new();
        for (i, c) in ct.columns.iter().enumerate() {
            let name = column_names[i].clone();
            let field_id = i as i32 + 1;
            let declared = c.data_type.to_string();
            let serial = serial_type(&declared);
            let mut required = serial.is_some();
            let mut default: Option<String> = None;
            let mut identity: Option<(Identity, Declared)> = None;
            for o in &c.options {
                match &o.option {
                    ColumnOption::NotNull => required = true,
                    ColumnOption::Null => {}
                    ColumnOption::Unique {
                        is_primary: true, ..
                    } => {
                        if primary_key_name.is_some() {
                            return Err(multiple_primary_keys(&table));
                        }
                        required = true;
                        primary_key.push(name.clone());
                        primary_key_name =
                            Some(constraint_names.take(o.name.as_ref(), &table, &[], "pkey"));
                    }
                    ColumnOption::Unique {
                        is_primary: false, ..
                    } => {
                        let cols = vec![name.clone()];
                        let n = constraint_names.take(o.name.as_ref(), &table, &cols, "key");
                        unique.push((n, cols));
                    }
                    ColumnOption::ForeignKey {
                        foreign_table,
                        referred_columns,
                        ..
                    } => {
                        let cols = vec![name.clone()];
                        let n = constraint_names.take(o.name.as_ref(), &table, &cols, "fkey");
                        let referred = referred_columns.iter().map(fold).collect();
                        foreign.push((n, cols, foreign_table.clone(), referred));
                    }
                    ColumnOption::Default(Expr::Value(v)) if matches!(v.value, Value::Null) => {}
                    ColumnOption::Default(e) => default = Some(e.to_string()),
                    ColumnOption::Check(e) => {
                        let n = constraint_names.take(
                            o.name.as_ref(),
                            &table,
                            std::slice::from_ref(&name),
                            "check",
                        );
                        checks.push((n, e.clone()));
                    }
                    ColumnOption::Generated {
                        generated_as: kind @ (GeneratedAs::Always | GeneratedAs::ByDefault),
                        sequence_options: declared_options,
                        generation_expr: None,
                        ..
                    } => {
                        let kind = match kind {
                            GeneratedAs::Always => Identity::Always,
                            _ => Identity::ByDefault,
                        };
                        let options = declared_options.as_deref().unwrap_or_default();
                        identity = Some((kind, sequence_options(options)?));
                        required = true;
                    }
                    _ => {
                        return Err(unsupported(&format!(
                            "column option {} on a lake table",
                            o.option
                        )))
                    }
                }
            }
            let field_type = match serial {
                Some(int) => schema::from_declared(int)?,
                None => schema::from_declared(&declared)?,
            };
            let sequence_type = match (serial, &identity) {
                (Some(int), _) => Some(int),
                (None, Some(_)) => Some(identity_type(&declared)?),
                (None, None) => None,
            };
            if let Some(int) = sequence_type {
                if default.is_some() {
                    return Err(PgError::new(
                        sqlstate::SYNTAX_ERROR,
                        format!(
                            "multiple default values specified for column \"{name}\" of table \"{table}\""
                        ),
                    ));
                }
                let options = match &identity {
                    Some((kind, options)) => {
                        rules.identity.insert(field_id, *kind);
                        options.clone()
                    }
                    None => Declared::default(),
                };
                let mut def = SequenceDef::new(int, &options).map_err(catalog_error)?;
                def.owned_by = Some((ident.clone(), name.clone()));
                let seq_name = format!("{table}_{name}_seq");
                if listing.has_relation(ident.namespace(), &seq_name) {
                    return Err(PgError::new(
                        sqlstate::DUPLICATE_TABLE,
                        format!("relation \"{seq_name}\" already exists"),
                    ));
                }
                default = Some(format!(
                    "nextval({})",
                    quote_literal(&format!("{schema_name}.{seq_name}"))
                ));
                sequences.push(OwnedSequence {
                    namespace: ident.namespace().clone(),
                    name: seq_name,
                    def,
                });
            }
            if let Some(text) = default {
                defaults.push((i, text));
            }
            // Top-level columns take field ids 1, 2, … (build_schema).
            if let Some(n) = schema::declared_length(&declared) {
                lengths.push((field_id, n));
            }
            columns.push(ColumnSpec {
                field_type,
                name,
                required,
            });
        }
        for c in &ct.constraints {
            match c {
                TableConstraint::PrimaryKey {
                    name,
                    columns: cols,
                    ..
                } => {
                    if primary_key_name.is_some() {
                        return Err(multiple_primary_keys(&table));
                    }
                    primary_key = index_columns(cols)?;
                    primary_key_name =
                        Some(constraint_names.take(name.as_ref(), &table, &[], "pkey"));
                }
                TableConstraint::Unique {
                    name,
                    columns: cols,
                    ..
                } => {
                    let cols = index_columns(cols)?;
                    let n = constraint_names.take(name.as_ref(), &table, &cols, "key");
                    unique.push((n, cols));
                }
                TableConstraint::Check { name, expr, .. } => {
                    let first: Vec<String> =
                        first_column(expr, &column_names).into_iter().collect();
                    let n = constraint_names.take(name.as_ref(), &table, &first, "check");
                    checks.push((n, expr.as_ref().clone()));
                }
                TableConstraint::ForeignKey {
                    name,
                    columns: cols,
                    foreign_table,
                    referred_columns,
                    ..
                } => {
                    let cols: Vec<String> = cols.iter().map(fold).collect();
                    let n = constraint_names.take(name.as_ref(), &table, &cols, "fkey");
                    let referred = referred_columns.iter().map(fold).collect();
                    foreign.push((n, cols, foreign_table.clone(), referred));
                }
                _ => return Err(unsupported("EXCLUDE and index constraints on lake tables")),
            }
        }
        for c in &mut columns {
            if primary_key.contains(&c.name) {
                c.required = true;
            }
        }
        for (_, cols) in &unique {
            for col in cols {
                if !column_names.contains(col) {
                    return Err(PgError::new(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{col}\" named in key does not exist"),
                    ));
                }
            }
        }
        for p in &partition {
            if !column_names.contains(&p.column) {
                return Err(no_column(&p.column, &table));
            }
        }
        // Every stored expression is checked as it will be used, and bound
        // by the engine once, so a type error shows now rather than at the
        // first INSERT.
        let creating: Vec<String> = sequences
            .iter()
            .map(|s| format!("{schema_name}.{}", s.name))
            .collect();
        let sequence = |text: &str| -> Result<String, PgError> {
            if creating.iter().any(|c| c == text) {
                return Ok(text.to_string());
            }
            sequence_named(listing, text, names)
        };
        let probe_row = probe_columns(&columns);
        for (i, text) in &defaults {
            let expr = stored_expr::checked(
                text,
                &Use::Default {
                    sequence: &sequence,
                },
            )?;
            let ty = duck_type(&columns[*i].field_type);
            let stored = stored_expr::stored_form(&expr);
            bind_probe(
                conn,
                &format!(
                    "SELECT CAST(({}) AS {ty})",
                    stored_expr::without_sequence_calls(&expr)
                ),
            )?;
            rules.defaults.insert(*i as i32 + 1, stored);
        }
        for (name, expr) in checks {
            let mut expr = expr;
            stored_expr::check(
                &mut expr,
                &Use::Check {
                    columns: &column_names,
                },
            )?;
            bind_probe(
                conn,
                &format!("SELECT ({expr}) FROM ({probe_row}) AS __floe_probe"),
            )?;
            rules.checks.insert(name, expr.to_string());
        }
        let field_id = |c: &String| {
            column_names
                .iter()
                .position(|n| n == c)
                .map(|i| i as i32 + 1)
        };
        for (name, cols) in unique {
            rules
                .unique
                .insert(name, cols.iter().filter_map(field_id).collect());
        }
        for (name, cols, target, referred) in foreign {
            let key = self.foreign_key(
                &ident,
                (&column_names, &primary_key),
                &cols,
                &target,
                referred,
                listing,
                runtime,
                names,
            )?;
            rules.foreign_keys.insert(name, key);
        }
        rules.primary_key = primary_key_name;
        let schema = schema::build_schema(columns, &primary_key)?;
        let partition = partition_spec(&schema, &partition)?;
        let mut properties = floe_catalog::objects::tables::declared_type_properties(&lengths);
        properties.extend(rules.to_properties());
        Ok(WritePlan::Ddl(LakeDdl::CreateTable {
            ident,
            schema: Box::new(schema),
            partition,
            properties,
            sequences,
            if_not_exists: ct.if_not_exists,
        }))
    }
}

/// The integer type an identity column's declared type names; other types
/// are refused, as in PostgreSQL.
fn identity_type(declared: &str) -> Result<&'static str, PgError> {
    match declared.to_ascii_lowercase().as_str() {
        "smallint" | "int2" => Ok("smallint"),
        "integer" | "int" | "int4" => Ok("integer"),
        "bigint" | "int8" => Ok("bigint"),
        _ => Err(PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            "identity column type must be smallint, integer, or bigint",
        )),
    }
}

impl LakeReader {
    /// A FOREIGN KEY of the new table `ident` (whose columns and primary key
    /// are `own`): the referenced lake table must exist (or be the table
    /// itself) with the referenced columns, its primary key when none are
    /// named, as PostgreSQL requires.
    #[allow(clippy::too_many_arguments)]
    fn foreign_key(
        &self,
        ident: &TableIdent,
        own: (&[String], &[String]),
        columns: &[String],
        target: &ObjectName,
        referred: Vec<String>,
        listing: &Listing,
        runtime: &tokio::runtime::Handle,
        names: &NameContext<'_>,
    ) -> Result<ForeignKey, PgError> {
        let (own_columns, own_key) = own;
        let parts = parts(target);
        let same = match parts.as_slice() {
            [t] => t == ident.name() && resolve(listing, &parts, names).is_none(),
            [s, t] => t == ident.name() && *s == ident.namespace().join("."),
            _ => false,
        };
        let (schema, table, target_columns, target_key) = if same {
            (
                ident.namespace().join("."),
                ident.name().to_string(),
                own_columns.to_vec(),
                own_key.to_vec(),
            )
        } else {
            let found = resolve(listing, &parts, names).ok_or_else(|| {
                PgError::new(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{target}\" does not exist"),
                )
            })?;
            let t = self.table(names.txn, &found, runtime)?;
            let schema = t.metadata().current_schema();
            let cols = schema
                .as_struct()
                .fields()
                .iter()
                .map(|f| f.name.clone())
                .collect();
            let key = schema
                .identifier_field_ids()
                .filter_map(|id| schema.field_by_id(id).map(|f| f.name.clone()))
                .collect();
            (
                found.namespace().join("."),
                found.name().to_string(),
                cols,
                key,
            )
        };
        let referred = if referred.is_empty() {
            if target_key.is_empty() {
                return Err(PgError::new(
                    sqlstate::INVALID_FOREIGN_KEY,
                    format!("there is no primary key for referenced table \"{table}\""),
                ));
            }
            target_key
        } else {
            referred
        };
        for c in &referred {
            if !target_columns.contains(c) {
                return Err(PgError::new(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" referenced in foreign key constraint does not exist"),
                ));
            }
        }
        if referred.len() != columns.len() {
            return Err(PgError::new(
                sqlstate::INVALID_FOREIGN_KEY,
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let mut fields = Vec::new();
        for c in columns {
            let i = own_columns.iter().position(|n| n == c).ok_or_else(|| {
                PgError::new(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" referenced in foreign key constraint does not exist"),
                )
            })?;
            fields.push(i as i32 + 1);
        }
        Ok(ForeignKey {
            fields,
            schema,
            table,
            columns: referred,
        })
    }
}

fn multiple_primary_keys(table: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_TABLE_DEFINITION,
        format!("multiple primary keys for table \"{table}\" are not allowed"),
    )
}

/// A lake sequence a `nextval` argument names (`'s'` through the search path,
/// `'schema.s'`), as its qualified name.
pub(crate) fn sequence_named(
    listing: &Listing,
    text: &str,
    names: &NameContext<'_>,
) -> Result<String, PgError> {
    let parts = floe_sql::spans::split_name(text).unwrap_or_default();
    resolve_with(&parts, names, |schema, name| {
        listing
            .sequence(schema, name)
            .then(|| format!("{schema}.{name}"))
    })
    .ok_or_else(|| {
        PgError::new(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{text}\" does not exist"),
        )
    })
}

/// A one-row relation with the columns' names and types (all NULL), for
/// binding a CHECK over them.
fn probe_columns(columns: &[ColumnSpec]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "CAST(NULL AS {}) AS {}",
                duck_type(&c.field_type),
                quote_ident(&c.name)
            )
        })
        .collect();
    format!("SELECT {}", list.join(", "))
}

/// Runs a probe of a stored expression (over constants or one NULL row: it
/// reads nothing and takes no sequence value), so that a type error shows at
/// CREATE TABLE as in PostgreSQL.
fn bind_probe(conn: &Connection, sql: &str) -> Result<(), PgError> {
    conn.execute_batch(sql)
        .map_err(|e| PgError::from_duckdb(&e.message, None))
}
