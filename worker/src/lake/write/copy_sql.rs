//! The engine SQL that writes a statement's rows as Parquet: `COPY (SELECT …)
//! TO` the staging directory with the table's field ids, and the position
//! deletes of the rows a DELETE or UPDATE touches.

use super::*;
use crate::lake::partition as lake_partition;

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

/// `COPY (…) TO staged` writing `source`'s rows as `table`'s columns: `target`
/// names the columns the source fills in order (all columns when empty); the
/// rest are NULL.
pub(super) fn insert_copy(
    conn: &Connection,
    table: &Table,
    target: &[String],
    source: &str,
    width: Option<usize>,
    staged: &Path,
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
    let width = if let Some(w) = width {
        w
    } else if source.is_empty() {
        0
    } else {
        conn.prepare(&format!("SELECT * FROM ({source}) AS __floe_source"))
            .map_err(|e| PgError::from_duckdb(&e.message, Some(source)))?
            .column_count()
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
    let mut select = Vec::with_capacity(fields.len());
    for f in &fields {
        let ty = duck_type(&f.field_type);
        let value = match filled.iter().take(width).position(|n| *n == f.name) {
            // A value longer than a declared `character varying(n)` is an
            // error, but for trailing spaces, which go (as in PostgreSQL).
            Some(i) if lengths.contains_key(&f.id) => format!(
                "floe_varchar(CAST(__floe_source.{} AS {ty}), {})",
                aliases[i], lengths[&f.id]
            ),
            Some(i) => format!("CAST(__floe_source.{} AS {ty})", aliases[i]),
            None if f.required => return Err(not_null(&f.name, table.identifier().name())),
            None => format!("CAST(NULL AS {ty})"),
        };
        select.push(format!("{value} AS {}", quote_ident(&f.name)));
    }
    let from = if width == 0 {
        String::new()
    } else {
        format!(" FROM ({source}) AS __floe_source({})", aliases.join(", "))
    };
    let mut query = format!("SELECT {}{from}", select.join(", "));
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
        "COPY ({query}) TO '{}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS {}{options})",
        staged.display().to_string().replace('\'', "''"),
        schema::field_ids(schema)
    ))
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
