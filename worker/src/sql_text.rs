//! A small SQL tokenizer for the few decisions the worker makes on statement text
//! before DuckDB sees it: recognizing session and transaction commands, finding
//! `RETURNING`, and typing `$n` placeholders the client declared types for.
//! It understands Postgres quoting (`'…'`, `E'…'`, `"…"`, `$tag$…$tag$`) and comments,
//! so nothing inside literals is ever mistaken for syntax.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An unquoted word (keyword or identifier), as written.
    Word(String),
    /// A double-quoted identifier, unescaped.
    QuotedIdent(String),
    /// A string literal, unescaped.
    Str(String),
    Number(String),
    /// `$n`
    Param(u32),
    /// Any other character or operator.
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

impl Token {
    pub fn is_word(&self, w: &str) -> bool {
        matches!(&self.tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
}

/// Tokenizes `sql`; unterminated literals and comments end at the end of the text.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if (c == b'e' || c == b'E') && b.get(i + 1) == Some(&b'\'') {
            let (s, end) = read_quoted(sql, i + 1, b'\'', true);
            out.push(Token {
                tok: Tok::Str(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'\'' {
            let (s, end) = read_quoted(sql, i, b'\'', false);
            out.push(Token {
                tok: Tok::Str(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'"' {
            let (s, end) = read_quoted(sql, i, b'"', false);
            out.push(Token {
                tok: Tok::QuotedIdent(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'$' {
            // $n placeholder or $tag$ dollar quote.
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 {
                let n = sql[i + 1..j].parse().unwrap_or(0);
                out.push(Token {
                    tok: Tok::Param(n),
                    span: start..j,
                });
                i = j;
                continue;
            }
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < b.len() && b[j] == b'$' {
                let tag = &sql[i..=j];
                let body_start = j + 1;
                let (body, end) = match sql[body_start..].find(tag) {
                    Some(k) => (
                        sql[body_start..body_start + k].to_string(),
                        body_start + k + tag.len(),
                    ),
                    None => (sql[body_start..].to_string(), b.len()),
                };
                out.push(Token {
                    tok: Tok::Str(body),
                    span: start..end,
                });
                i = end;
                continue;
            }
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80)
            {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Word(sql[i..j].to_string()),
                span: start..j,
            });
            i = j;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Number(sql[i..j].to_string()),
                span: start..j,
            });
            i = j;
            continue;
        }
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(Token {
            tok: Tok::Punct(ch),
            span: start..i + ch.len_utf8(),
        });
        i += ch.len_utf8();
    }
    out
}

/// Reads a quoted run starting at `start` (the opening quote); doubled quotes escape
/// themselves, and with `backslashes` so does `\`. Returns the unescaped text and the
/// index after the closing quote.
fn read_quoted(sql: &str, start: usize, q: u8, backslashes: bool) -> (String, usize) {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if backslashes && c == b'\\' && i + 1 < b.len() {
            let n = b[i + 1];
            out.push(match n {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                other => other,
            });
            i += 2;
            continue;
        }
        if c == q {
            if b.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            return (String::from_utf8_lossy(&out).into_owned(), i + 1);
        }
        out.push(c);
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), b.len())
}

/// The first `n` words of the statement, upper-cased (skipping leading parentheses).
pub fn leading_words(tokens: &[Token], n: usize) -> Vec<String> {
    tokens
        .iter()
        .skip_while(|t| t.tok == Tok::Punct('('))
        .take(n)
        .map_while(|t| match &t.tok {
            Tok::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

/// Whether `word` appears as a keyword outside parentheses.
pub fn has_top_level_word(tokens: &[Token], word: &str) -> bool {
    let mut depth = 0i32;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word(word) => return true,
            _ => {}
        }
    }
    false
}

/// Rewrites each `$n` whose type is given into `CAST($n AS type)`, so DuckDB binds
/// the parameter with the type the client declared.
pub fn cast_placeholders(sql: &str, types: &[Option<&'static str>]) -> String {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    for t in &tokens {
        if let Tok::Param(n) = t.tok {
            if let Some(Some(ty)) = types.get((n as usize).wrapping_sub(1)) {
                out.push_str(&sql[last..t.span.start]);
                out.push_str(&format!("CAST(${n} AS {ty})"));
                last = t.span.end;
            }
        }
    }
    out.push_str(&sql[last..]);
    out
}

/// `sql` with every placeholder replaced by `NULL`, keeping any cast written
/// around it (`$1::int` becomes `NULL::int`): a statement with the same result
/// shape that needs no parameter values to be planned.
pub fn null_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for t in tokenize(sql) {
        if let Tok::Param(_) = t.tok {
            out.push_str(&sql[last..t.span.start]);
            out.push_str("NULL");
            last = t.span.end;
        }
    }
    out.push_str(&sql[last..]);
    out
}

/// The type each placeholder `$1..=$count` is explicitly cast to in `sql`
/// (`$n::type` or `CAST($n AS type)`), as written; the first cast wins.
pub fn placeholder_casts(sql: &str, count: usize) -> Vec<Option<String>> {
    let tokens = tokenize(sql);
    let mut casts: Vec<Option<String>> = vec![None; count];
    for (i, t) in tokens.iter().enumerate() {
        let Tok::Param(n) = t.tok else { continue };
        let Some(slot) = (n as usize).checked_sub(1).and_then(|k| casts.get_mut(k)) else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let is_punct = |k: usize, c: char| punct_at(&tokens, k, c);
        let start = if is_punct(i + 1, ':') && is_punct(i + 2, ':') {
            Some(i + 3)
        } else if i >= 2
            && is_punct(i - 1, '(')
            && tokens[i - 2].is_word("CAST")
            && tokens.get(i + 1).is_some_and(|t| t.is_word("AS"))
        {
            Some(i + 2)
        } else {
            None
        };
        if let Some(start) = start {
            *slot = type_name_at(&tokens, start);
        }
    }
    casts
}

/// Whether token `k` is the punctuation `c`.
pub fn punct_at(tokens: &[Token], k: usize, c: char) -> bool {
    matches!(tokens.get(k), Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

/// The type name starting at token `start`: a word, the words that continue
/// multi-word names, a parenthesised modifier and array brackets.
fn type_name_at(tokens: &[Token], start: usize) -> Option<String> {
    const CONTINUATIONS: &[&str] = &["precision", "varying", "with", "without", "time", "zone"];
    let first = tokens.get(start)?;
    if !matches!(first.tok, Tok::Word(_) | Tok::QuotedIdent(_)) {
        return None;
    }
    let mut end = start + 1;
    // A schema-qualified name: `pg_catalog.int4`.
    if punct_at(tokens, end, '.')
        && matches!(
            tokens.get(end + 1),
            Some(Token {
                tok: Tok::Word(_),
                ..
            })
        )
    {
        end += 2;
    }
    while tokens
        .get(end)
        .is_some_and(|t| CONTINUATIONS.iter().any(|w| t.is_word(w)))
    {
        end += 1;
    }
    if punct_at(tokens, end, '(') {
        let mut k = end + 1;
        while punct_at(tokens, k, ',')
            || matches!(
                tokens.get(k),
                Some(Token {
                    tok: Tok::Number(_),
                    ..
                })
            )
        {
            k += 1;
        }
        if punct_at(tokens, k, ')') {
            end = k + 1;
        }
    }
    while punct_at(tokens, end, '[') && punct_at(tokens, end + 1, ']') {
        end += 2;
    }
    // Rebuilt from the tokens, so nothing between them (a comment) is carried.
    let mut name = String::new();
    for t in &tokens[start..end] {
        match &t.tok {
            Tok::Word(w) | Tok::Number(w) => {
                if name.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                    name.push(' ');
                }
                name.push_str(w);
            }
            Tok::QuotedIdent(w) => name.push_str(&floe_catalog::types::quote_ident(w)),
            Tok::Punct(c) => name.push(*c),
            Tok::Str(_) | Tok::Param(_) => return None,
        }
    }
    Some(name)
}

/// A session or transaction command the worker handles itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    Begin,
    Commit,
    Rollback,
    /// `SET [SESSION|LOCAL] name {TO|=} value`; `None` means DEFAULT.
    Set {
        name: String,
        value: Option<String>,
        local: bool,
    },
    Reset(Option<String>),
    Show(String),
    ShowAll,
    DiscardAll,
    /// Accepted for compatibility, with no effect (e.g. `SET SESSION CHARACTERISTICS`).
    NoOp(&'static str),
    /// `COMMIT PREPARED` and the like.
    Unsupported(&'static str),
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    ReleaseSavepoint(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackToSavepoint(String),
    /// A SELECT of only `current_setting('name')` and
    /// `set_config('name', 'value', is_local)` items (asyncpg's
    /// `SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new`):
    /// each item's column name and call, run left to right.
    Settings(Vec<(String, SettingCall)>),
    /// The router returns a pooled connection (control message, never SQL):
    /// everything the client left (transaction, statements, settings) is discarded.
    PoolReset,
    /// The router hands a pooled connection to a new client (control message,
    /// never SQL): its identity and startup parameters.
    PoolSession {
        user: String,
        database: String,
        superuser: bool,
        params: Vec<(String, String)>,
    },
    /// `CREATE SCHEMA [IF NOT EXISTS] name`: a lake namespace.
    CreateSchema {
        name: String,
        if_not_exists: bool,
    },
    /// `DROP SCHEMA [IF EXISTS] a, b [CASCADE | RESTRICT]`: lake namespaces.
    DropSchema {
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    /// `CALL floe_…(args)`: a lakehouse procedure (registering Parquet or an
    /// Iceberg table); arguments are literals, named arguments by position.
    FloeCall {
        procedure: String,
        args: Vec<String>,
    },
    /// The router collects the worker's counters (SSD cache) for `/metrics`
    /// (control message, never SQL); they come back as ParameterStatus messages.
    PoolStats,
    /// `DEALLOCATE [PREPARE] name` or `DEALLOCATE [PREPARE] ALL` (`None`): a
    /// prepared statement, whether SQL or the protocol prepared it.
    Deallocate(Option<String>),
}

/// An identifier as Postgres folds it: unquoted words to lower case.
pub fn identifier(t: &Token) -> Option<String> {
    match &t.tok {
        Tok::Word(w) => Some(w.to_lowercase()),
        Tok::QuotedIdent(q) => Some(q.clone()),
        _ => None,
    }
}

fn token_text(t: &Token) -> String {
    match &t.tok {
        Tok::Word(w) => w.clone(),
        Tok::QuotedIdent(s) | Tok::Str(s) | Tok::Number(s) => s.clone(),
        Tok::Param(n) => format!("${n}"),
        Tok::Punct(c) => c.to_string(),
    }
}

/// The value list of a SET: items separated by commas, each possibly signed.
fn set_value(tokens: &[Token]) -> Option<String> {
    if tokens.len() == 1 && tokens[0].is_word("DEFAULT") {
        return None;
    }
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    for t in tokens {
        match &t.tok {
            Tok::Punct(',') => items.push(std::mem::take(&mut current)),
            Tok::Punct(';') => {}
            _ => {
                if !current.is_empty() && !current.ends_with(['-', '+']) {
                    current.push(' ');
                }
                current.push_str(&token_text(t));
            }
        }
    }
    items.push(current);
    Some(items.join(", "))
}

/// Recognizes statements the session layer owns; `None` means "give it to DuckDB".
/// A setting's name as written after SHOW or RESET: words joined by spaces
/// (`TIME ZONE`), dotted parts joined by dots (`floe.lake_scan`).
fn setting_name(tokens: &[&Token]) -> String {
    let mut name = String::new();
    let mut after_dot = true;
    for t in tokens {
        let dot = t.tok == Tok::Punct('.');
        if !after_dot && !dot {
            name.push(' ');
        }
        name.push_str(&token_text(t));
        after_dot = dot;
    }
    name
}

/// The name in `[SAVEPOINT] name`, folded as an identifier.
fn savepoint_name(tokens: &[&Token]) -> Option<String> {
    match tokens {
        [keyword, name] if keyword.is_word("SAVEPOINT") => identifier(name),
        [name] => identifier(name),
        _ => None,
    }
}

pub fn session_command(tokens: &[Token]) -> Option<SessionCommand> {
    let words = leading_words(tokens, 4);
    let first = words.first()?.as_str();
    let toks: Vec<&Token> = tokens.iter().filter(|t| t.tok != Tok::Punct(';')).collect();
    match first {
        "BEGIN" => Some(SessionCommand::Begin),
        "START" if words.get(1).map(String::as_str) == Some("TRANSACTION") => {
            Some(SessionCommand::Begin)
        }
        "COMMIT" | "END" => {
            if words.get(1).map(String::as_str) == Some("PREPARED") {
                Some(SessionCommand::Unsupported("COMMIT PREPARED"))
            } else {
                Some(SessionCommand::Commit)
            }
        }
        "ROLLBACK" | "ABORT" => {
            if let Some(to) = toks.iter().position(|t| t.is_word("TO")) {
                savepoint_name(&toks[to + 1..]).map(SessionCommand::RollbackToSavepoint)
            } else if words.get(1).map(String::as_str) == Some("PREPARED") {
                Some(SessionCommand::Unsupported("ROLLBACK PREPARED"))
            } else {
                Some(SessionCommand::Rollback)
            }
        }
        "SAVEPOINT" => savepoint_name(&toks[1..]).map(SessionCommand::Savepoint),
        "CREATE" if words.get(1).map(String::as_str) == Some("SCHEMA") => {
            let rest: Vec<&Token> = toks.iter().skip(2).copied().collect();
            let if_not_exists = rest.len() >= 3
                && rest[0].is_word("IF")
                && rest[1].is_word("NOT")
                && rest[2].is_word("EXISTS");
            let rest = if if_not_exists { &rest[3..] } else { &rest[..] };
            // `CREATE SCHEMA name` alone; AUTHORIZATION and schema elements go
            // to the engine (and fail there).
            match rest {
                [name] => identifier(name).map(|name| SessionCommand::CreateSchema {
                    name,
                    if_not_exists,
                }),
                _ => None,
            }
        }
        "DROP" if words.get(1).map(String::as_str) == Some("SCHEMA") => {
            let mut rest: Vec<&Token> = toks.iter().skip(2).copied().collect();
            let if_exists = rest.len() >= 2 && rest[0].is_word("IF") && rest[1].is_word("EXISTS");
            if if_exists {
                rest.drain(..2);
            }
            let cascade = rest.last().is_some_and(|t| t.is_word("CASCADE"));
            if cascade || rest.last().is_some_and(|t| t.is_word("RESTRICT")) {
                rest.pop();
            }
            let mut names = Vec::new();
            for (i, t) in rest.iter().enumerate() {
                if i % 2 == 1 {
                    if t.tok != Tok::Punct(',') {
                        return None;
                    }
                } else {
                    names.push(identifier(t)?);
                }
            }
            (!names.is_empty()).then_some(SessionCommand::DropSchema {
                names,
                if_exists,
                cascade,
            })
        }
        "CALL"
            if words
                .get(1)
                .is_some_and(|w| w.to_ascii_lowercase().starts_with("floe_")) =>
        {
            let args = toks
                .iter()
                .skip(2)
                .filter_map(|t| match &t.tok {
                    Tok::Str(s) | Tok::Number(s) => Some(s.clone()),
                    Tok::Word(w)
                        if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
                    {
                        Some(w.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect();
            Some(SessionCommand::FloeCall {
                procedure: words[1].to_ascii_lowercase(),
                args,
            })
        }
        "RELEASE" => savepoint_name(&toks[1..]).map(SessionCommand::ReleaseSavepoint),
        "DEALLOCATE" => {
            let rest = match &toks[1..] {
                [prepare, rest @ ..] if prepare.is_word("PREPARE") => rest,
                rest => rest,
            };
            match rest {
                [all] if all.is_word("ALL") => Some(SessionCommand::Deallocate(None)),
                [name] => identifier(name).map(|n| SessionCommand::Deallocate(Some(n))),
                _ => None,
            }
        }
        "DISCARD" => match words.get(1).map(String::as_str) {
            Some("ALL") => Some(SessionCommand::DiscardAll),
            _ => Some(SessionCommand::NoOp("DISCARD")),
        },
        "SELECT" => set_config_call(&toks),
        "SHOW" => {
            let rest = &toks[1..];
            if rest.len() == 1 && rest[0].is_word("ALL") {
                return Some(SessionCommand::ShowAll);
            }
            Some(SessionCommand::Show(setting_name(rest)))
        }
        "RESET" => {
            let rest = &toks[1..];
            if rest.len() == 1 && rest[0].is_word("ALL") {
                return Some(SessionCommand::Reset(None));
            }
            Some(SessionCommand::Reset(Some(setting_name(rest))))
        }
        "SET" => {
            let mut rest = &toks[1..];
            let mut local = false;
            if rest.first().is_some_and(|t| t.is_word("SESSION")) {
                if rest
                    .get(1)
                    .is_some_and(|t| t.is_word("CHARACTERISTICS") || t.is_word("AUTHORIZATION"))
                {
                    return Some(SessionCommand::NoOp("SET"));
                }
                rest = &rest[1..];
            } else if rest.first().is_some_and(|t| t.is_word("LOCAL")) {
                local = true;
                rest = &rest[1..];
            }
            if rest.first().is_some_and(|t| t.is_word("TRANSACTION")) {
                return Some(SessionCommand::NoOp("SET"));
            }
            if rest.len() >= 2 && rest[0].is_word("TIME") && rest[1].is_word("ZONE") {
                let v = &rest[2..];
                let owned: Vec<Token> = v.iter().map(|t| (*t).clone()).collect();
                let value = if owned.len() == 1 && owned[0].is_word("LOCAL") {
                    None
                } else {
                    set_value(&owned)
                };
                return Some(SessionCommand::Set {
                    name: "TimeZone".into(),
                    value,
                    local,
                });
            }
            if rest.first().is_some_and(|t| t.is_word("NAMES")) {
                let owned: Vec<Token> = rest[1..].iter().map(|t| (*t).clone()).collect();
                return Some(SessionCommand::Set {
                    name: "client_encoding".into(),
                    value: set_value(&owned),
                    local,
                });
            }
            // name may be qualified (a.b); then TO or =.
            let mut name = String::new();
            let mut idx = 0;
            while idx < rest.len() {
                let t = rest[idx];
                if t.is_word("TO") || t.tok == Tok::Punct('=') {
                    break;
                }
                name.push_str(&token_text(t));
                idx += 1;
            }
            if idx >= rest.len() || name.is_empty() {
                return None;
            }
            let owned: Vec<Token> = rest[idx + 1..].iter().map(|t| (*t).clone()).collect();
            Some(SessionCommand::Set {
                name,
                value: set_value(&owned),
                local,
            })
        }
        _ => None,
    }
}

/// One item of a settings SELECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingCall {
    /// `current_setting('name')`.
    Read(String),
    /// `set_config('name', value, is_local)`.
    Write {
        name: String,
        value: SettingValue,
        local: bool,
    },
}

/// The value `set_config` is given: written in the statement, or a placeholder
/// (asyncpg's `SELECT set_config('jit', $1, false)`) filled in at Bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    Text(String),
    /// `$n`, 1-based.
    Param(u32),
    /// A NULL value (a NULL bound to a placeholder): the parameter's default.
    Default,
}

impl SettingCall {
    pub fn name(&self) -> &str {
        match self {
            SettingCall::Read(name) | SettingCall::Write { name, .. } => name,
        }
    }
}

/// Recognizes a SELECT whose items are all `[pg_catalog.]current_setting('n')`
/// or `[pg_catalog.]set_config('n', 'v', b)`, each optionally aliased.
fn set_config_call(toks: &[&Token]) -> Option<SessionCommand> {
    let rest: Vec<&Tok> = toks[1..].iter().map(|t| &t.tok).collect();
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        if matches!(rest.get(i), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pg_catalog"))
            && rest.get(i + 1) == Some(&&Tok::Punct('.'))
        {
            i += 2;
        }
        let Some(Tok::Word(function)) = rest.get(i) else {
            return None;
        };
        let function = function.to_ascii_lowercase();
        let (call, width) = match (function.as_str(), rest.get(i + 1..).unwrap_or(&[])) {
            ("current_setting", [Tok::Punct('('), Tok::Str(name), Tok::Punct(')'), ..]) => {
                (SettingCall::Read(name.clone()), 4)
            }
            (
                "set_config",
                [Tok::Punct('('), Tok::Str(name), Tok::Punct(','), value, Tok::Punct(','), Tok::Word(local), Tok::Punct(')'), ..],
            ) => {
                let value = match value {
                    Tok::Str(v) => SettingValue::Text(v.clone()),
                    Tok::Param(n) => SettingValue::Param(*n),
                    _ => return None,
                };
                let local = match local.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                };
                let name = name.clone();
                (SettingCall::Write { name, value, local }, 8)
            }
            _ => return None,
        };
        i += width;
        let column = match (rest.get(i), rest.get(i + 1)) {
            (Some(Tok::Word(a)), Some(Tok::Word(alias))) if a.eq_ignore_ascii_case("as") => {
                i += 2;
                alias.to_ascii_lowercase()
            }
            (Some(Tok::Word(a)), Some(Tok::QuotedIdent(alias))) if a.eq_ignore_ascii_case("as") => {
                i += 2;
                alias.clone()
            }
            (Some(Tok::QuotedIdent(alias)), _) => {
                i += 1;
                alias.clone()
            }
            _ => function,
        };
        items.push((column, call));
        match rest.get(i) {
            None => return Some(SessionCommand::Settings(items)),
            Some(Tok::Punct(',')) => i += 1,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_nulls_and_keep_their_casts() {
        assert_eq!(
            null_placeholders("select json_object($1::VARCHAR, x) where y = '$2' and z = $2"),
            "select json_object(NULL::VARCHAR, x) where y = '$2' and z = NULL"
        );
        assert_eq!(
            placeholder_casts(
                "select $1::double precision, CAST($2 AS character varying(20)[]), $3, $4::pg_catalog.int4 as a, $1::int",
                5
            ),
            vec![
                Some("double precision".to_string()),
                Some("character varying(20)[]".to_string()),
                None,
                Some("pg_catalog.int4".to_string()),
                None
            ]
        );
        assert_eq!(placeholder_casts("select $9::int", 1), vec![None]);
    }

    #[test]
    fn literals_hide_their_contents() {
        let t = tokenize("SELECT 'a;b''c', E'x\\'y', $$ $1 $$, \"Col\"\"X\" -- $2\n/* $3 */ $4");
        let params: Vec<u32> = t
            .iter()
            .filter_map(|t| {
                if let Tok::Param(n) = t.tok {
                    Some(n)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(params, vec![4]);
        assert!(t.iter().any(|t| t.tok == Tok::Str("a;b'c".into())));
        assert!(t.iter().any(|t| t.tok == Tok::Str("x'y".into())));
        assert!(t.iter().any(|t| t.tok == Tok::QuotedIdent("Col\"X".into())));
    }

    #[test]
    fn placeholders_get_casts() {
        let sql = "SELECT $1, '$1', $2 + 1";
        assert_eq!(
            cast_placeholders(sql, &[Some("INTEGER"), None]),
            "SELECT CAST($1 AS INTEGER), '$1', $2 + 1"
        );
    }

    #[test]
    fn returning_is_found_only_at_top_level() {
        assert!(has_top_level_word(
            &tokenize("INSERT INTO t VALUES (1) RETURNING id"),
            "RETURNING"
        ));
        assert!(!has_top_level_word(
            &tokenize("INSERT INTO t SELECT 'returning'"),
            "RETURNING"
        ));
    }

    #[test]
    fn session_commands_parse() {
        let c = |s: &str| session_command(&tokenize(s));
        assert_eq!(c("begin"), Some(SessionCommand::Begin));
        assert_eq!(
            c("START TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Some(SessionCommand::Begin)
        );
        assert_eq!(c("end;"), Some(SessionCommand::Commit));
        assert_eq!(
            c("SET TimeZone TO 'Europe/Paris'"),
            Some(SessionCommand::Set {
                name: "TimeZone".into(),
                value: Some("Europe/Paris".into()),
                local: false
            })
        );
        assert_eq!(
            c("set local statement_timeout = 5000"),
            Some(SessionCommand::Set {
                name: "statement_timeout".into(),
                value: Some("5000".into()),
                local: true
            })
        );
        assert_eq!(
            c("SET search_path TO myschema, public"),
            Some(SessionCommand::Set {
                name: "search_path".into(),
                value: Some("myschema, public".into()),
                local: false
            })
        );
        assert_eq!(
            c("SET TIME ZONE -8"),
            Some(SessionCommand::Set {
                name: "TimeZone".into(),
                value: Some("-8".into()),
                local: false
            })
        );
        assert_eq!(
            c("SET application_name = DEFAULT"),
            Some(SessionCommand::Set {
                name: "application_name".into(),
                value: None,
                local: false
            })
        );
        assert_eq!(c("SHOW ALL"), Some(SessionCommand::ShowAll));
        assert_eq!(
            c("show DateStyle"),
            Some(SessionCommand::Show("DateStyle".into()))
        );
        assert_eq!(
            c("SHOW transaction isolation level"),
            Some(SessionCommand::Show("transaction isolation level".into()))
        );
        assert_eq!(c("RESET ALL"), Some(SessionCommand::Reset(None)));
        assert_eq!(
            c("SAVEPOINT a"),
            Some(SessionCommand::Savepoint("a".into()))
        );
        assert_eq!(
            c("RELEASE SAVEPOINT \"B\""),
            Some(SessionCommand::ReleaseSavepoint("B".into()))
        );
        assert_eq!(
            c("ROLLBACK TRANSACTION TO SAVEPOINT Sp1"),
            Some(SessionCommand::RollbackToSavepoint("sp1".into()))
        );
        assert_eq!(
            c("rollback to x"),
            Some(SessionCommand::RollbackToSavepoint("x".into()))
        );
        assert_eq!(c("SELECT 1"), None);
        // The router's control travels as typed messages: no text is one.
        assert_eq!(c("FLOE RESET"), None);
        assert_eq!(c("FLOE STATS"), None);
        assert_eq!(
            c("CALL floe_register_parquet('logs.events', 's3://b/l/', hive_partitioning => true);"),
            Some(SessionCommand::FloeCall {
                procedure: "floe_register_parquet".into(),
                args: vec!["logs.events".into(), "s3://b/l/".into(), "true".into()],
            })
        );
        assert_eq!(c("CALL other_proc(1)"), None);
        assert_eq!(
            c("CREATE SCHEMA IF NOT EXISTS Sales"),
            Some(SessionCommand::CreateSchema {
                name: "sales".into(),
                if_not_exists: true
            })
        );
        assert_eq!(c("CREATE SCHEMA s AUTHORIZATION bob"), None);
        assert_eq!(
            c("DROP SCHEMA IF EXISTS a, \"B\" CASCADE;"),
            Some(SessionCommand::DropSchema {
                names: vec!["a".into(), "B".into()],
                if_exists: true,
                cascade: true
            })
        );
        assert_eq!(
            c("drop schema a restrict"),
            Some(SessionCommand::DropSchema {
                names: vec!["a".into()],
                if_exists: false,
                cascade: false
            })
        );
        assert_eq!(c("FLOE SESSION 'user' 'alice' 'floe.superuser' 'on'"), None);
        assert_eq!(
            c("SELECT pg_catalog.set_config('search_path', 'public', false)"),
            Some(SessionCommand::Settings(vec![(
                "set_config".into(),
                SettingCall::Write {
                    name: "search_path".into(),
                    value: SettingValue::Text("public".into()),
                    local: false
                }
            )]))
        );
        assert_eq!(
            c("SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new"),
            Some(SessionCommand::Settings(vec![
                ("cur".into(), SettingCall::Read("jit".into())),
                (
                    "new".into(),
                    SettingCall::Write {
                        name: "jit".into(),
                        value: SettingValue::Text("off".into()),
                        local: false
                    }
                ),
            ]))
        );
        assert_eq!(
            c("SELECT set_config('jit', $1, false)"),
            Some(SessionCommand::Settings(vec![(
                "set_config".into(),
                SettingCall::Write {
                    name: "jit".into(),
                    value: SettingValue::Param(1),
                    local: false
                }
            )]))
        );
        assert_eq!(c("SELECT set_config($1, 'off', false)"), None);
        assert_eq!(c("SELECT set_config('a', 'b', false), 1"), None);
        assert_eq!(c("SELECT current_setting('a') x y"), None);
    }
}
