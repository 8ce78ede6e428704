//! COPY in a session. `COPY t FROM STDIN` receives the client's CopyData into a
//! staging file (decoded to canonical CSV by `copy_in`), then loads it with one
//! `INSERT … SELECT … FROM read_csv(…)`, so a lake table gets the same staged,
//! all-or-nothing commit as any INSERT and a session table an ordinary insert.
//! `COPY … TO STDOUT` streams a query's rows as CopyData (`copy_out`).

use std::path::PathBuf;

use super::*;
use crate::copy::command::{column_list, CopyOptions};
use crate::copy::from_stdin::{CopyColumn, CopyInDecoder};
use crate::copy::to_stdout::CopyOutEncoder;
use floe_sql::quote::literal as sql_literal;

/// The staging file of one COPY FROM, removed whatever happens.
struct SpoolFile(PathBuf);

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The temporary view over the staged rows of the COPY FROM that is running.
const COPY_SOURCE: &str = "__floe_copy_source";

/// A column COPY FROM loads: its name, Postgres type and DuckDB type.
struct TargetColumn {
    name: String,
    type_oid: u32,
    duck_type: String,
}

impl Session {
    pub(super) fn run_copy(&mut self, portal: &mut Portal, cmd: &CopyCommand) -> SResult<()> {
        portal.state = PortalState::Done;
        match cmd {
            CopyCommand::FromStdin {
                table,
                table_name,
                columns,
                filter,
                options,
            } => self.copy_from_stdin(table, table_name, columns.as_deref(), filter, options),
            CopyCommand::ToStdout { query, options } => self.copy_to_stdout(query, options),
        }
    }

    /// The columns `SELECT <columns> FROM <table>` has, with DuckDB's type names.
    fn copy_target(
        &mut self,
        table: &str,
        columns: Option<&[String]>,
    ) -> SResult<Vec<TargetColumn>> {
        let list = columns.map_or_else(|| "*".to_string(), column_list);
        let probe = format!("SELECT {list} FROM {table} LIMIT 0");
        let tokens = floe_sql::tokens::tokenize(&probe);
        let rewritten = match &self.lake {
            Some(lake) => lake.rewrite(&probe, &tokens, &self.runtime, &self.name_context())?,
            None => None,
        };
        let sql = rewritten
            .as_ref()
            .map_or(probe.as_str(), |r| r.sql.as_str());
        self.close_all_streams();
        let duck_err = |e: crate::engine::duck::DuckError| -> SessionError {
            PgError::from_duckdb(&e.message, None).into()
        };
        let prepared = self.conn.prepare(sql).map_err(duck_err)?;
        let mut target = Vec::with_capacity(prepared.column_count());
        for i in 0..prepared.column_count() {
            let type_oid = prepared
                .column_type(i)
                .map_or(oid::TEXT, |t| ValueKind::from_logical(&t).pg_type());
            target.push(TargetColumn {
                name: columns
                    .and_then(|c| c.get(i).cloned())
                    .unwrap_or_else(|| prepared.column_name(i)),
                type_oid,
                duck_type: String::new(),
            });
        }
        drop(prepared);
        let mut described = self
            .conn
            .prepare(&format!("DESCRIBE {sql}"))
            .map_err(duck_err)?;
        let mut result = described.execute(false).map_err(duck_err)?;
        let mut i = 0;
        while let Some(chunk) = result.fetch().map_err(duck_err)? {
            let types = chunk.vector(1);
            for row in 0..chunk.len() {
                if let Some(c) = target.get_mut(i) {
                    // SAFETY: DESCRIBE's column_type is VARCHAR; `row` is in the chunk.
                    c.duck_type =
                        String::from_utf8_lossy(unsafe { types.get_bytes(row) }).into_owned();
                }
                i += 1;
            }
        }
        Ok(target)
    }

    fn copy_from_stdin(
        &mut self,
        table: &str,
        table_name: &str,
        columns: Option<&[String]>,
        filter: &Option<String>,
        options: &CopyOptions,
    ) -> SResult<()> {
        let Some(staging) = self.lake.as_ref().map(|l| l.staging_dir().to_path_buf()) else {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "COPY FROM STDIN needs a worker with a staging directory",
            )
            .into());
        };
        let target = self.copy_target(table, columns)?;
        let spool = SpoolFile(staging.join(format!("copy-{}.csv", uuid::Uuid::new_v4())));
        let file = std::fs::File::create(&spool.0).map_err(|e| {
            PgError::new(
                sqlstate::IO_ERROR,
                format!("could not create the COPY staging file: {e}"),
            )
        })?;
        let decoder = CopyInDecoder::new(
            options.clone(),
            target
                .iter()
                .map(|c| CopyColumn {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                })
                .collect(),
            table_name,
            file,
        );
        let header_lines = decoder.header_lines();
        wire::copy_in_response(&mut self.out, options.format.wire_code(), target.len());
        let started = Instant::now();
        self.receive_copy_data(decoder)?;
        let received = started.elapsed();

        let types = target
            .iter()
            .map(|c| format!("{}: {}", sql_literal(&c.name), sql_literal(&c.duck_type)))
            .collect::<Vec<_>>()
            .join(", ");
        let names = column_list(&target.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
        let filter = filter
            .as_ref()
            .map(|f| format!(" WHERE {f}"))
            .unwrap_or_default();
        // The INSERT reads a view, so the statement stays plain SQL for the lake
        // write planner; the view is the session's own and goes with the COPY.
        let view = format!(
            "CREATE OR REPLACE TEMP VIEW {COPY_SOURCE} AS SELECT * FROM read_csv({}, \
             columns = {{{types}}}, header = false, auto_detect = false, delim = ',', \
             quote = '\"', escape = '\"', nullstr = '', allow_quoted_nulls = false)",
            sql_literal(&spool.0.to_string_lossy()),
        );
        self.close_all_streams();
        self.conn
            .execute_batch(&view)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let insert = format!("INSERT INTO {table} ({names}) SELECT * FROM {COPY_SOURCE}{filter}");
        let r = self.run_copy_insert(&insert);
        self.close_all_streams();
        let _ = self
            .conn
            .execute_batch(&format!("DROP VIEW IF EXISTS temp.{COPY_SOURCE}"));
        tracing::debug!(
            pid = self.pid,
            table = table_name,
            receive_ms = received.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "COPY FROM STDIN"
        );
        r.map_err(|e| match e {
            SessionError::Pg(p) => {
                SessionError::Pg(copy_load_error(p, table_name, header_lines, &target))
            }
            other => other,
        })
    }

    /// Runs the INSERT that loads the staged rows; its tag is `COPY n`.
    fn run_copy_insert(&mut self, insert: &str) -> SResult<()> {
        let tokens = floe_sql::tokens::tokenize(insert);
        let stmt = self.prepare_statement(insert, &tokens, &[])?;
        let mut portal = Portal::unbound(stmt.clone(), self.params.output_settings(), false);
        portal.command_tag = Some(Tag::Copy);
        let r = self.run_portal(&mut portal, 0);
        self.statement_cache.retain(|_, s| !Rc::ptr_eq(s, &stmt));
        r
    }

    /// Feeds CopyData to `decoder` until CopyDone; CopyFail or a bad row ends the
    /// COPY with an error (the rest of the client's data is then ignored).
    fn receive_copy_data<W: std::io::Write>(
        &mut self,
        mut decoder: CopyInDecoder<W>,
    ) -> SResult<u64> {
        use PgWireFrontendMessage as M;
        self.flush()?;
        loop {
            let msg = match self.rx.blocking_recv() {
                None => return Err(SessionError::ClientGone),
                Some(SessionInput::Fatal(e)) => {
                    wire::error_or_notice(&mut self.out, &e);
                    return Err(SessionError::ClientGone);
                }
                // A message sent during COPY is answered below; the router's
                // analysis of its text has no use here.
                Some(SessionInput::Message(m) | SessionInput::Analysed { message: m, .. }) => m,
                Some(SessionInput::Control(_)) => {
                    return Err(PgError::new(
                        sqlstate::PROTOCOL_VIOLATION,
                        "control message during COPY",
                    )
                    .into())
                }
            };
            match msg {
                M::CopyData(d) => decoder.feed(&d.data)?,
                M::CopyDone(_) => break,
                M::CopyFail(f) => {
                    return Err(PgError::new(
                        sqlstate::QUERY_CANCELED,
                        format!("COPY from stdin failed: {}", f.message),
                    )
                    .into())
                }
                // Postgres ignores these during COPY IN.
                M::Flush(_) | M::Sync(_) => {}
                M::Terminate(_) => return Err(SessionError::ClientGone),
                _ => {
                    return Err(PgError::new(
                        sqlstate::PROTOCOL_VIOLATION,
                        "unexpected message during COPY from stdin",
                    )
                    .into())
                }
            }
        }
        Ok(decoder.finish()?.0)
    }

    fn copy_to_stdout(&mut self, query: &str, options: &CopyOptions) -> SResult<()> {
        let tokens = floe_sql::tokens::tokenize(query);
        let stmt = self.prepare_statement(query, &tokens, &[])?;
        let StatementKind::Duck(d) = &stmt.kind else {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "COPY TO STDOUT needs a query that returns rows",
            )
            .into());
        };
        if !d.returns_rows {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "COPY query must have a RETURNING clause",
            )
            .into());
        }
        self.close_all_streams();
        let started = Instant::now();
        let seq = self.control.begin();
        self.arm_timeout(seq);
        let r = self.copy_rows_out(&stmt, d, options);
        let reason = self.control.end();
        log_if_slow(self.pid, &stmt.sql, started);
        match (r, reason) {
            (Err(SessionError::Pg(_)), Some(CancelReason::Timeout)) => Err(PgError::new(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            )
            .into()),
            (Err(SessionError::Pg(_)), Some(_)) => Err(PgError::canceled().into()),
            (r, _) => r,
        }
    }

    fn copy_rows_out(
        &mut self,
        stmt: &Statement,
        d: &DuckStatement,
        options: &CopyOptions,
    ) -> SResult<()> {
        let mut prepared = d.prepared.borrow_mut();
        prepared.clear_bindings();
        let mut result = prepared
            .execute(true)
            .map_err(|e| PgError::from_duckdb(&e.message, Some(&stmt.sql)))?;
        let ncols = result.column_count();
        let names: Vec<String> = match stmt.fields.as_ref().filter(|f| f.len() == ncols) {
            Some(fields) => fields.iter().map(|f| f.name.clone()).collect(),
            None => (0..ncols).map(|i| result.column_name(i)).collect(),
        };
        let binary = options.format == crate::copy::command::CopyFormat::Binary;
        let mut encoders = Vec::with_capacity(ncols);
        for (i, name) in names.iter().enumerate() {
            let kind = result
                .column_type(i)
                .map_or(ValueKind::Text, |t| ValueKind::from_logical(&t));
            let enc = ColumnEncoder::new(kind.clone(), kind.pg_type(), binary);
            if let Some(t) = enc.unsupported_type() {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("column \"{name}\" has type {t}, which Floe cannot send; cast it to VARCHAR"),
                )
                .into());
            }
            encoders.push(enc);
        }
        let settings = self.params.output_settings();
        let mut encoder = CopyOutEncoder::new(options.clone(), &names, encoders);
        wire::copy_out_response(&mut self.out, options.format.wire_code(), ncols);
        encoder.start(&names, &mut self.out);
        let mut rows = 0u64;
        loop {
            match result.fetch() {
                Ok(Some(chunk)) => {
                    encoder.rows(&chunk, 0..chunk.len(), &settings, &mut self.out);
                    rows += chunk.len() as u64;
                    self.maybe_flush()?;
                }
                Ok(None) => break,
                Err(e) => return Err(PgError::from_duckdb(&e.message, Some(&stmt.sql)).into()),
            }
        }
        encoder.end(&mut self.out);
        wire::copy_done(&mut self.out);
        wire::command_complete(&mut self.out, &format!("COPY {rows}"));
        Ok(())
    }
}

/// Postgres's form of an error from loading COPY data: a value DuckDB could not
/// convert becomes 22P02 with the line and column, as Postgres reports it.
fn copy_load_error(e: PgError, table: &str, header_lines: u64, target: &[TargetColumn]) -> PgError {
    let Some(line) = e
        .message
        .split("CSV Error on Line: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return e;
    };
    let line = line + header_lines;
    let column = e
        .message
        .split("Error when converting column \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string);
    let value = e
        .message
        .split("Could not convert string \"")
        .nth(1)
        .and_then(|rest| rest.rsplit_once("\" to "))
        .map(|(v, _)| v.to_string());
    match (column, value) {
        (Some(column), Some(value)) => {
            let type_name = target
                .iter()
                .find(|c| c.name == column)
                .map_or("unknown".to_string(), |c| pg_type_name(c.type_oid));
            PgError::new(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type {type_name}: \"{value}\""),
            )
            .with_context(format!(
                "COPY {table}, line {line}, column {column}: \"{value}\""
            ))
        }
        _ => {
            let first = e
                .message
                .lines()
                .find(|l| !l.starts_with("CSV Error") && !l.starts_with("Original Line"))
                .unwrap_or(&e.message)
                .to_string();
            PgError::new(sqlstate::BAD_COPY_FILE_FORMAT, first)
                .with_context(format!("COPY {table}, line {line}"))
        }
    }
}

pub(super) fn pg_type_name(type_oid: u32) -> String {
    match type_oid {
        oid::BOOL => "boolean",
        oid::INT2 => "smallint",
        oid::INT4 => "integer",
        oid::INT8 => "bigint",
        oid::FLOAT4 => "real",
        oid::FLOAT8 => "double precision",
        oid::NUMERIC => "numeric",
        oid::DATE => "date",
        oid::TIME => "time without time zone",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::INTERVAL => "interval",
        oid::UUID => "uuid",
        oid::JSON => "json",
        oid::JSONB => "jsonb",
        oid::BYTEA => "bytea",
        _ => "text",
    }
    .to_string()
}
