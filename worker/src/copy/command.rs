//! `COPY … FROM STDIN` and `COPY … TO STDOUT` as Postgres writes them: the table or
//! query, the column list, and the options in both the parenthesized form
//! (`WITH (FORMAT csv, HEADER)`) and the older keyword form (`CSV HEADER`,
//! `DELIMITER AS '|'`, `BINARY`) that psql's `\copy` and pg_dump still send.
//! COPY to or from a server file is not recognized here: the router refuses it and
//! DuckDB's sandbox confines it.

use crate::pg_error::{sqlstate, PgError};
use floe_sql::tokens::{identifier, Tok, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

impl CopyFormat {
    /// The format code of CopyInResponse / CopyOutResponse.
    pub fn wire_code(self) -> i8 {
        match self {
            CopyFormat::Binary => 1,
            CopyFormat::Text | CopyFormat::Csv => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    Absent,
    Present,
    /// The header line must name the columns (COPY FROM only).
    Match,
}

/// A set of columns an option applies to (`FORCE_QUOTE *` or a list).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ColumnSet {
    #[default]
    None,
    All,
    Some(Vec<String>),
}

impl ColumnSet {
    pub fn contains(&self, column: &str) -> bool {
        match self {
            ColumnSet::None => false,
            ColumnSet::All => true,
            ColumnSet::Some(c) => c.iter().any(|x| x == column),
        }
    }

    fn is_set(&self) -> bool {
        !matches!(self, ColumnSet::None)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: CopyFormat,
    pub delimiter: u8,
    pub null: String,
    pub header: Header,
    pub quote: u8,
    pub escape: u8,
    pub force_quote: ColumnSet,
    pub force_not_null: ColumnSet,
    pub force_null: ColumnSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyCommand {
    FromStdin {
        /// The table as written in the statement (`"Sales".orders`).
        table: String,
        /// The table's own name, for messages (`COPY orders, line 3`).
        table_name: String,
        /// Folded column names, when a list was given.
        columns: Option<Vec<String>>,
        /// `WHERE …` of COPY FROM, as written.
        filter: Option<String>,
        options: CopyOptions,
    },
    ToStdout {
        /// The query whose rows are sent.
        query: String,
        options: CopyOptions,
    },
}

fn syntax(message: impl Into<String>) -> PgError {
    PgError::new(sqlstate::SYNTAX_ERROR, message)
}

fn unsupported(message: impl Into<String>) -> PgError {
    PgError::new(sqlstate::FEATURE_NOT_SUPPORTED, message)
}

pub use floe_sql::quote::ident as quote_ident;

/// A column list for generated SQL: `"a", "b"`.
pub fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Recognizes a COPY from STDIN or to STDOUT. `None`: not such a statement.
pub fn parse(sql: &str, tokens: &[Token]) -> Option<Result<CopyCommand, PgError>> {
    let toks: Vec<&Token> = tokens.iter().filter(|t| t.tok != Tok::Punct(';')).collect();
    if !toks.first()?.is_word("COPY") {
        return None;
    }
    let mut p = Cursor {
        sql,
        toks: &toks,
        i: 1,
    };
    let mut legacy_binary = false;
    if p.peek_word("BINARY") {
        legacy_binary = true;
        p.i += 1;
    }
    let source = if p.peek_punct('(') {
        let open = p.i;
        let close = matching_paren(&toks, open)?;
        let query = sql[toks[open].span.end..toks[close].span.start]
            .trim()
            .to_string();
        p.i = close + 1;
        Source::Query(query)
    } else {
        let start = p.i;
        let mut name = identifier(toks.get(p.i)?)?;
        p.i += 1;
        while p.peek_punct('.') {
            p.i += 1;
            name = identifier(toks.get(p.i)?)?;
            p.i += 1;
        }
        let table = sql[toks[start].span.start..toks[p.i - 1].span.end].to_string();
        let columns = if p.peek_punct('(') {
            let close = matching_paren(&toks, p.i)?;
            let mut cols = Vec::new();
            for t in &toks[p.i + 1..close] {
                match &t.tok {
                    Tok::Punct(',') => {}
                    _ => cols.push(identifier(t)?),
                }
            }
            p.i = close + 1;
            Some(cols)
        } else {
            None
        };
        Source::Table {
            table,
            name,
            columns,
        }
    };
    let from = if p.peek_word("FROM") {
        true
    } else if p.peek_word("TO") {
        false
    } else {
        return None;
    };
    p.i += 1;
    let target = p.toks.get(p.i)?;
    if !(from && target.is_word("STDIN") || !from && target.is_word("STDOUT")) {
        // A file or a program: not COPY through the connection.
        return None;
    }
    p.i += 1;
    Some(finish(p, source, from, legacy_binary))
}

enum Source {
    Table {
        table: String,
        name: String,
        columns: Option<Vec<String>>,
    },
    Query(String),
}

fn finish(
    mut p: Cursor<'_>,
    source: Source,
    from: bool,
    legacy_binary: bool,
) -> Result<CopyCommand, PgError> {
    let mut raw = RawOptions::default();
    if legacy_binary {
        raw.set_format("binary")?;
    }
    let mut filter = None;
    if p.peek_word("WITH") {
        p.i += 1;
    }
    if p.peek_punct('(') {
        p.parenthesized_options(&mut raw)?;
    } else {
        p.legacy_options(&mut raw)?;
    }
    if p.peek_word("WHERE") {
        if !from {
            return Err(syntax("WHERE clause not allowed with COPY TO"));
        }
        let start = p.toks[p.i + 1..]
            .first()
            .map(|t| t.span.start)
            .ok_or_else(|| syntax("syntax error at end of input"))?;
        let end = p.toks.last().map_or(start, |t| t.span.end);
        filter = Some(p.sql[start..end].to_string());
        p.i = p.toks.len();
    }
    if let Some(t) = p.toks.get(p.i) {
        return Err(syntax(format!(
            "syntax error at or near \"{}\"",
            &p.sql[t.span.clone()]
        )));
    }
    let options = raw.resolve(from)?;
    match (source, from) {
        (
            Source::Table {
                table,
                name,
                columns,
            },
            true,
        ) => Ok(CopyCommand::FromStdin {
            table,
            table_name: name,
            columns,
            filter,
            options,
        }),
        (Source::Query(_), true) => Err(syntax("COPY FROM requires a table, not a query")),
        (Source::Table { table, columns, .. }, false) => {
            let list = columns.map_or_else(|| "*".to_string(), |c| column_list(&c));
            Ok(CopyCommand::ToStdout {
                query: format!("SELECT {list} FROM {table}"),
                options,
            })
        }
        (Source::Query(query), false) => Ok(CopyCommand::ToStdout { query, options }),
    }
}

fn matching_paren(toks: &[&Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

struct Cursor<'a> {
    sql: &'a str,
    toks: &'a [&'a Token],
    i: usize,
}

impl Cursor<'_> {
    fn peek_word(&self, w: &str) -> bool {
        self.toks.get(self.i).is_some_and(|t| t.is_word(w))
    }

    fn peek_punct(&self, c: char) -> bool {
        self.toks
            .get(self.i)
            .is_some_and(|t| t.tok == Tok::Punct(c))
    }

    fn word(&mut self) -> Option<String> {
        let t = self.toks.get(self.i)?;
        match &t.tok {
            Tok::Word(w) => {
                self.i += 1;
                Some(w.to_ascii_lowercase())
            }
            _ => None,
        }
    }

    /// A string literal (or, as Postgres allows for some options, a word).
    fn string(&mut self, option: &str) -> Result<String, PgError> {
        let t = self
            .toks
            .get(self.i)
            .ok_or_else(|| syntax(format!("{option} requires a parameter")))?;
        let v = match &t.tok {
            Tok::Str(s) => s.clone(),
            Tok::Word(w) => w.clone(),
            Tok::Number(n) => n.clone(),
            _ => return Err(syntax(format!("{option} requires a parameter"))),
        };
        self.i += 1;
        Ok(v)
    }

    /// `*` or a list of columns: parenthesized in the option list
    /// (`FORCE_NULL (a, b)`), bare in the keyword form (`FORCE NOT NULL a, b`).
    fn columns(&mut self, parenthesized: bool) -> Result<ColumnSet, PgError> {
        if self.peek_punct('*') {
            self.i += 1;
            return Ok(ColumnSet::All);
        }
        if parenthesized {
            if !self.peek_punct('(') {
                return Err(syntax("a parenthesized column list was expected"));
            }
            self.i += 1;
        }
        let mut cols = Vec::new();
        loop {
            let t = self
                .toks
                .get(self.i)
                .ok_or_else(|| syntax("syntax error at end of input"))?;
            cols.push(identifier(t).ok_or_else(|| syntax("a column name was expected"))?);
            self.i += 1;
            if !self.peek_punct(',') {
                break;
            }
            self.i += 1;
        }
        if parenthesized {
            if !self.peek_punct(')') {
                return Err(syntax("a closing parenthesis was expected"));
            }
            self.i += 1;
        }
        Ok(ColumnSet::Some(cols))
    }

    fn parenthesized_options(&mut self, raw: &mut RawOptions) -> Result<(), PgError> {
        self.i += 1;
        loop {
            let name = self
                .word()
                .ok_or_else(|| syntax("a COPY option name was expected"))?;
            let has_value = !(self.peek_punct(',') || self.peek_punct(')'));
            match name.as_str() {
                "format" => {
                    let f = self.string("FORMAT")?;
                    raw.set_format(&f)?;
                }
                "delimiter" => raw.delimiter = Some(self.string("DELIMITER")?),
                "null" => raw.null = Some(self.string("NULL")?),
                "quote" => raw.quote = Some(self.string("QUOTE")?),
                "escape" => raw.escape = Some(self.string("ESCAPE")?),
                "header" => {
                    raw.header = Some(if has_value {
                        let v = self.string("HEADER")?.to_ascii_lowercase();
                        match v.as_str() {
                            "match" => Header::Match,
                            _ => {
                                if parse_bool(&v).ok_or_else(|| {
                                    syntax("header requires a Boolean value or \"match\"")
                                })? {
                                    Header::Present
                                } else {
                                    Header::Absent
                                }
                            }
                        }
                    } else {
                        Header::Present
                    })
                }
                "force_quote" => raw.force_quote = self.columns(true)?,
                "force_not_null" => raw.force_not_null = self.columns(true)?,
                "force_null" => raw.force_null = self.columns(true)?,
                "freeze" => {
                    if has_value {
                        self.string("FREEZE")?;
                    }
                }
                "encoding" => {
                    let e = self.string("ENCODING")?;
                    check_encoding(&e)?;
                }
                "on_error" => {
                    let v = self.string("ON_ERROR")?.to_ascii_lowercase();
                    if v != "stop" {
                        return Err(unsupported(format!(
                            "COPY ON_ERROR \"{v}\" is not supported"
                        )));
                    }
                }
                other => return Err(syntax(format!("option \"{other}\" not recognized"))),
            }
            if self.peek_punct(',') {
                self.i += 1;
                continue;
            }
            if self.peek_punct(')') {
                self.i += 1;
                return Ok(());
            }
            return Err(syntax("syntax error in COPY options"));
        }
    }

    fn legacy_options(&mut self, raw: &mut RawOptions) -> Result<(), PgError> {
        loop {
            if self.peek_word("WHERE") || self.i >= self.toks.len() {
                return Ok(());
            }
            let Some(w) = self.word() else {
                return Ok(());
            };
            match w.as_str() {
                "binary" => raw.set_format("binary")?,
                "csv" => raw.set_format("csv")?,
                "header" => raw.header = Some(Header::Present),
                "delimiter" | "null" | "quote" | "escape" => {
                    if self.peek_word("AS") {
                        self.i += 1;
                    }
                    let v = self.string(&w.to_ascii_uppercase())?;
                    match w.as_str() {
                        "delimiter" => raw.delimiter = Some(v),
                        "null" => raw.null = Some(v),
                        "quote" => raw.quote = Some(v),
                        _ => raw.escape = Some(v),
                    }
                }
                "force" => {
                    if self.peek_word("QUOTE") {
                        self.i += 1;
                        raw.force_quote = self.columns(false)?;
                    } else if self.peek_word("NOT") {
                        self.i += 1;
                        if !self.peek_word("NULL") {
                            return Err(syntax("NULL was expected after FORCE NOT"));
                        }
                        self.i += 1;
                        raw.force_not_null = self.columns(false)?;
                    } else if self.peek_word("NULL") {
                        self.i += 1;
                        raw.force_null = self.columns(false)?;
                    } else {
                        return Err(syntax("QUOTE, NOT NULL or NULL was expected after FORCE"));
                    }
                }
                "oids" => return Err(unsupported("COPY with OIDS is not supported")),
                other => {
                    self.i -= 1;
                    return Err(syntax(format!("syntax error at or near \"{other}\"")));
                }
            }
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "on" | "1" | "yes" | "t" | "y" => Some(true),
        "false" | "off" | "0" | "no" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn check_encoding(e: &str) -> Result<(), PgError> {
    let norm: String = e
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if norm == "utf8" || norm == "unicode" || norm == "sqlascii" {
        Ok(())
    } else {
        Err(unsupported(format!(
            "COPY encoding \"{e}\" is not supported; Floe reads and writes UTF8"
        )))
    }
}

#[derive(Default)]
struct RawOptions {
    format: Option<CopyFormat>,
    delimiter: Option<String>,
    null: Option<String>,
    header: Option<Header>,
    quote: Option<String>,
    escape: Option<String>,
    force_quote: ColumnSet,
    force_not_null: ColumnSet,
    force_null: ColumnSet,
}

impl RawOptions {
    fn set_format(&mut self, f: &str) -> Result<(), PgError> {
        let format = match f.to_ascii_lowercase().as_str() {
            "text" => CopyFormat::Text,
            "csv" => CopyFormat::Csv,
            "binary" => CopyFormat::Binary,
            other => {
                return Err(syntax(format!("COPY format \"{other}\" not recognized")));
            }
        };
        if self.format.is_some_and(|x| x != format) {
            return Err(syntax("conflicting or redundant options"));
        }
        self.format = Some(format);
        Ok(())
    }

    /// Applies the defaults of the format and Postgres's consistency rules.
    fn resolve(self, from: bool) -> Result<CopyOptions, PgError> {
        let format = self.format.unwrap_or(CopyFormat::Text);
        let csv = format == CopyFormat::Csv;
        if format == CopyFormat::Binary {
            if self.delimiter.is_some() {
                return Err(syntax("cannot specify DELIMITER in BINARY mode"));
            }
            if self.null.is_some() {
                return Err(syntax("cannot specify NULL in BINARY mode"));
            }
            if self.header.is_some() {
                return Err(syntax("cannot specify HEADER in BINARY mode"));
            }
        }
        let single = |v: Option<String>, what: &str, default: u8| -> Result<u8, PgError> {
            match v {
                None => Ok(default),
                Some(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
                Some(_) => Err(unsupported(format!(
                    "COPY {what} must be a single one-byte character"
                ))),
            }
        };
        if !csv && self.quote.is_some() {
            return Err(unsupported("COPY QUOTE requires CSV mode"));
        }
        if !csv && self.escape.is_some() {
            return Err(unsupported("COPY ESCAPE requires CSV mode"));
        }
        if !csv
            && (self.force_quote.is_set()
                || self.force_not_null.is_set()
                || self.force_null.is_set())
        {
            return Err(unsupported("COPY FORCE options require CSV mode"));
        }
        if from && self.force_quote.is_set() {
            return Err(unsupported(
                "COPY FORCE_QUOTE cannot be used with COPY FROM",
            ));
        }
        if !from && (self.force_not_null.is_set() || self.force_null.is_set()) {
            return Err(unsupported(
                "COPY FORCE_NOT_NULL and FORCE_NULL can only be used with COPY FROM",
            ));
        }
        if !from && self.header == Some(Header::Match) {
            return Err(unsupported("cannot use \"match\" with HEADER in COPY TO"));
        }
        let delimiter = single(self.delimiter, "delimiter", if csv { b',' } else { b'\t' })?;
        let quote = single(self.quote, "quote", b'"')?;
        let escape = single(self.escape, "escape", quote)?;
        let null = self
            .null
            .unwrap_or_else(|| if csv { String::new() } else { "\\N".into() });
        if matches!(delimiter, b'\n' | b'\r') || (!csv && delimiter == b'\\') {
            return Err(PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                "COPY delimiter cannot be newline, carriage return or backslash",
            ));
        }
        if null.contains(['\n', '\r']) {
            return Err(PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                "COPY null representation cannot use newline or carriage return",
            ));
        }
        if csv && delimiter == quote {
            return Err(PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                "COPY delimiter and quote must be different",
            ));
        }
        Ok(CopyOptions {
            format,
            delimiter,
            null,
            header: self.header.unwrap_or(Header::Absent),
            quote,
            escape,
            force_quote: self.force_quote,
            force_not_null: self.force_not_null,
            force_null: self.force_null,
        })
    }
}

/// The options of the COPY statement `sql` (a test's shorthand).
#[cfg(test)]
pub(crate) fn options_of(sql: &str) -> CopyOptions {
    match parse(sql, &floe_sql::tokens::tokenize(sql)) {
        Some(Ok(
            CopyCommand::FromStdin { options, .. } | CopyCommand::ToStdout { options, .. },
        )) => options,
        other => panic!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_sql::tokens::tokenize;

    fn p(sql: &str) -> Option<Result<CopyCommand, PgError>> {
        parse(sql, &tokenize(sql))
    }

    fn from(sql: &str) -> (String, Option<Vec<String>>, CopyOptions) {
        match p(sql) {
            Some(Ok(CopyCommand::FromStdin {
                table,
                columns,
                options,
                ..
            })) => (table, columns, options),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn pg_dump_and_psql_forms() {
        let (t, c, o) = from("COPY public.t (a, \"B\") FROM stdin;");
        assert_eq!(t, "public.t");
        assert_eq!(c, Some(vec!["a".into(), "B".into()]));
        assert_eq!(o.format, CopyFormat::Text);
        assert_eq!(o.delimiter, b'\t');
        assert_eq!(o.null, "\\N");
        let (_, _, o) = from("COPY t FROM STDIN WITH CSV HEADER DELIMITER AS '|' NULL 'x'");
        assert_eq!(o.format, CopyFormat::Csv);
        assert_eq!(o.header, Header::Present);
        assert_eq!(o.delimiter, b'|');
        assert_eq!(o.null, "x");
        let (_, _, o) = from("COPY t FROM STDIN (FORMAT csv, HEADER match, FORCE_NULL (a, b))");
        assert_eq!(o.header, Header::Match);
        assert_eq!(o.force_null, ColumnSet::Some(vec!["a".into(), "b".into()]));
        let (_, _, o) = from("COPY BINARY t FROM STDIN");
        assert_eq!(o.format, CopyFormat::Binary);
    }

    #[test]
    fn copy_to_stdout() {
        match p("COPY (SELECT 1 AS x) TO STDOUT WITH (FORMAT csv, HEADER)") {
            Some(Ok(CopyCommand::ToStdout { query, options })) => {
                assert_eq!(query, "SELECT 1 AS x");
                assert_eq!(options.header, Header::Present);
            }
            other => panic!("{other:?}"),
        }
        match p("copy s.t (a) to stdout") {
            Some(Ok(CopyCommand::ToStdout { query, .. })) => {
                assert_eq!(query, "SELECT \"a\" FROM s.t")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_are_not_copy_through_the_connection() {
        assert!(p("COPY t FROM '/etc/passwd'").is_none());
        assert!(p("COPY t TO '/tmp/x'").is_none());
        assert!(p("SELECT 1").is_none());
    }

    #[test]
    fn bad_options_are_errors() {
        for sql in [
            "COPY t FROM STDIN (FORMAT xml)",
            "COPY t FROM STDIN (DELIMITER '||')",
            "COPY t FROM STDIN (QUOTE '\"')",
            "COPY t FROM STDIN (FORMAT binary, HEADER)",
            "COPY t FROM STDIN (bogus 1)",
            "COPY t TO STDOUT WHERE a > 1",
            "COPY (SELECT 1) FROM STDIN",
        ] {
            assert!(matches!(p(sql), Some(Err(_))), "{sql}");
        }
    }
}
