//! `CREATE TABLE … AS`: the table created from the query's columns, the
//! query's rows written into it, the table dropped again if the write fails.

use super::*;

impl LakeReader {
    pub(super) fn create_table_as(
        &self,
        table: &TableFromQuery,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        mut txn: Option<&mut LakeTxn>,
    ) -> Result<String, PgError> {
        let TableFromQuery {
            ident,
            query,
            column_names,
            partition,
            if_not_exists,
            with_data,
        } = table;
        let (if_not_exists, with_data) = (*if_not_exists, *with_data);
        let described = conn
            .prepare(&format!("SELECT * FROM ({query}) AS __floe_source"))
            .map_err(|e| PgError::from_duckdb(&e.message, Some(query)))?;
        let n = described.column_count();
        if column_names.len() > n {
            return Err(PgError::new(
                sqlstate::SYNTAX_ERROR,
                "CREATE TABLE AS specifies too many column names",
            ));
        }
        let mut columns = Vec::with_capacity(n);
        for i in 0..n {
            let name = column_names
                .get(i)
                .cloned()
                .unwrap_or_else(|| described.column_name(i));
            let t = described
                .column_type(i)
                .ok_or_else(|| PgError::new("XX000", "result column without a type"))?;
            columns.push(ColumnSpec {
                field_type: schema::from_duckdb(&t, &name)?,
                name,
                required: false,
            });
        }
        drop(described);
        for p in partition {
            if !columns.iter().any(|c| c.name == p.column) {
                return Err(no_column(&p.column, ident.name()));
            }
        }
        let schema = schema::build_schema(columns, &[])?;
        let spec = partition_spec(&schema, partition)?;
        let lake = self.lakehouse();
        let created = match txn.as_deref_mut() {
            Some(txn) => runtime.block_on(txn.create_table(
                lake,
                ident,
                schema,
                spec,
                HashMap::new(),
                if_not_exists,
            )),
            None => runtime.block_on(lake.create_table(
                ident,
                schema,
                spec,
                HashMap::new(),
                if_not_exists,
            )),
        }
        .map_err(catalog_error)?;
        let Some(table) = created else {
            return Ok("SELECT 0".to_string());
        };
        if !with_data {
            return Ok("SELECT 0".to_string());
        }
        let staged = self.staging_path(&table);
        let commit = LakeCommit::Insert(LakeInsert {
            table: ident.clone(),
            staged: staged.clone(),
            schema_id: table.metadata().current_schema_id(),
        });
        let written = insert_copy(conn, &table, &[], query, None, &staged, Writer::Rewrite)
            .and_then(|copy| {
                if let Err(e) = conn.execute_batch(&copy) {
                    commit.discard();
                    return Err(PgError::from_duckdb(&e.message, Some(query)));
                }
                self.commit_write(&commit, conn, runtime, txn.as_deref_mut())
            });
        match written {
            Ok(n) => Ok(format!("SELECT {n}")),
            Err(e) if e.code == sqlstate::STATEMENT_COMPLETION_UNKNOWN => Err(e),
            Err(e) => {
                // The statement leaves no trace: the table goes with it.
                let _ = match txn {
                    Some(txn) => runtime.block_on(txn.drop_table(lake, ident)),
                    None => runtime.block_on(lake.drop_table(ident)),
                };
                Err(e)
            }
        }
    }
}

/// `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] name [(columns)] [PARTITION BY …]
/// AS query [WITH [NO] DATA]`, read from tokens (column names without types are
/// beyond the SQL parser).
pub(super) struct CtasParts {
    pub(super) name: Vec<String>,
    pub(super) columns: Vec<String>,
    pub(super) partition_by: Option<String>,
    pub(super) query: String,
    pub(super) if_not_exists: bool,
    pub(super) with_data: bool,
}

pub(super) fn ctas_parts(sql: &str, tokens: &[Token]) -> Option<CtasParts> {
    let mut i = 1;
    if tokens.get(i)?.is_word("UNLOGGED") {
        i += 1;
    }
    if !tokens.get(i)?.is_word("TABLE") {
        return None;
    }
    i += 1;
    let if_not_exists = tokens.get(i)?.is_word("IF");
    if if_not_exists {
        i += 3;
    }
    let mut name = Vec::new();
    loop {
        name.push(identifier(tokens.get(i)?)?);
        i += 1;
        if tokens.get(i).is_some_and(|t| t.tok == Tok::Punct('.')) {
            i += 1;
        } else {
            break;
        }
    }
    let mut columns = Vec::new();
    if tokens.get(i)?.tok == Tok::Punct('(') {
        i += 1;
        loop {
            columns.push(identifier(tokens.get(i)?)?);
            i += 1;
            match tokens.get(i)?.tok {
                Tok::Punct(',') => i += 1,
                Tok::Punct(')') => {
                    i += 1;
                    break;
                }
                // Typed columns: a plain CREATE TABLE, not this form.
                _ => return None,
            }
        }
    }
    let mut partition_by = None;
    if tokens.get(i)?.is_word("PARTITION") && tokens.get(i + 1)?.is_word("BY") {
        let start = tokens.get(i + 2)?.span.start;
        let mut depth = 0;
        let mut j = i + 2;
        while let Some(t) = tokens.get(j) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ if depth == 0 && t.is_word("AS") => break,
                _ => {}
            }
            j += 1;
        }
        partition_by = Some(sql[start..tokens.get(j)?.span.start].trim().to_string());
        i = j;
    }
    if !tokens.get(i)?.is_word("AS") {
        return None;
    }
    let text = trim_statement(&sql[tokens[i].span.end..]);
    let toks = floe_sql::tokens::tokenize(text);
    let n = toks.len();
    let ends_with = |words: &[&str]| {
        n >= words.len()
            && toks[n - words.len()..]
                .iter()
                .zip(words)
                .all(|(t, w)| t.is_word(w))
    };
    let (cut, with_data) = if ends_with(&["WITH", "NO", "DATA"]) {
        (Some(toks[n - 3].span.start), false)
    } else if ends_with(&["WITH", "DATA"]) {
        (Some(toks[n - 2].span.start), true)
    } else {
        (None, true)
    };
    let query = cut.map_or(text, |c| &text[..c]).trim().to_string();
    Some(CtasParts {
        name,
        columns,
        partition_by,
        query,
        if_not_exists,
        with_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(sql: &str) -> Option<CtasParts> {
        ctas_parts(sql, &floe_sql::tokens::tokenize(sql))
    }

    #[test]
    fn create_table_as_is_read_into_its_parts() {
        let p =
            parts("CREATE UNLOGGED TABLE IF NOT EXISTS s.\"T\" (a, b) AS SELECT 1, 2 WITH NO DATA")
                .expect("a CTAS");
        assert_eq!(p.name, vec!["s".to_string(), "T".to_string()]);
        assert_eq!(p.columns, vec!["a".to_string(), "b".to_string()]);
        assert!(p.if_not_exists);
        assert!(!p.with_data);
        assert_eq!(p.query, "SELECT 1, 2");
        let p = parts("CREATE TABLE t AS (SELECT x FROM u);").expect("a CTAS");
        assert_eq!(p.name, vec!["t".to_string()]);
        assert!(p.columns.is_empty() && p.with_data && !p.if_not_exists);
        assert!(p.partition_by.is_none());
        assert!(parts("CREATE TABLE t (a int)").is_none());
        assert!(parts("CREATE VIEW v AS SELECT 1").is_none());
    }
}
