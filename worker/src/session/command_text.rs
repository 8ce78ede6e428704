//! Session and transaction commands the worker answers itself, read from a
//! statement's tokens: BEGIN/COMMIT/ROLLBACK and savepoints, SET/RESET/SHOW,
//! `set_config`/`current_setting` calls, DEALLOCATE, DISCARD, and the control
//! messages the router sends turned into the same commands.

use floe_sql::tokens::{identifier, leading_words, Tok, Token};

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
    /// `DISCARD SEQUENCES`: `currval` and `lastval` forgotten.
    DiscardSequences,
    /// `DISCARD TEMP`: the session's TEMP relations dropped.
    DiscardTemp,
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
            Some("ALL") if words.len() == 2 => Some(SessionCommand::DiscardAll),
            Some("SEQUENCES") if words.len() == 2 => Some(SessionCommand::DiscardSequences),
            Some("TEMP" | "TEMPORARY") if words.len() == 2 => Some(SessionCommand::DiscardTemp),
            Some("PLANS") if words.len() == 2 => Some(SessionCommand::NoOp("DISCARD PLANS")),
            _ => None,
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
    use floe_sql::tokens::tokenize;

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
        assert_eq!(c("RESET ALL"), Some(SessionCommand::Reset(None)));
        // Commands that name one thing: (text, command, the name as read).
        type Named = fn(String) -> SessionCommand;
        let named: [(&str, Named, &str); 6] = [
            ("show DateStyle", SessionCommand::Show, "DateStyle"),
            (
                "SHOW transaction isolation level",
                SessionCommand::Show,
                "transaction isolation level",
            ),
            ("SAVEPOINT a", SessionCommand::Savepoint, "a"),
            (
                "RELEASE SAVEPOINT \"B\"",
                SessionCommand::ReleaseSavepoint,
                "B",
            ),
            (
                "ROLLBACK TRANSACTION TO SAVEPOINT Sp1",
                SessionCommand::RollbackToSavepoint,
                "sp1",
            ),
            ("rollback to x", SessionCommand::RollbackToSavepoint, "x"),
        ];
        for (sql, command, name) in named {
            assert_eq!(c(sql), Some(command(name.to_string())), "{sql}");
        }
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
