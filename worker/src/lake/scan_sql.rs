//! A planned scan as the DuckDB subquery spliced in place of a lake table:
//! `read_parquet` over local files with Iceberg field ids mapped to the table's
//! current names and types (or, when no schema change touched the columns, by
//! name, which lets DuckDB push join filters into the scan), and delete files
//! applied as anti-joins.

use std::collections::BTreeMap;

use floe_catalog::pg_schema::types::{quote_ident, quote_literal};
use floe_catalog::ScanColumn;

/// A data file ready to read: where it is on local disk, and the deletes that
/// apply to it (also local).
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// The location the table's metadata names (position deletes refer to it).
    pub location: String,
    pub local: String,
    pub position_deletes: Vec<String>,
    pub equality_deletes: Vec<(String, Vec<i32>)>,
}

/// The delete files applying to a data file: position deletes, and equality
/// deletes with their field ids.
type DeleteSet = (Vec<String>, Vec<(String, Vec<i32>)>);

/// The columns a scan rendered `with_positions` adds: each row's data file (as
/// the table's metadata names it) and its position in that file, which is what
/// an Iceberg position delete records.
pub const FILE_COLUMN: &str = "__floe_file";
pub const POS_COLUMN: &str = "__floe_pos";

/// Renders the subquery (without alias) reading `files` as `columns`, by name
/// when `by_name` (see `ScanPlan::by_name`), by field id otherwise; with
/// `with_positions`, each row also carries `FILE_COLUMN` and `POS_COLUMN`.
pub fn render(
    columns: &[ScanColumn],
    files: &[LocalFile],
    by_name: bool,
    with_positions: bool,
) -> String {
    let mut select_list = columns
        .iter()
        .map(|c| format!("d.{}", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    if with_positions {
        select_list.push_str(&format!(
            ", __floe_m.location AS {FILE_COLUMN}, d.file_row_number AS {POS_COLUMN}"
        ));
    }
    if files.is_empty() {
        let mut typed_nulls = columns
            .iter()
            .map(|c| format!("CAST(NULL AS {}) AS {}", c.duck_type, quote_ident(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        if with_positions {
            typed_nulls.push_str(&format!(
                ", CAST(NULL AS VARCHAR) AS {FILE_COLUMN}, CAST(NULL AS BIGINT) AS {POS_COLUMN}"
            ));
        }
        return format!("(SELECT {typed_nulls} LIMIT 0)");
    }
    // Files with the same delete files are read together.
    let mut groups: BTreeMap<DeleteSet, Vec<&LocalFile>> = BTreeMap::new();
    for f in files {
        let mut pos = f.position_deletes.clone();
        pos.sort();
        let mut eq = f.equality_deletes.clone();
        eq.sort();
        groups.entry((pos, eq)).or_default().push(f);
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|((pos, eq), group)| {
            render_group(
                columns,
                &select_list,
                &group,
                &pos,
                &eq,
                by_name,
                with_positions,
            )
        })
        .collect();
    format!("({})", parts.join(" UNION ALL "))
}

fn render_group(
    columns: &[ScanColumn],
    select_list: &str,
    files: &[&LocalFile],
    position_deletes: &[String],
    equality_deletes: &[(String, Vec<i32>)],
    by_name: bool,
    with_positions: bool,
) -> String {
    let paths = file_list(files.iter().map(|f| f.local.as_str()));
    // Partition directories in data file paths are not columns: the table's
    // schema says what the columns are.
    let mapping = if by_name {
        ", hive_partitioning = false".to_string()
    } else {
        format!(
            ", schema = {}, hive_partitioning = false",
            schema_map(columns.iter())
        )
    };
    let mut conditions = Vec::new();
    // Rows' files and positions: for position deletes, and for the caller.
    let extra = if with_positions || !position_deletes.is_empty() {
        ", filename = true, file_row_number = true"
    } else {
        ""
    };
    // Delete files name data files by their table location; map those to the
    // local copies DuckDB reports as `filename`.
    let locations = files
        .iter()
        .map(|f| {
            format!(
                "({}, {})",
                quote_literal(&f.location),
                quote_literal(&f.local)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut join = String::new();
    if with_positions {
        join = format!(
            " JOIN (VALUES {locations}) AS __floe_m(location, local) ON __floe_m.local = d.filename"
        );
    }
    if !position_deletes.is_empty() {
        conditions.push(format!(
            "NOT EXISTS (SELECT 1 FROM read_parquet({}) AS x \
             JOIN (VALUES {locations}) AS m(location, local) ON x.file_path = m.location \
             WHERE m.local = d.filename AND x.pos = d.file_row_number)",
            file_list(position_deletes.iter().map(String::as_str))
        ));
    }
    for (path, ids) in equality_deletes {
        let eq_columns: Vec<&ScanColumn> = ids
            .iter()
            .filter_map(|id| columns.iter().find(|c| c.field_id == *id))
            .collect();
        let matches = eq_columns
            .iter()
            .map(|c| {
                let q = quote_ident(&c.name);
                format!("e.{q} IS NOT DISTINCT FROM d.{q}")
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        conditions.push(format!(
            "NOT EXISTS (SELECT 1 FROM read_parquet({}, schema = {}) AS e WHERE {matches})",
            file_list(std::iter::once(path.as_str())),
            schema_map(eq_columns.into_iter()),
        ));
    }
    let mut sql =
        format!("SELECT {select_list} FROM read_parquet({paths}{mapping}{extra}) AS d{join}");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql
}

fn file_list<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = paths.map(quote_literal).collect();
    format!("[{}]", quoted.join(", "))
}

/// DuckDB's field-id schema: files written under older schemas are read by
/// id, so renamed, re-ordered, added and widened columns come out right.
fn schema_map<'a>(columns: impl Iterator<Item = &'a ScanColumn>) -> String {
    let entries: Vec<String> = columns
        .map(|c| {
            format!(
                "{}: {{name: {}, type: {}, default_value: NULL}}",
                c.field_id,
                quote_literal(&c.name),
                quote_literal(&c.duck_type)
            )
        })
        .collect();
    format!("MAP {{{}}}", entries.join(", "))
}

/// A registered Parquet table: its files by name (schemas may differ between
/// files; columns are matched by name), with Hive partition columns from the
/// `key=value` directories when asked.
pub fn render_parquet(paths: &[String], hive_partitioning: bool) -> String {
    let list: Vec<String> = paths.iter().map(|p| quote_literal(p)).collect();
    format!(
        "(SELECT * FROM read_parquet([{}], union_by_name = true, hive_partitioning = {hive_partitioning}))",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<ScanColumn> {
        vec![
            ScanColumn {
                field_id: 1,
                name: "id".into(),
                duck_type: "BIGINT".into(),
            },
            ScanColumn {
                field_id: 3,
                name: "it's".into(),
                duck_type: "DOUBLE".into(),
            },
        ]
    }

    #[test]
    fn an_empty_table_is_typed_and_empty() {
        assert_eq!(
            render(&cols(), &[], false, false),
            "(SELECT CAST(NULL AS BIGINT) AS \"id\", CAST(NULL AS DOUBLE) AS \"it's\" LIMIT 0)"
        );
    }

    #[test]
    fn files_are_read_by_field_id_and_deletes_become_anti_joins() {
        let files = vec![
            LocalFile {
                location: "s3://b/a.parquet".into(),
                local: "/c/a.parquet".into(),
                position_deletes: vec!["/c/pd.parquet".into()],
                equality_deletes: vec![],
            },
            LocalFile {
                location: "s3://b/b.parquet".into(),
                local: "/c/b.parquet".into(),
                position_deletes: vec![],
                equality_deletes: vec![("/c/eq.parquet".into(), vec![1])],
            },
        ];
        let sql = render(&cols(), &files, false, false);
        assert!(sql.contains("3: {name: 'it''s', type: 'DOUBLE', default_value: NULL}"));
        assert!(sql.contains("UNION ALL"));
        assert!(sql.contains("('s3://b/a.parquet', '/c/a.parquet')"));
        assert!(sql.contains("e.\"id\" IS NOT DISTINCT FROM d.\"id\""));
    }

    #[test]
    fn unchanged_schemas_are_read_by_name_without_hive_columns() {
        let files = vec![LocalFile {
            location: "s3://b/region=eu/a.parquet".into(),
            local: "/w/region=eu/a.parquet".into(),
            position_deletes: vec![],
            equality_deletes: vec![],
        }];
        let sql = render(&cols(), &files, true, false);
        assert_eq!(
            sql,
            "(SELECT d.\"id\", d.\"it's\" FROM read_parquet(['/w/region=eu/a.parquet'], hive_partitioning = false) AS d)"
        );
        assert!(render(&cols(), &files, false, false).contains("schema = MAP"));
    }

    #[test]
    fn parquet_registrations_read_by_name() {
        assert_eq!(
            render_parquet(&["/c/x.parquet".into()], true),
            "(SELECT * FROM read_parquet(['/c/x.parquet'], union_by_name = true, hive_partitioning = true))"
        );
    }
}
