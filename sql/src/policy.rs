//! The one SQL policy, enforced by the router and again by every worker on the
//! text it is about to run: what a client's statement may touch. It fails closed:
//! text that does not tokenize or parse is refused (42601), statements outside an
//! allowlist of kinds are refused (42501), every function a statement calls must be
//! on an allowlist (`functions.txt`: DuckDB's scalar, aggregate and window
//! functions that reach no file, network, other database or engine setting; a
//! short list of table functions), relation names cannot be file names or other
//! databases, and statements too deep or too long for a parser's stack are
//! refused with 54001 before any parser recursion sees them.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use sqlparser::ast::{
    CopyTarget, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, ObjectNamePart,
    ObjectType, Set, Statement, TableFactor, Value, Visit, Visitor,
};
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

mod reshape;

/// Why a statement is refused, with the SQLSTATE the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub sqlstate: &'static str,
    pub message: String,
}

/// The SQLSTATEs a refusal carries: 42501 (the statement reaches outside what
/// a client may touch), 42601 (the text cannot be analysed), 42883 (a function
/// clients cannot see), 54001 (too deep or too long to analyse safely).
pub use floe_protocol::sqlstate::{
    INSUFFICIENT_PRIVILEGE, STATEMENT_TOO_COMPLEX, SYNTAX_ERROR, UNDEFINED_FUNCTION,
};

impl Refusal {
    /// A refusal's SQLSTATE as a static code, from text another process sent
    /// (anything unknown reads as 42501).
    pub fn code_of(sqlstate: &str) -> &'static str {
        [SYNTAX_ERROR, STATEMENT_TOO_COMPLEX, UNDEFINED_FUNCTION]
            .into_iter()
            .find(|c| *c == sqlstate)
            .unwrap_or(INSUFFICIENT_PRIVILEGE)
    }

    fn privilege(message: impl Into<String>) -> Refusal {
        Refusal {
            sqlstate: INSUFFICIENT_PRIVILEGE,
            message: message.into(),
        }
    }
    fn syntax(message: impl Into<String>) -> Refusal {
        Refusal {
            sqlstate: SYNTAX_ERROR,
            message: message.into(),
        }
    }
    fn too_complex(message: impl Into<String>) -> Refusal {
        Refusal {
            sqlstate: STATEMENT_TOO_COMPLEX,
            message: message.into(),
        }
    }
}

/// Deepest bracket nesting a statement may have (Postgres's own limit is its
/// stack; this keeps every recursive walk over the tree well inside ours).
pub const MAX_NESTING: usize = 100;
/// Most operators one statement may chain (`a OR b OR …`, `1 + 1 + …`): each one
/// is a level of a left-deep tree that dropping or walking it recurses through.
pub const MAX_OPERATORS: usize = 10_000;
/// Most tokens in one query text.
pub const MAX_TOKENS: usize = 2_000_000;
/// Parser recursion limit (sqlparser's default is 50).
const PARSER_RECURSION: usize = 100;
/// Texts longer than this are analysed on a thread with a stack sized for the
/// deepest tree the limits above allow.
const BIG_TEXT: usize = 16 * 1024;
const BIG_STACK: usize = 256 * 1024 * 1024;

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

/// Who is asking: the names a statement may use as its own database.
#[derive(Debug, Clone, Default)]
pub struct PolicyContext {
    /// Database (catalog) names three-part names may start with.
    pub databases: Vec<String>,
}

impl PolicyContext {
    /// The names Floe answers to as a database, plus the session's own.
    pub fn for_database(database: &str) -> PolicyContext {
        let mut databases = vec!["floe".to_string(), "postgres".to_string()];
        let own = database.to_ascii_lowercase();
        if !databases.contains(&own) {
            databases.push(own);
        }
        PolicyContext { databases }
    }
}

/// What the analysis found in an allowed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analysis {
    pub class: StatementClass,
    /// How many statements the text holds.
    pub statements: usize,
    /// Whether every statement is a query (SELECT, VALUES, WITH …, TABLE).
    pub only_queries: bool,
}

/// Analyses `sql` once and applies the policy to every statement in it.
pub fn analyze(sql: &str, ctx: &PolicyContext) -> Result<Analysis, Refusal> {
    if sql.len() <= BIG_TEXT {
        return analyze_here(sql, ctx);
    }
    // A long text can make a deep tree: walk and drop it on a stack sized for it.
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("floe-sql-policy".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, || analyze_here(sql, ctx))
            .map_err(|e| Refusal::too_complex(format!("cannot analyse the statement: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(Refusal::too_complex("stack depth limit exceeded")))
    })
}

fn analyze_here(sql: &str, ctx: &PolicyContext) -> Result<Analysis, Refusal> {
    let pieces = split(sql)?;
    let mut class = None;
    let mut only_queries = true;
    for (start, end) in &pieces {
        let piece = &sql[*start..*end];
        for stmt in parse_one(piece)? {
            check_statement(&stmt, ctx)?;
            only_queries &= matches!(stmt, Statement::Query(_));
            class.get_or_insert_with(|| classify(&stmt, piece));
        }
    }
    Ok(Analysis {
        class: class.unwrap_or(StatementClass::Other),
        statements: pieces.len(),
        only_queries,
    })
}

/// Splits `sql` into its statements (byte ranges, blank ones left out) at `;`
/// tokens, after bounding nesting, operator chains and length on the token
/// stream, which is read without recursion, before any parser builds a tree.
/// A text that does not tokenize (an unterminated comment or literal) is a
/// syntax error.
pub fn split(sql: &str) -> Result<Vec<(usize, usize)>, Refusal> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Refusal::syntax(format!("syntax error: {}", e.message)))?;
    if tokens.len() > MAX_TOKENS {
        return Err(Refusal::too_complex(format!(
            "statement is too long: more than {MAX_TOKENS} tokens"
        )));
    }
    let index = crate::spans::LineIndex::new(sql);
    let mut pieces = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0usize;
    let mut depth = 0usize;
    let mut operators = 0usize;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                if let Some(s) = start.take() {
                    pieces.push((s, end));
                }
                operators = 0;
                continue;
            }
            Token::Whitespace(_) | Token::EOF => continue,
            _ => {}
        }
        start.get_or_insert_with(|| index.offset(t.span.start));
        end = index.offset(t.span.end);
        match &t.token {
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Refusal::too_complex(format!(
                        "stack depth limit exceeded: nesting deeper than {MAX_NESTING}"
                    )));
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            Token::Word(w)
                if matches!(
                    w.keyword,
                    sqlparser::keywords::Keyword::AND
                        | sqlparser::keywords::Keyword::OR
                        | sqlparser::keywords::Keyword::NOT
                ) =>
            {
                operators += 1
            }
            Token::Word(_)
            | Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Comma
            | Token::Period
            | Token::Colon => {}
            _ => operators += 1,
        }
        if operators > MAX_OPERATORS {
            return Err(Refusal::too_complex(format!(
                "stack depth limit exceeded: more than {MAX_OPERATORS} operators in one statement"
            )));
        }
    }
    if let Some(s) = start {
        pieces.push((s, end));
    }
    Ok(pieces)
}

/// `piece` without Floe's time-travel clauses (`t AT (VERSION => 42)`,
/// `AT (TIMESTAMP => '…')`), which no sqlparser dialect reads; each holds a
/// single literal, so there is nothing in it to check.
fn without_time_travel(piece: &str) -> std::borrow::Cow<'_, str> {
    use sqlparser::keywords::Keyword;
    if !piece.to_ascii_uppercase().contains("=>") {
        return std::borrow::Cow::Borrowed(piece);
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, piece).tokenize() else {
        return std::borrow::Cow::Borrowed(piece);
    };
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|i| !matches!(tokens[*i], Token::Whitespace(_)))
        .collect();
    let mut drop = vec![false; tokens.len()];
    let mut found = false;
    for w in sig.windows(6) {
        let [at, lp, kind, arrow, value, rp] = [w[0], w[1], w[2], w[3], w[4], w[5]];
        let is_at = matches!(&tokens[at], Token::Word(x) if x.keyword == Keyword::AT);
        let is_kind = matches!(&tokens[kind], Token::Word(x)
            if x.value.eq_ignore_ascii_case("VERSION") || x.value.eq_ignore_ascii_case("TIMESTAMP"));
        let literal = matches!(
            &tokens[value],
            Token::Number(..) | Token::SingleQuotedString(_) | Token::Placeholder(_)
        );
        if is_at
            && tokens[lp] == Token::LParen
            && is_kind
            && tokens[arrow] == Token::RArrow
            && literal
            && tokens[rp] == Token::RParen
        {
            drop[at..=rp].iter_mut().for_each(|d| *d = true);
            found = true;
        }
    }
    if !found {
        return std::borrow::Cow::Borrowed(piece);
    }
    let mut out = String::with_capacity(piece.len());
    for (i, t) in tokens.iter().enumerate() {
        if drop[i] {
            out.push(' ');
        } else {
            out.push_str(&t.to_string());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Postgres session statements sqlparser does not read, made only of words:
/// `RESET name` / `RESET ALL` (the worker keeps engine settings out) and
/// `ABORT` / `END` [TRANSACTION | WORK], as the statements they mean.
fn session_word_statement(piece: &str) -> Option<Statement> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, piece)
        .tokenize()
        .ok()?;
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            Token::Word(w) => Some(w.value.clone()),
            Token::Period => Some(".".to_string()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let first = words.first()?.as_str();
    let rest = &words[1..];
    let txn_tail =
        rest.is_empty() || (rest.len() == 1 && (rest[0] == "TRANSACTION" || rest[0] == "WORK"));
    let text = match first {
        "RESET" if !rest.is_empty() && rest.len() <= 3 => return reset_statement(rest),
        "ABORT" if txn_tail => "ROLLBACK",
        "END" if txn_tail => "COMMIT",
        _ => return None,
    };
    Parser::parse_sql(&PostgreSqlDialect {}, text)
        .ok()?
        .into_iter()
        .next()
}

/// `RESET …` as a statement to check: a SHOW of the same name (both read a
/// session parameter's name and nothing else).
fn reset_statement(rest: &[String]) -> Option<Statement> {
    if rest
        .iter()
        .any(|w| w != "." && !w.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        return None;
    }
    Parser::parse_sql(&PostgreSqlDialect {}, &format!("SHOW {}", rest.concat()))
        .ok()?
        .into_iter()
        .next()
}

/// Parses one statement's text into the statements to check: the statement
/// itself, or for a Postgres shape no dialect reads, the statements it is
/// reshaped into. Anything that does not read as exactly one statement is
/// refused.
fn parse_one(piece: &str) -> Result<Vec<Statement>, Refusal> {
    if let Some(stmt) = session_word_statement(piece) {
        return Ok(vec![stmt]);
    }
    let first = match parse_single(&without_time_travel(piece)) {
        Ok(stmt) => return Ok(vec![stmt]),
        Err(e) if e.sqlstate == STATEMENT_TOO_COMPLEX => return Err(e),
        Err(e) => e,
    };
    if let Some(ordered) = crate::sequence_options::in_parser_order(piece) {
        return parse_single(&ordered).map(|s| vec![s]).map_err(|_| first);
    }
    let reshaped = reshape::reshaped(piece).ok_or_else(|| first.clone())?;
    reshaped
        .iter()
        .map(|text| parse_single(text).map_err(|_| first.clone()))
        .collect()
}

/// Parses exactly one statement (Postgres dialect, then DuckDB's).
fn parse_single(piece: &str) -> Result<Statement, Refusal> {
    // The `;` ends COPY … FROM STDIN, which otherwise takes what follows as data.
    let text = format!("{piece}\n;");
    let run = |dialect: &dyn sqlparser::dialect::Dialect| {
        Parser::new(dialect)
            .with_recursion_limit(PARSER_RECURSION)
            .try_with_sql(&text)
            .and_then(|mut p| p.parse_statements())
    };
    let statements = match run(&PostgreSqlDialect {}) {
        Ok(s) => s,
        Err(first) => match run(&DuckDbDialect {}) {
            Ok(s) => s,
            Err(_) => return Err(parse_refusal(first)),
        },
    };
    let mut statements = statements.into_iter();
    match (statements.next(), statements.next()) {
        (Some(stmt), None) => {
            if let Statement::Copy { values, .. } = &stmt {
                if !values.is_empty() {
                    return Err(Refusal::syntax(
                        "COPY data must follow as CopyData messages",
                    ));
                }
            }
            Ok(stmt)
        }
        _ => Err(Refusal::syntax(
            "syntax error: the text does not split into statements unambiguously",
        )),
    }
}

/// A parser error in Postgres's words where it can be: `syntax error at or near "x"`.
fn parse_refusal(e: ParserError) -> Refusal {
    match e {
        ParserError::RecursionLimitExceeded => {
            Refusal::too_complex("stack depth limit exceeded: statement nested too deeply")
        }
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
            let near = m
                .split_once("found: ")
                .map(|(_, rest)| {
                    rest.split(" at Line:")
                        .next()
                        .unwrap_or(rest)
                        .trim()
                        .to_string()
                })
                .filter(|s| !s.is_empty());
            match near {
                Some(n) if n == "EOF" => Refusal::syntax("syntax error at end of input"),
                Some(n) => Refusal::syntax(format!(
                    "syntax error at or near \"{}\"",
                    n.trim_matches('"')
                )),
                None => Refusal::syntax(format!("syntax error: {m}")),
            }
        }
    }
}

fn classify(stmt: &Statement, sql: &str) -> StatementClass {
    match stmt {
        Statement::Query(_) | Statement::Explain { .. } | Statement::ExplainTable { .. } => {
            let lower = sql.to_ascii_lowercase();
            if ["pg_catalog.", "information_schema.", "pg_class", "pg_type"]
                .iter()
                .any(|p| lower.contains(p))
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
        | Statement::AlterView { .. }
        | Statement::Drop { .. }
        | Statement::Truncate { .. }
        | Statement::Comment { .. } => StatementClass::Ddl,
        Statement::Set(_)
        | Statement::ShowVariable { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Discard { .. } => StatementClass::Session,
        _ => StatementClass::Other,
    }
}

/// Procedures a client may `CALL` (the lakehouse procedures; the worker checks
/// who may run them and where their paths point).
pub const PROCEDURES: &[&str] = &[
    "floe_register_parquet",
    "floe_unregister_parquet",
    "floe_register_iceberg",
    "floe_remove_orphan_files",
    "floe_result_cache_clear",
    "floe_cache_warm",
];

/// Table functions a client may call in FROM: generators only.
const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "range",
    "unnest",
    "generate_subscripts",
    "json_each",
    "json_tree",
    "regexp_split_to_table",
    "_pg_expandarray",
    "pg_get_keywords",
    "pg_options_to_table",
    "ts_token_type",
    // A relation's partition ancestors: itself (the router answers it).
    "pg_partition_ancestors",
    // Floe's own: a lake table's snapshots and history, read from the catalog.
    "floe_snapshots",
    "floe_history",
];

/// The engine's functions that reach files, the network, other databases,
/// settings or SQL text, refused with 42501 by name (everything else off the
/// allowlist is refused too, as a function that does not exist).
fn is_denied_function(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "read_",
        "parquet_",
        "duckdb_",
        "pragma_",
        "iceberg_",
        "delta_",
        "json_execute",
        "sqlite_",
        "postgres_",
        "mysql_",
        "pg_read",
        "pg_ls_",
        "pg_stat_file",
        "lo_",
        "http",
        "arrow_",
        "test_",
    ];
    const NAMES: &[&str] = &[
        "glob",
        "query",
        "query_table",
        "sniff_csv",
        "getenv",
        "current_setting",
        "which_secret",
        "checkpoint",
        "force_checkpoint",
        "enable_logging",
        "disable_logging",
        "enable_profiling",
        "disable_profiling",
        "truncate_duckdb_logs",
        "summary",
        "seq_scan",
        "pandas_scan",
        "python_map_function",
        "register_external_resource",
        "add_grammar_extension",
        "remove_grammar_extension",
        "create_external_resource",
        "dblink",
        "copy_to",
        "getvariable",
        "write_log",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Schemas a function name may be qualified with.
const FUNCTION_SCHEMAS: &[&str] = &["pg_catalog", "main", "public", "information_schema"];

fn scalar_functions() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        include_str!("functions.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Whether a client may call the function `name` (lower case) in an expression.
pub fn function_allowed(name: &str) -> bool {
    scalar_functions().contains(name)
        || TABLE_FUNCTIONS.contains(&name)
        // Floe's own session macros (the worker's pg_compat).
        || (name.starts_with("floe_") && !PROCEDURES.contains(&name))
}

/// Postgres parameters `current_setting()` may read (the rest are the engine's).
const READABLE_SETTINGS: &[&str] = &[
    "application_name",
    "bytea_output",
    "client_encoding",
    "client_min_messages",
    "datestyle",
    "default_transaction_isolation",
    "default_transaction_read_only",
    "extra_float_digits",
    "idle_in_transaction_session_timeout",
    "in_hot_standby",
    "integer_datetimes",
    "intervalstyle",
    "is_superuser",
    "jit",
    "lc_messages",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "lock_timeout",
    "max_identifier_length",
    "row_security",
    "search_path",
    "server_encoding",
    "server_version",
    "server_version_num",
    "session_authorization",
    "standard_conforming_strings",
    "statement_timeout",
    "synchronous_commit",
    "timezone",
    "timezone_abbreviations",
    "transaction_isolation",
    "transaction_read_only",
    "work_mem",
    "floe.worker",
];

fn ident_text(part: &ObjectNamePart) -> String {
    match part {
        ObjectNamePart::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0.iter().map(ident_text).collect()
}

fn check_statement(stmt: &Statement, ctx: &PolicyContext) -> Result<(), Refusal> {
    match stmt {
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update { .. }
        | Statement::Delete(_)
        | Statement::Merge { .. }
        | Statement::CreateView { .. }
        | Statement::CreateSchema { .. }
        | Statement::CreateIndex(_)
        | Statement::AlterTable { .. }
        | Statement::AlterView { .. }
        | Statement::Truncate { .. }
        | Statement::ShowVariable { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Discard { .. }
        | Statement::Prepare { .. }
        | Statement::Execute { .. }
        | Statement::Deallocate { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Comment { .. }
        | Statement::Explain { .. }
        | Statement::ExplainTable { .. }
        | Statement::LISTEN { .. }
        | Statement::UNLISTEN { .. }
        | Statement::NOTIFY { .. }
        | Statement::CreateSequence { .. } => {}
        Statement::CreateTable(ct) => {
            if ct.external || ct.location.is_some() {
                return Err(Refusal::privilege(
                    "CREATE EXTERNAL TABLE and table locations are not allowed",
                ));
            }
            if let Some(spec) = &ct.partition_by {
                // Iceberg transforms (bucket, truncate, …) are not functions
                // anything runs: check their shape, then walk the rest.
                check_partition_spec(spec)?;
                let mut rest = ct.clone();
                rest.partition_by = None;
                return walk(&Statement::CreateTable(rest), ctx);
            }
        }
        Statement::Drop { object_type, .. } => match object_type {
            ObjectType::Table
            | ObjectType::View
            | ObjectType::Schema
            | ObjectType::Index
            | ObjectType::Sequence
            | ObjectType::MaterializedView => {}
            other => {
                return Err(Refusal::privilege(format!("DROP {other} is not allowed")));
            }
        },
        Statement::Set(set) => check_set(set)?,
        Statement::Copy { target, .. } => match target {
            CopyTarget::Stdin | CopyTarget::Stdout => {}
            CopyTarget::File { .. } => return Err(Refusal::privilege(
                "COPY to or from a server file is not allowed; use COPY … FROM STDIN or TO STDOUT",
            )),
            CopyTarget::Program { .. } => {
                return Err(Refusal::privilege(
                    "COPY to or from a program is not allowed",
                ))
            }
        },
        Statement::Call(f) => check_call(f)?,
        other => return Err(Refusal::privilege(statement_not_allowed(other))),
    }
    walk(stmt, ctx)
}

/// Checks every function and relation a statement names.
fn walk(stmt: &Statement, ctx: &PolicyContext) -> Result<(), Refusal> {
    let mut walker = Walker { ctx };
    match stmt.visit(&mut walker) {
        ControlFlow::Break(r) => Err(r),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Iceberg partition transforms `PARTITION BY` may name.
const PARTITION_TRANSFORMS: &[&str] = &[
    "identity", "bucket", "truncate", "year", "years", "month", "months", "day", "days", "hour",
    "hours", "void",
];

/// A partition spec is a list of columns and transforms of a column with
/// literal parameters; nothing in it is evaluated.
fn check_partition_spec(spec: &Expr) -> Result<(), Refusal> {
    let fields: Vec<&Expr> = match spec {
        Expr::Tuple(items) => items.iter().collect(),
        Expr::Nested(inner) => vec![inner.as_ref()],
        other => vec![other],
    };
    let plain = |e: &Expr| {
        matches!(
            e,
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_)
        )
    };
    for field in fields {
        let ok = match field {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
            Expr::Function(f) => {
                let parts = name_parts(&f.name);
                let known = parts.len() == 1
                    && PARTITION_TRANSFORMS.contains(&parts[0].to_ascii_lowercase().as_str());
                let args_plain = match &f.args {
                    FunctionArguments::List(list) => list.args.iter().all(
                        |a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if plain(e)),
                    ),
                    _ => false,
                };
                known && args_plain && f.filter.is_none() && f.over.is_none()
            }
            _ => false,
        };
        if !ok {
            return Err(Refusal::syntax(format!(
                "PARTITION BY takes columns and the transforms {}: not {field}",
                PARTITION_TRANSFORMS.join(", ")
            )));
        }
    }
    Ok(())
}

fn statement_not_allowed(stmt: &Statement) -> String {
    let text = stmt.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let kind = match words.as_slice() {
        [a, b]
            if ["CREATE", "DROP", "ALTER", "SHOW", "ATTACH", "DETACH"]
                .contains(&a.to_ascii_uppercase().as_str()) =>
        {
            format!("{a} {b}")
        }
        [a, ..] => a.to_string(),
        [] => "this statement".to_string(),
    };
    format!("{} is not allowed", kind.to_ascii_uppercase())
}

fn check_set(set: &Set) -> Result<(), Refusal> {
    match set {
        Set::SingleAssignment {
            scope, variable, ..
        } => {
            if let Some(scope) = scope {
                let s = scope.to_string().to_ascii_uppercase();
                let s = s.trim().to_string();
                if s == "GLOBAL" || s == "VARIABLE" {
                    return Err(Refusal::privilege(format!("SET {s} is not allowed")));
                }
            }
            if variable.0.len() > 2 {
                return Err(Refusal::privilege(
                    "SET of a qualified engine setting is not allowed",
                ));
            }
            Ok(())
        }
        Set::ParenthesizedAssignments { .. } | Set::MultipleAssignments { .. } => Err(
            Refusal::privilege("SET of several variables at once is not allowed"),
        ),
        _ => Ok(()),
    }
}

fn check_call(f: &sqlparser::ast::Function) -> Result<(), Refusal> {
    let parts = name_parts(&f.name);
    let name = parts
        .last()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    if parts.len() != 1 || is_denied_function(&name) {
        return Err(Refusal::privilege(format!(
            "CALL {} is not allowed",
            parts.join(".")
        )));
    }
    if !PROCEDURES.contains(&name.as_str()) {
        // As Postgres: a procedure that is not there does not exist.
        return Err(Refusal {
            sqlstate: UNDEFINED_FUNCTION,
            message: format!("procedure {name} does not exist"),
        });
    }
    let FunctionArguments::List(list) = &f.args else {
        return Ok(());
    };
    for arg in &list.args {
        let e = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(e),
                ..
            } => e,
            FunctionArg::ExprNamed {
                name: Expr::Identifier(_),
                arg: FunctionArgExpr::Expr(e),
                ..
            } => e,
            _ => return Err(Refusal::privilege("procedure arguments must be literals")),
        };
        let literal = match e {
            Expr::Value(_) => true,
            Expr::UnaryOp { expr, .. } => matches!(**expr, Expr::Value(_)),
            _ => false,
        };
        if !literal {
            return Err(Refusal::privilege("procedure arguments must be literals"));
        }
    }
    Ok(())
}

struct Walker<'a> {
    ctx: &'a PolicyContext,
}

impl Walker<'_> {
    fn check_function_name(&self, name: &ObjectName, table: bool) -> Result<String, Refusal> {
        let parts = name_parts(name);
        let f = parts
            .last()
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        let qualifier_ok = match parts.len() {
            1 => true,
            2 => FUNCTION_SCHEMAS.contains(&parts[0].to_ascii_lowercase().as_str()),
            _ => false,
        };
        let allowed = if table {
            TABLE_FUNCTIONS.contains(&f.as_str())
        } else {
            // current_setting() is allowed on its argument (check_current_setting).
            function_allowed(&f) || f == "current_setting"
        };
        if !qualifier_ok || (!allowed && is_denied_function(&f)) {
            return Err(Refusal::privilege(format!(
                "function {} is not allowed",
                parts.join(".")
            )));
        }
        if !allowed {
            // Not on the allowlist and not one of the engine's own: for the
            // client it does not exist, as Postgres would say.
            return Err(Refusal {
                sqlstate: UNDEFINED_FUNCTION,
                message: format!("function {} does not exist", parts.join(".")),
            });
        }
        Ok(f)
    }

    fn check_relation(&self, name: &ObjectName) -> Result<(), Refusal> {
        let parts = name_parts(name);
        let shown = parts.join(".");
        for p in &parts {
            if p.is_empty()
                || p.contains(['/', '\\', ':', '*', '?', '~', '\0'])
                || p.to_ascii_lowercase().starts_with("duckdb_")
                || p.to_ascii_lowercase().starts_with("pragma_")
                || p.to_ascii_lowercase().starts_with("sqlite_")
            {
                return Err(Refusal::privilege(format!(
                    "relation \"{shown}\" is not allowed: names cannot be files or engine objects"
                )));
            }
        }
        match parts.as_slice() {
            [one] if one.contains('.') => Err(Refusal::privilege(format!(
                "relation \"{shown}\" is not allowed: names cannot be files"
            ))),
            [db, _, _] if !self.ctx.databases.contains(&db.to_ascii_lowercase()) => {
                Err(Refusal::privilege(format!(
                    "cross-database references are not implemented: {shown}"
                )))
            }
            [_, _, _, _, ..] => Err(Refusal::privilege(format!(
                "improper qualified name (too many dotted names): {shown}"
            ))),
            _ => Ok(()),
        }
    }

    fn check_current_setting(&self, f: &sqlparser::ast::Function) -> Result<(), Refusal> {
        let first = match &f.args {
            FunctionArguments::List(l) => l.args.first(),
            _ => None,
        };
        let name = match first {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
                Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        // A name the statement computes is looked up as it runs among the
        // session's and PostgreSQL's parameters (the worker writes the call as
        // its own lookup, which it finds only when the name is unquoted).
        let unquoted = f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.quote_style.is_none());
        let literal_arg = matches!(
            first,
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))))
                if !matches!(v.value, Value::Placeholder(_))
        );
        match name {
            None if unquoted && !literal_arg && first.is_some() => Ok(()),
            Some(n) if READABLE_SETTINGS.contains(&n.to_ascii_lowercase().as_str()) => Ok(()),
            // Custom (dotted) parameters are the client's own.
            Some(n) if n.contains('.') && !n.to_ascii_lowercase().starts_with("floe.") => Ok(()),
            _ => Err(Refusal::privilege(
                "current_setting() may only read Postgres parameters named by a literal",
            )),
        }
    }
}

impl Visitor for Walker<'_> {
    type Break = Refusal;

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Refusal> {
        match self.check_relation(relation) {
            Ok(()) => ControlFlow::Continue(()),
            Err(r) => ControlFlow::Break(r),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Refusal> {
        let r = match factor {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => {
                self.check_function_name(name, true).map(|_| ())
            }
            TableFactor::TableFunction {
                expr: Expr::Function(f),
                ..
            } => self.check_function_name(&f.name, true).map(|_| ()),
            TableFactor::Table { .. }
            | TableFactor::Derived { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. } => Ok(()),
            _ => Err(Refusal::privilege("this table expression is not allowed")),
        };
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(r) => ControlFlow::Break(r),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Refusal> {
        if let Expr::Function(f) = expr {
            let r = self.check_function_name(&f.name, false).and_then(|name| {
                if name == "current_setting" {
                    self.check_current_setting(f)
                } else {
                    Ok(())
                }
            });
            if let Err(r) = r {
                return ControlFlow::Break(r);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
