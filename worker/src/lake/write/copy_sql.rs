//! The engine SQL that writes a statement's rows as Parquet: `COPY (SELECT …)
//! TO` the staging directory with the table's field ids, and the position
//! deletes of the rows a DELETE or UPDATE touches.

use super::*;
use crate::lake::partition as lake_partition;
use crate::lake::stored_expr::{self, Use};
use floe_catalog::objects::table_rules::{Identity, TableRules};

/// A stored default as the engine runs it: checked against the allowlist,
/// its sequence named in full (as `CREATE TABLE` stored it).
fn stored_default(text: &str) -> Result<String, PgError> {
    let qualified = |name: &str| -> Result<String, PgError> {
        match floe_sql::spans::split_name(name).as_deref() {
            Some([_, _]) => Ok(name.to_string()),
            _ => Err(PgError::new(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )),
        }
    };
    Ok(stored_expr::checked(
        text,
        &Use::Default {
            sequence: &qualified,
        },
    )?
    .to_string())
}

/// INSERT of a value into a `GENERATED ALWAYS` identity column.
pub(super) fn generated_always(column: &str) -> PgError {
    PgError::new(
        sqlstate::GENERATED_ALWAYS,
        format!("cannot insert a non-DEFAULT value into column \"{column}\""),
    )
    .with_detail(format!(
        "Column \"{column}\" is an identity column defined as GENERATED ALWAYS."
    ))
    .with_hint("Use OVERRIDING SYSTEM VALUE to override.")
}

/// The rows a DELETE or UPDATE changes: the target as written (name and
/// alias) and its WHERE clause.
pub(super) struct RowsScan {
    /// How the select list names the target.
    pub(super) qualifier: String,
    pub(super) from: String,
    pub(super) condition: String,
}

impl RowsScan {
    /// `joined`: other tables the statement joins (UPDATE … FROM, DELETE … USING).
    pub(super) fn new(
        ident: &TableIdent,
        name: &ObjectName,
        alias: Option<&TableAlias>,
        sql: &str,
        tokens: &[Token],
        joined: Option<String>,
    ) -> RowsScan {
        let (qualifier, mut from) = match alias {
            Some(a) => (quote_ident(&fold(&a.name)), format!("{name} AS {}", a.name)),
            None => (quote_ident(ident.name()), name.to_string()),
        };
        if let Some(j) = joined {
            from = format!("{from}, {j}");
        }
        RowsScan {
            qualifier,
            from,
            condition: where_text(sql, tokens).unwrap_or_else(|| "true".to_string()),
        }
    }

    /// `SELECT [modifier] file, position[, columns] FROM target WHERE condition`.
    pub(super) fn select(&self, modifier: &str, columns: &[String]) -> String {
        let q = &self.qualifier;
        let mut list = vec![
            format!("{q}.{}", scan_sql::FILE_COLUMN),
            format!("{q}.{}", scan_sql::POS_COLUMN),
        ];
        list.extend_from_slice(columns);
        format!(
            "SELECT {modifier} {} FROM {} WHERE {}",
            list.join(", "),
            self.from,
            self.condition
        )
    }
}

/// `COPY` of the positions `query` yields (`FILE_COLUMN`, `POS_COLUMN`) as
/// position delete files under `staged`, one directory per data file.
pub(super) fn deletes_copy(query: &str, staged: &Path) -> String {
    format!(
        "COPY (SELECT {file} AS file_path, {pos} AS pos, sha256({file}) AS __floe_f \
         FROM ({query}) AS __floe_deleted ORDER BY 1, 2) TO '{dir}' \
         (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (__floe_f), \
         FIELD_IDS {{'file_path': {DELETE_FILE_PATH_ID}, 'pos': {DELETE_POS_ID}}}, \
         FILENAME_PATTERN 'delete_{{uuid}}')",
        file = scan_sql::FILE_COLUMN,
        pos = scan_sql::POS_COLUMN,
        dir = staged.display().to_string().replace('\'', "''"),
    )
}

/// Who writes rows through [`insert_copy`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    /// An INSERT: `GENERATED ALWAYS` identity columns take no given value.
    Insert,
    /// An UPDATE's new rows or a new table's: every column given.
    Rewrite,
}

/// `COPY (…) TO staged` writing `source`'s rows as `table`'s columns: `target`
/// names the columns the source fills in order (all columns when empty); the
/// rest take their defaults (NULL when they have none). Rows that fail one of
/// the table's CHECK constraints end the statement with 23514.
pub(super) fn insert_copy(
    conn: &Connection,
    table: &Table,
    target: &[String],
    source: &str,
    width: Option<usize>,
    staged: &Path,
    writer: Writer,
) -> Result<String, PgError> {
    let schema = table.metadata().current_schema();
    let fields: Vec<&NestedField> = schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| f.as_ref())
        .collect();
    for name in target {
        if !fields.iter().any(|f| &f.name == name) {
            return Err(no_column(name, table.identifier().name()));
        }
    }
    // The source's column types, when a text column may become bytea
    // (PostgreSQL's bytea input, not the engine's escapes).
    let writes_bytes = fields.iter().any(|f| duck_type(&f.field_type) == "BLOB");
    let source_types: Vec<Option<duckdb::ffi::DUCKDB_TYPE>> =
        if source.is_empty() || (width.is_some() && !writes_bytes) {
            Vec::new()
        } else {
            let prepared = conn
                .prepare(&format!("SELECT * FROM ({source}) AS __floe_source"))
                .map_err(|e| PgError::from_duckdb(&e.message, Some(source)))?;
            (0..prepared.column_count())
                .map(|i| prepared.column_type(i).map(|t| t.id()))
                .collect()
        };
    let width = match width {
        Some(w) => w,
        None => source_types.len(),
    };
    let is_text = |i: usize| {
        matches!(
            source_types.get(i),
            Some(Some(id)) if *id == duckdb::ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR
        )
    };
    let filled: Vec<&str> = if target.is_empty() {
        fields.iter().map(|f| f.name.as_str()).collect()
    } else {
        target.iter().map(String::as_str).collect()
    };
    if width > filled.len() {
        return Err(PgError::new(
            sqlstate::SYNTAX_ERROR,
            "INSERT has more expressions than target columns",
        ));
    }
    if !target.is_empty() && width < filled.len() {
        return Err(PgError::new(
            sqlstate::SYNTAX_ERROR,
            "INSERT has more target columns than expressions",
        ));
    }
    let aliases: Vec<String> = (1..=width).map(|i| format!("__floe_c{i}")).collect();
    let lengths = floe_catalog::objects::tables::declared_lengths(table.metadata().properties());
    let rules = TableRules::from_properties(table.metadata().properties());
    let table_name = table.identifier().name();
    let mut select = Vec::with_capacity(fields.len());
    for f in &fields {
        let ty = duck_type(&f.field_type);
        let given = filled.iter().take(width).position(|n| *n == f.name);
        if given.is_some()
            && writer == Writer::Insert
            && rules.identity.get(&f.id) == Some(&Identity::Always)
        {
            return Err(generated_always(&f.name));
        }
        let value = match given {
            // A value longer than a declared `character varying(n)` is an
            // error, but for trailing spaces, which go (as in PostgreSQL).
            Some(i) if lengths.contains_key(&f.id) => format!(
                "floe_varchar(CAST(__floe_source.{} AS {ty}), {})",
                aliases[i], lengths[&f.id]
            ),
            Some(i) if ty == "BLOB" && is_text(i) => {
                format!("floe_bytea_in(__floe_source.{})", aliases[i])
            }
            Some(i) => format!("CAST(__floe_source.{} AS {ty})", aliases[i]),
            None => match rules.defaults.get(&f.id) {
                Some(text) => format!("CAST(({}) AS {ty})", stored_default(text)?),
                None if f.required => return Err(not_null(&f.name, table_name)),
                None => format!("CAST(NULL AS {ty})"),
            },
        };
        select.push(format!("{value} AS {}", quote_ident(&f.name)));
    }
    let from = if width == 0 && source.is_empty() {
        String::new()
    } else if width == 0 {
        // Rows with no given column (every cell DEFAULT).
        format!(" FROM ({source}) AS __floe_source")
    } else {
        format!(" FROM ({source}) AS __floe_source({})", aliases.join(", "))
    };
    let mut query = format!("SELECT {}{from}", select.join(", "));
    if !rules.checks.is_empty() {
        let columns: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
        let mut conditions = Vec::new();
        for (name, text) in &rules.checks {
            let expr = stored_expr::checked(text, &Use::Check { columns: &columns })?;
            let message = format!(
                "new row for relation \"{table_name}\" violates check constraint \"{name}\""
            );
            conditions.push(format!(
                "CASE WHEN ({expr}) IS FALSE THEN error({}) ELSE true END",
                floe_sql::quote::literal(&message)
            ));
        }
        query = format!(
            "SELECT * FROM ({query}) AS __floe_row WHERE {}",
            conditions.join(" AND ")
        );
    }
    let mut options = String::new();
    let spec = table.metadata().default_partition_spec();
    if !spec.is_unpartitioned() {
        // DuckDB groups the rows into one directory per partition value.
        let mut values = Vec::new();
        let mut columns = Vec::new();
        for (i, field) in spec.fields().iter().enumerate() {
            let source = schema.field_by_id(field.source_id);
            let Some((name, Type::Primitive(p))) = source.map(|f| (&f.name, f.field_type.as_ref()))
            else {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "partition field {} has no primitive source column",
                        field.name
                    ),
                ));
            };
            let value = format!("__floe_row.{}", quote_ident(name));
            let column = lake_partition::column(i);
            values.push(format!(
                "{} AS {column}",
                lake_partition::expression(&value, p, &field.transform)?
            ));
            columns.push(column);
        }
        query = format!(
            "SELECT *, {} FROM ({query}) AS __floe_row",
            values.join(", ")
        );
        options = format!(
            ", PARTITION_BY ({}), FILENAME_PATTERN 'part_{{uuid}}'",
            columns.join(", ")
        );
    }
    Ok(format!(
        "COPY ({query}) TO '{}' (FORMAT parquet, {}, FIELD_IDS {}{options})",
        staged.display().to_string().replace('\'', "''"),
        parquet_options(table.metadata().properties())?,
        schema::field_ids(schema)
    ))
}

/// The compression Floe writes data files with unless a table says otherwise:
/// chosen by measurement (`bench/tpch/write_format.py`, in `bench/RESULTS.md`):
/// LZ4 (Parquet's LZ4_RAW) reads a third faster than ZSTD warm for 40% more
/// bytes. A table read mostly cold from object storage can say `zstd`.
const DEFAULT_CODEC: &str = "lz4";

/// Rows per row group unless a table says otherwise (DuckDB's own default).
const DEFAULT_ROW_GROUP_ROWS: u64 = 122_880;

/// The Parquet writer's options for a table, from its Iceberg properties:
/// `write.parquet.compression-codec` (zstd, snappy, gzip, lz4, brotli,
/// uncompressed), `write.parquet.compression-level`,
/// `write.parquet.row-group-size-bytes` and Floe's
/// `write.parquet.row-group-rows`. Values outside these are refused (22023),
/// not passed on: the properties come from any engine sharing the catalog.
pub(super) fn parquet_options(
    properties: &std::collections::HashMap<String, String>,
) -> Result<String, PgError> {
    let invalid = |name: &str, value: &str| {
        PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("table property {name} has an unsupported value \"{value}\""),
        )
    };
    let number =
        |name: &str, range: std::ops::RangeInclusive<u64>| -> Result<Option<u64>, PgError> {
            match properties.get(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(Some(n)),
                    _ => Err(invalid(name, v)),
                },
            }
        };
    const CODEC: &str = "write.parquet.compression-codec";
    let codec = match properties.get(CODEC).map(|v| v.trim().to_ascii_lowercase()) {
        None => DEFAULT_CODEC.to_string(),
        Some(c) => match c.as_str() {
            "zstd" | "snappy" | "gzip" | "lz4" | "brotli" | "uncompressed" => c,
            "lz4_raw" => "lz4".to_string(),
            "none" => "uncompressed".to_string(),
            _ => return Err(invalid(CODEC, &c)),
        },
    };
    let mut options = format!("COMPRESSION {codec}");
    if let Some(level) = number("write.parquet.compression-level", 1..=22)? {
        if codec == "zstd" {
            options.push_str(&format!(", COMPRESSION_LEVEL {level}"));
        }
    }
    let rows = number("write.parquet.row-group-rows", 1024..=100_000_000)?
        .unwrap_or(DEFAULT_ROW_GROUP_ROWS);
    options.push_str(&format!(", ROW_GROUP_SIZE {rows}"));
    if let Some(bytes) = number("write.parquet.row-group-size-bytes", 1 << 16..=1 << 34)? {
        options.push_str(&format!(", ROW_GROUP_SIZE_BYTES {bytes}"));
    }
    Ok(options)
}

/// The files a COPY wrote to `staged` (one file, or a tree of partition
/// directories), each with its partition struct.
pub(super) fn staged_files(
    staged: &Path,
    table: &Table,
    schema: &iceberg::spec::Schema,
) -> Result<Vec<(PathBuf, Struct)>, PgError> {
    if staged.is_file() {
        return Ok(vec![(staged.to_path_buf(), Struct::empty())]);
    }
    if !staged.is_dir() {
        return Ok(Vec::new());
    }
    let spec = table.metadata().default_partition_spec();
    parquet_files(staged)?
        .into_iter()
        .map(|path| {
            let values = lake_partition::values(staged, &path, spec, schema)?;
            Ok((path, values))
        })
        .collect()
}

/// The Parquet files anywhere under `dir` (none if it does not exist: the
/// statement wrote no rows).
pub(super) fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, PgError> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(PgError::new(
                    sqlstate::IO_ERROR,
                    format!("cannot read {}: {e}", dir.display()),
                ))
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The source of `INSERT INTO name [AS alias] [(columns)] source` as written.
pub(super) fn insert_source(
    sql: &str,
    tokens: &[Token],
    has_columns: bool,
    default_values: bool,
) -> Result<String, PgError> {
    if default_values {
        return Ok(String::new());
    }
    let mut i = 2;
    i = skip_name(tokens, i);
    if tokens.get(i).is_some_and(|t| t.is_word("AS")) {
        i += 2;
    }
    if has_columns {
        i = skip_parens(tokens, i);
    }
    let start = tokens
        .get(i)
        .map(|t| t.span.start)
        .ok_or_else(|| PgError::new(sqlstate::SYNTAX_ERROR, "INSERT without rows"))?;
    Ok(trim_statement(&sql[start..]).to_string())
}

/// Whether a VALUES cell is the keyword `DEFAULT`.
fn is_default_cell(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// `INSERT … VALUES` with `DEFAULT` cells, as a target list and a VALUES
/// text without them: a column that is `DEFAULT` in every row leaves the
/// target list (it takes its default as an unnamed column does), other
/// `DEFAULT` cells become the column's default expression. `None` when no
/// cell is `DEFAULT`.
pub(super) fn without_default_cells(
    table: &Table,
    target: &[String],
    source: Option<&sqlparser::ast::Query>,
) -> Result<Option<(Vec<String>, String)>, PgError> {
    let Some(SetExpr::Values(values)) = source.map(|q| q.body.as_ref()) else {
        return Ok(None);
    };
    if !values.rows.iter().flatten().any(is_default_cell) {
        return Ok(None);
    }
    let schema = table.metadata().current_schema();
    let columns: Vec<String> = if target.is_empty() {
        schema
            .as_struct()
            .fields()
            .iter()
            .map(|f| f.name.clone())
            .collect()
    } else {
        target.to_vec()
    };
    let width = values.rows.first().map_or(0, Vec::len);
    if values.rows.iter().any(|r| r.len() != width) {
        return Err(PgError::new(
            sqlstate::SYNTAX_ERROR,
            "VALUES lists must all be the same length",
        ));
    }
    if width > columns.len() {
        return Err(PgError::new(
            sqlstate::SYNTAX_ERROR,
            "INSERT has more expressions than target columns",
        ));
    }
    let rules = TableRules::from_properties(table.metadata().properties());
    let all_default = |j: usize| values.rows.iter().all(|r| is_default_cell(&r[j]));
    let kept: Vec<usize> = (0..width).filter(|j| !all_default(*j)).collect();
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        let mut cells = Vec::with_capacity(kept.len());
        for &j in &kept {
            let cell = &row[j];
            if !is_default_cell(cell) {
                cells.push(cell.to_string());
                continue;
            }
            let field = schema
                .field_by_name(&columns[j])
                .ok_or_else(|| no_column(&columns[j], table.identifier().name()))?;
            if rules.identity.get(&field.id) == Some(&Identity::Always) {
                return Err(generated_always(&field.name));
            }
            cells.push(match rules.defaults.get(&field.id) {
                Some(text) => format!("({})", stored_default(text)?),
                None => "NULL".to_string(),
            });
        }
        rows.push(format!("({})", cells.join(", ")));
    }
    let target = kept.iter().map(|&j| columns[j].clone()).collect();
    if kept.is_empty() {
        // Every cell DEFAULT: DEFAULT VALUES, once per row.
        let n = values.rows.len();
        return Ok(Some((target, format!("SELECT 1 FROM range({n})"))));
    }
    Ok(Some((target, format!("VALUES {}", rows.join(", ")))))
}

/// The types of the parameters that are whole cells of an `INSERT … VALUES`
/// (`$n` under column `c` is of `c`'s type, as PostgreSQL infers it), indexed
/// by parameter number less one; 0 where the text does not say.
pub(super) fn values_parameter_types(
    table: &Table,
    target: &[String],
    source: Option<&sqlparser::ast::Query>,
) -> Vec<u32> {
    let Some(SetExpr::Values(values)) = source.map(|q| q.body.as_ref()) else {
        return Vec::new();
    };
    let schema = table.metadata().current_schema();
    let lengths = floe_catalog::objects::tables::declared_lengths(table.metadata().properties());
    let fields = schema.as_struct().fields();
    let mut types = Vec::new();
    for row in &values.rows {
        for (j, cell) in row.iter().enumerate() {
            let Expr::Value(v) = cell else { continue };
            let sqlparser::ast::Value::Placeholder(p) = &v.value else {
                continue;
            };
            let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
                continue;
            };
            // Parameter numbers are bounded by the protocol (at most 65535).
            if n == 0 || n > usize::from(u16::MAX) {
                continue;
            }
            let field = match target.get(j) {
                Some(name) => schema.field_by_name(name).map(|f| f.as_ref()),
                None if target.is_empty() => fields.get(j).map(|f| f.as_ref()),
                None => None,
            };
            let Some(field) = field else { continue };
            let mut oid = floe_catalog::pg_schema::types::pg_type(&field.field_type).0;
            if oid == crate::codec::types::oid::TEXT && lengths.contains_key(&field.id) {
                oid = crate::codec::types::oid::VARCHAR;
            }
            if types.len() < n {
                types.resize(n, 0);
            }
            if types[n - 1] == 0 {
                types[n - 1] = oid;
            }
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Result<String, PgError> {
        parquet_options(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn table_properties_choose_the_parquet_writers_options_from_an_allowlist() {
        assert_eq!(
            options(&[]).expect("default"),
            "COMPRESSION lz4, ROW_GROUP_SIZE 122880"
        );
        assert_eq!(
            options(&[
                ("write.parquet.compression-codec", "SNAPPY"),
                ("write.parquet.row-group-rows", "1000000"),
                ("write.parquet.row-group-size-bytes", "134217728"),
            ])
            .expect("set"),
            "COMPRESSION snappy, ROW_GROUP_SIZE 1000000, ROW_GROUP_SIZE_BYTES 134217728"
        );
        assert_eq!(
            options(&[
                ("write.parquet.compression-codec", "zstd"),
                ("write.parquet.compression-level", "3")
            ])
            .expect("level"),
            "COMPRESSION zstd, COMPRESSION_LEVEL 3, ROW_GROUP_SIZE 122880"
        );
        for (k, v) in [
            ("write.parquet.compression-codec", "zstd'); COPY x TO '/etc"),
            ("write.parquet.row-group-rows", "12"),
            ("write.parquet.compression-level", "99"),
            ("write.parquet.row-group-size-bytes", "-1"),
        ] {
            let e = options(&[(k, v)]).expect_err(v);
            assert_eq!(e.code, sqlstate::INVALID_PARAMETER_VALUE);
        }
    }
}
