//! `current_setting('name' [, missing_ok])` answered from the session's own
//! parameters (the engine's function would read the engine's settings). The
//! policy lets only literal names of Postgres parameters through, so each call
//! becomes the literal value the session holds when the statement is planned.

use crate::pg_error::{sqlstate, PgError};
use crate::settings::SessionParams;
use crate::sql_text::{punct_at, Tok, Token};

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
    for (i, t) in tokens.iter().enumerate() {
        if !t.is_word("current_setting") || !punct(i + 1, '(') {
            continue;
        }
        let Some(Token {
            tok: Tok::Str(name),
            ..
        }) = tokens.get(i + 2)
        else {
            continue;
        };
        let (missing_ok, close) = if punct(i + 3, ')') {
            (false, i + 3)
        } else if punct(i + 3, ',') && punct(i + 5, ')') {
            match tokens.get(i + 4) {
                Some(b) if b.is_word("true") => (true, i + 5),
                Some(b) if b.is_word("false") => (false, i + 5),
                _ => continue,
            }
        } else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_text::tokenize;

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
             floe_current_setting(CAST(NULL AS VARCHAR)), current_setting(x)"
        );
        let bad = "SELECT current_setting('nope')";
        let err = inline_current_settings(bad, &tokenize(bad), &params).expect_err("unknown");
        assert_eq!(err.code, "42704");
    }
}
