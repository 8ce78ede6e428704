//! `$n` placeholders in statement text: typed where the client declared a type
//! (`CAST($1 AS integer)`, so the engine binds it as such), turned into NULLs
//! for describing a statement before it is bound, and the casts written after
//! each read back.

use floe_sql::tokens::{punct_at, tokenize, Tok, Token};

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
            Tok::QuotedIdent(w) => name.push_str(&floe_sql::quote::ident(w)),
            Tok::Punct(c) => name.push(*c),
            Tok::Str(_) | Tok::Param(_) => return None,
        }
    }
    Some(name)
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
    fn placeholders_get_casts() {
        let sql = "SELECT $1, '$1', $2 + 1";
        assert_eq!(
            cast_placeholders(sql, &[Some("INTEGER"), None]),
            "SELECT CAST($1 AS INTEGER), '$1', $2 + 1"
        );
    }
}
