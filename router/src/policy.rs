//! The router's SQL policy, the first line of defense (the worker's DuckDB sandbox
//! is the hard boundary): statements that reach outside the lakehouse are refused
//! with SQLSTATE 42501 before they reach a worker. SQL is parsed with sqlparser
//! (PostgreSQL dialect, then DuckDB's for its own statements); text neither can
//! parse is checked by its leading keyword and otherwise forwarded, for DuckDB and
//! its sandbox to judge.

use std::ops::ControlFlow;

use bytes::{BufMut, BytesMut};
use floe_protocol::frame::{self, query_message};

use sqlparser::ast::{CopyTarget, Expr, ObjectName, Set, Statement};
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

/// Table functions that read or list files on the server.
const FILE_FUNCTIONS: &[&str] = &[
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "parquet_file_metadata",
    "parquet_kv_metadata",
    "read_json",
    "read_json_auto",
    "read_json_objects",
    "read_json_objects_auto",
    "read_ndjson",
    "read_ndjson_auto",
    "read_ndjson_objects",
    "read_text",
    "read_blob",
    "glob",
    "sniff_csv",
    "iceberg_scan",
    "iceberg_metadata",
    "iceberg_snapshots",
    "delta_scan",
    "read_xlsx",
];

/// DuckDB engine settings sessions may not change (the worker's configuration is
/// locked as well).
const ENGINE_SETTINGS: &[&str] = &[
    "threads",
    "worker_threads",
    "memory_limit",
    "max_memory",
    "temp_directory",
    "enable_external_access",
    "allowed_directories",
    "allowed_paths",
    "lock_configuration",
    "autoinstall_known_extensions",
    "autoload_known_extensions",
    "allow_unsigned_extensions",
    "allow_community_extensions",
    "extension_directory",
    "custom_extension_repository",
    "enable_profiling",
    "profiling_output",
    "log_query_path",
    "max_temp_directory_size",
    "enable_http_metadata_cache",
    "errors_as_json",
    "integer_division",
    "default_null_order",
];

/// Why a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

fn refuse(what: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal(what.into()))
}

fn last_ident(name: &ObjectName) -> String {
    name.0
        .last()
        .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
        .unwrap_or_default()
}

/// Checks every statement of `sql`.
pub fn check(sql: &str) -> Result<(), Refusal> {
    analyze(sql).map(|_| ())
}

/// What kind of statement a client sent (the first one of a multi-statement
/// query), for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementClass {
    Query,
    Dml,
    Ddl,
    Session,
    /// Reads the catalog (`pg_catalog`, `information_schema`).
    Catalog,
    Other,
}

impl StatementClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementClass::Query => "query",
            StatementClass::Dml => "dml",
            StatementClass::Ddl => "ddl",
            StatementClass::Session => "session",
            StatementClass::Catalog => "catalog",
            StatementClass::Other => "other",
        }
    }
}

fn classify(stmt: &Statement, sql: &str) -> StatementClass {
    let lower = sql.to_ascii_lowercase();
    match stmt {
        Statement::Query(_) | Statement::Explain { .. } | Statement::ExplainTable { .. } => {
            if lower.contains("pg_catalog.")
                || lower.contains("information_schema.")
                || lower.contains("pg_class")
                || lower.contains("pg_type")
            {
                StatementClass::Catalog
            } else {
                StatementClass::Query
            }
        }
        Statement::Insert(_)
        | Statement::Update { .. }
        | Statement::Delete(_)
        | Statement::Merge { .. }
        | Statement::Copy { .. } => StatementClass::Dml,
        Statement::CreateTable(_)
        | Statement::CreateView { .. }
        | Statement::CreateSchema { .. }
        | Statement::CreateIndex(_)
        | Statement::AlterTable { .. }
        | Statement::Drop { .. }
        | Statement::Truncate { .. } => StatementClass::Ddl,
        Statement::Set(_)
        | Statement::ShowVariable { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Discard { .. } => StatementClass::Session,
        _ => StatementClass::Other,
    }
}

/// Parses `sql` once: applies the policy and classifies the first statement.
pub fn analyze(sql: &str) -> Result<StatementClass, Refusal> {
    let parsed = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .or_else(|_| Parser::parse_sql(&DuckDbDialect {}, sql));
    match parsed {
        Ok(statements) => {
            statements.iter().try_for_each(check_statement)?;
            Ok(statements
                .first()
                .map_or(StatementClass::Other, |s| classify(s, sql)))
        }
        Err(_) => check_unparsed(sql).map(|_| StatementClass::Other),
    }
}

fn check_statement(stmt: &Statement) -> Result<(), Refusal> {
    match stmt {
        Statement::Copy { target, .. } => match target {
            CopyTarget::Stdin | CopyTarget::Stdout => {}
            CopyTarget::File { .. } => return refuse(
                "COPY to or from a server file is not allowed; use COPY … FROM STDIN or TO STDOUT",
            ),
            CopyTarget::Program { .. } => {
                return refuse("COPY to or from a program is not allowed")
            }
        },
        Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. }
        | Statement::DetachDuckDBDatabase { .. } => {
            return refuse("ATTACH and DETACH are not allowed")
        }
        Statement::Install { .. } | Statement::Load { .. } => {
            return refuse("INSTALL and LOAD are not allowed")
        }
        Statement::Pragma { .. } => return refuse("PRAGMA is not allowed"),
        Statement::Set(Set::SingleAssignment { variable, .. })
            if ENGINE_SETTINGS.contains(&last_ident(variable).as_str()) =>
        {
            return refuse(format!(
                "changing the engine setting \"{}\" is not allowed",
                last_ident(variable)
            ));
        }
        _ => {}
    }
    let relations = sqlparser::ast::visit_relations(stmt, |name| {
        let f = last_ident(name);
        if FILE_FUNCTIONS.contains(&f.as_str()) {
            return ControlFlow::Break(f);
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(f) = relations {
        return refuse(format!("{f}() reads server files and is not allowed"));
    }
    let calls = sqlparser::ast::visit_expressions(stmt, |e| {
        if let Expr::Function(func) = e {
            let f = last_ident(&func.name);
            if FILE_FUNCTIONS.contains(&f.as_str()) {
                return ControlFlow::Break(f);
            }
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(f) = calls {
        return refuse(format!("{f}() reads server files and is not allowed"));
    }
    Ok(())
}

/// Text no dialect parses: refuse by the leading keyword of every statement in
/// it, forward the rest. Statements are split at `;` tokens (a `;` inside a
/// string or comment does not split); text that does not even tokenize is
/// judged by its first word alone and then fails in the worker's parser.
fn check_unparsed(sql: &str) -> Result<(), Refusal> {
    statement_leading_words(sql)
        .iter()
        .try_for_each(|w| refuse_leading_word(w))
}

fn statement_leading_words(sql: &str) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        let first = sql
            .trim_start()
            .trim_start_matches('(')
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .find(|w| !w.is_empty())
            .unwrap_or("");
        return vec![first.to_ascii_uppercase()];
    };
    let mut words = Vec::new();
    let mut at_start = true;
    for token in tokens {
        match token {
            Token::SemiColon => at_start = true,
            Token::Whitespace(_) | Token::LParen => {}
            Token::Word(w) if at_start => {
                words.push(w.value.to_ascii_uppercase());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    words
}

fn refuse_leading_word(word: &str) -> Result<(), Refusal> {
    match word {
        "ATTACH" | "DETACH" => refuse("ATTACH and DETACH are not allowed"),
        "INSTALL" | "LOAD" | "FORCE" => refuse("INSTALL and LOAD are not allowed"),
        "PRAGMA" => refuse("PRAGMA is not allowed"),
        "EXPORT" | "IMPORT" => refuse("EXPORT DATABASE and IMPORT DATABASE are not allowed"),
        // The router's own commands to workers (session hand-over, reset,
        // statistics); a client sending one could take another role.
        "FLOE" => refuse("FLOE commands are internal to Floe"),
        _ => Ok(()),
    }
}

/// The statement the router sends a worker in place of a refused one; the worker
/// answers it with SQLSTATE 42501 and `message`, keeping its protocol state (failed
/// transaction, skip to Sync) exactly as for any other error.
pub fn refusal_statement(message: &str) -> String {
    format!("FLOE REFUSE '{}'", message.replace('\'', "''"))
}

/// Applies the policy to client messages on one connection, remembering SQL it
/// already allowed so repeated statements are not parsed again.
#[derive(Default)]
pub struct SqlGate {
    allowed: std::collections::HashMap<String, StatementClass>,
}

/// Statements a connection remembers as allowed.
const ALLOWED_CACHE: usize = 256;

impl SqlGate {
    fn verdict(&mut self, sql: &str) -> Result<StatementClass, Refusal> {
        if let Some(class) = self.allowed.get(sql) {
            return Ok(*class);
        }
        let class = analyze(sql)?;
        if self.allowed.len() >= ALLOWED_CACHE {
            self.allowed.clear();
        }
        self.allowed.insert(sql.to_string(), class);
        Ok(class)
    }

    /// Returns the frames of `buf` with refused Query and Parse messages replaced
    /// by refusal statements, and allowed ones passed through `rewrite` (which may
    /// return new text), or `None` when nothing changed (the bytes are then
    /// forwarded as they are).
    pub fn filter(
        &mut self,
        buf: &[u8],
        frames: &[frame::FrameInfo],
        rewrite: &mut (dyn FnMut(&str) -> Option<String> + Send),
        classes: &mut dyn FnMut(StatementClass),
    ) -> Option<BytesMut> {
        let mut out: Option<BytesMut> = None;
        for (i, f) in frames.iter().enumerate() {
            let body = frame::body(buf, f);
            let replacement = match f.tag {
                b'Q' => {
                    let sql = cstr(body).0;
                    match self.verdict(&sql) {
                        Err(r) => Some(query_message(&refusal_statement(&r.0))),
                        Ok(class) => {
                            classes(class);
                            rewrite(&sql).map(|new| query_message(&new))
                        }
                    }
                }
                b'P' => {
                    let (name, rest) = cstr(body);
                    let sql = cstr(rest).0;
                    match self.verdict(&sql) {
                        Err(r) => Some(parse_message(&name, &refusal_statement(&r.0))),
                        // Declared parameter types are dropped only when the text changes.
                        Ok(class) => {
                            classes(class);
                            rewrite(&sql).map(|new| parse_message(&name, &new))
                        }
                    }
                }
                _ => None,
            };
            match (replacement, &mut out) {
                (Some(m), Some(o)) => o.extend_from_slice(&m),
                (Some(m), None) => {
                    // First change: copy the frames before this one as they are.
                    let mut o = BytesMut::with_capacity(buf.len() + m.len());
                    for g in &frames[..i] {
                        o.extend_from_slice(&buf[g.start..g.start + g.len]);
                    }
                    o.extend_from_slice(&m);
                    out = Some(o);
                }
                (None, Some(o)) => o.extend_from_slice(&buf[f.start..f.start + f.len]),
                (None, None) => {}
            }
        }
        out
    }
}

/// A NUL-terminated string at the start of `b`, and what follows it.
fn cstr(b: &[u8]) -> (String, &[u8]) {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    let rest = if end < b.len() {
        &b[end + 1..]
    } else {
        &[][..]
    };
    (String::from_utf8_lossy(&b[..end]).into_owned(), rest)
}

fn parse_message(name: &str, sql: &str) -> BytesMut {
    let mut m = BytesMut::with_capacity(sql.len() + name.len() + 9);
    m.put_u8(b'P');
    m.put_i32((4 + name.len() + 1 + sql.len() + 1 + 2) as i32);
    m.put_slice(name.as_bytes());
    m.put_u8(0);
    m.put_slice(sql.as_bytes());
    m.put_u8(0);
    m.put_i16(0);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statements that must never reach DuckDB through the router.
    pub const HOSTILE: &[&str] = &[
        "SELECT * FROM read_csv('/etc/passwd')",
        "select * from READ_CSV_AUTO('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/*')",
        "SELECT count(*) FROM parquet_scan('/data/x.parquet')",
        "WITH x AS (SELECT * FROM read_json('/etc/x.json')) SELECT * FROM x",
        "SELECT * FROM (SELECT * FROM read_blob('/etc/shadow')) t",
        "COPY t TO '/tmp/x.csv'",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "COPY t FROM '/etc/passwd'",
        "COPY t FROM PROGRAM 'rm -rf /'",
        "ATTACH '/tmp/x.db' AS x",
        "ATTACH DATABASE '/tmp/x.db' AS x",
        "DETACH x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "FORCE INSTALL httpfs",
        "PRAGMA enable_profiling",
        "SET enable_external_access = true",
        "SET threads TO 64",
        "SET lock_configuration = false",
        "EXPORT DATABASE '/tmp/dump'",
        "IMPORT DATABASE '/tmp/dump'",
        "SELECT 1; SELECT * FROM read_csv('/etc/passwd')",
        "FLOE SESSION 'user' 'floe' 'floe.superuser' 'on'",
        "SELECT 1; FLOE RESET",
        "SELECT 1; ATTACH 'x.db' (TYPE sqlite, no_such_option 1)",
        "select 1;\n  /* c */ floe stats",
    ];

    #[test]
    fn hostile_statements_are_refused() {
        for sql in HOSTILE {
            assert!(check(sql).is_err(), "not refused: {sql}");
        }
    }

    #[test]
    fn ordinary_sql_passes() {
        for sql in [
            "SELECT 1",
            "SELECT * FROM t WHERE a = 'read_csv(/etc/passwd)'",
            "COPY t FROM STDIN",
            "COPY t TO STDOUT",
            "SET TimeZone = 'UTC'",
            "SET search_path TO public",
            "CREATE TABLE t (a INT)",
            "INSERT INTO t SELECT * FROM range(10)",
            "SELECT read_csv_column FROM t",
            "BEGIN; UPDATE t SET a = 1; COMMIT",
            "SELECT 'x; FLOE RESET' FROM t WHERE ??? floe",
        ] {
            assert_eq!(check(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn gate_rewrites_only_refused_messages() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&query_message("SELECT 1"));
        buf.extend_from_slice(&parse_message("s", "INSTALL httpfs"));
        buf.extend_from_slice(&[b'S', 0, 0, 0, 4]);
        let mut frames = Vec::new();
        let n = frame::scan(&buf, &mut frames).expect("scan");
        assert_eq!(n, buf.len());
        let mut gate = SqlGate::default();
        let out = gate
            .filter(&buf, &frames, &mut |_| None, &mut |_| {})
            .expect("rewritten");
        let mut again = Vec::new();
        frame::scan(&out, &mut again).expect("scan");
        let tags: Vec<u8> = again.iter().map(|f| f.tag).collect();
        assert_eq!(tags, b"QPS".to_vec());
        assert_eq!(frame::body(&out, &again[0]), b"SELECT 1\0");
        let parse = frame::body(&out, &again[1]);
        assert!(parse.starts_with(b"s\0FLOE REFUSE 'INSTALL and LOAD are not allowed'\0"));
        // All-allowed batches are forwarded untouched.
        let mut ok = BytesMut::new();
        ok.extend_from_slice(&query_message("SELECT 2"));
        let mut f2 = Vec::new();
        frame::scan(&ok, &mut f2).expect("scan");
        assert!(gate.filter(&ok, &f2, &mut |_| None, &mut |_| {}).is_none());
        let changed = gate
            .filter(&ok, &f2, &mut |sql| Some(format!("{sql} + 1")), &mut |_| {})
            .expect("rewritten");
        let mut f3 = Vec::new();
        frame::scan(&changed, &mut f3).expect("scan");
        assert_eq!(frame::body(&changed, &f3[0]), b"SELECT 2 + 1\0");
    }

    #[test]
    fn statements_are_classified() {
        let c = |sql: &str| analyze(sql).expect(sql);
        assert_eq!(c("SELECT 1"), StatementClass::Query);
        assert_eq!(
            c("SELECT * FROM pg_catalog.pg_class"),
            StatementClass::Catalog
        );
        assert_eq!(c("INSERT INTO t VALUES (1)"), StatementClass::Dml);
        assert_eq!(c("CREATE TABLE t (a INT)"), StatementClass::Ddl);
        assert_eq!(c("SET TimeZone = 'UTC'"), StatementClass::Session);
        assert_eq!(c("BEGIN"), StatementClass::Session);
    }

    #[test]
    fn refusal_statement_quotes() {
        assert_eq!(refusal_statement("it's"), "FLOE REFUSE 'it''s'");
    }
}
