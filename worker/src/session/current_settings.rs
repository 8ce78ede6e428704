//! `current_setting('name' [, missing_ok])` answered from the session's own
//! parameters (the engine's function would read the engine's settings). A
//! literal name becomes the literal value the session holds when the
//! statement is planned; any other argument becomes `floe_setting_of(…)`,
//! which looks the name up as the statement runs among the session's
//! parameters and PostgreSQL's defaults (`settings_view`).

use crate::compat::settings::SessionParams;
use crate::pg_error::{sqlstate, PgError};
use floe_sql::tokens::{punct_at, Tok, Token};

/// `sql` with every `current_setting('name' [, missing_ok])` call replaced by
/// the parameter's value; `None` when it has none.
pub(super) fn inline_current_settings(
    sql: &str,
    tokens: &[Token],
    params: &SessionParams,
) -> Result<Option<String>, PgError> {
    let punct = |k: usize, c: char| punct_at(tokens, k, c);
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    let mut changed = false;
    // Where the calls of computed names end, each closing the wrapper too.
    let mut wrapped_ends = std::collections::HashSet::new();
    for (i, t) in tokens.iter().enumerate() {
        if wrapped_ends.contains(&i) {
            out.push_str(&sql[last..t.span.end]);
            out.push(')');
            last = t.span.end;
        }
        if !t.is_word("current_setting") || !punct(i + 1, '(') {
            continue;
        }
        let Some((name, missing_ok, close)) = literal_call(tokens, i) else {
            // A name the statement computes: looked up as it runs, among the
            // session's parameters and PostgreSQL's (never the engine's), and
            // named as Postgres names the call's column.
            let Some(end) = closing_paren(tokens, i + 1) else {
                continue;
            };
            out.push_str(&sql[last..t.span.start]);
            out.push_str("floe_current_setting(floe_setting_of");
            last = t.span.end;
            wrapped_ends.insert(end);
            changed = true;
            continue;
        };
        let value = match params.show(name) {
            Some((_, value)) => format!("'{}'", value.replace('\'', "''")),
            None if missing_ok => "NULL".to_string(),
            None => {
                return Err(PgError::new(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                ))
            }
        };
        // Typed as text, and named as Postgres names the call's column.
        out.push_str(&sql[last..t.span.start]);
        out.push_str(&format!("floe_current_setting(CAST({value} AS VARCHAR))"));
        last = tokens[close].span.end;
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    out.push_str(&sql[last..]);
    Ok(Some(out))
}

/// The token closing the parenthesis opened at token `open`.
fn closing_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// `current_setting('name' [, true|false])` at token `i`: the name, whether a
/// missing parameter is NULL rather than an error, and the closing token.
fn literal_call(tokens: &[Token], i: usize) -> Option<(&str, bool, usize)> {
    let punct = |k: usize, c: char| punct_at(tokens, k, c);
    let Some(Token {
        tok: Tok::Str(name),
        ..
    }) = tokens.get(i + 2)
    else {
        return None;
    };
    if punct(i + 3, ')') {
        return Some((name, false, i + 3));
    }
    if punct(i + 3, ',') && punct(i + 5, ')') {
        return match tokens.get(i + 4) {
            Some(b) if b.is_word("true") => Some((name, true, i + 5)),
            Some(b) if b.is_word("false") => Some((name, false, i + 5)),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_sql::tokens::tokenize;

    #[test]
    fn calls_become_the_sessions_values() {
        let params = SessionParams::new("floe", &[], &[]);
        let sql = "SELECT current_setting('server_version_num')::int, current_setting('nope', true), current_setting(x)";
        let out = inline_current_settings(sql, &tokenize(sql), &params)
            .expect("inlined")
            .expect("changed");
        assert_eq!(
            out,
            "SELECT floe_current_setting(CAST('150008' AS VARCHAR))::int, \
             floe_current_setting(CAST(NULL AS VARCHAR)), \
             floe_current_setting(floe_setting_of(x))"
        );
        let nested = "SELECT current_setting(current_setting('search_path') || n, true) FROM t";
        let out = inline_current_settings(nested, &tokenize(nested), &params)
            .expect("inlined")
            .expect("changed");
        assert_eq!(
            out,
            "SELECT floe_current_setting(floe_setting_of(\
             floe_current_setting(CAST('\"$user\", public' AS VARCHAR)) || n, true)) FROM t"
        );
        let bad = "SELECT current_setting('nope')";
        let err = inline_current_settings(bad, &tokenize(bad), &params).expect_err("unknown");
        assert_eq!(err.code, "42704");
    }
}
