//! PostgreSQL's sequence functions on lake sequences: `nextval('s')`,
//! `currval('s')`, `setval('s', …)` (the name also as `'s'::regclass`) and
//! `lastval()` become the engine's `floe_nextval('schema.s')` and friends
//! (`functions::sequences`), the name resolved through the search path as
//! PostgreSQL resolves a regclass. Calls naming no lake sequence stay as they
//! are (the session's own engine sequences).

use floe_catalog::Listing;
use floe_sql::tokens::{Tok, Token};

use crate::lake::names::NameContext;
use crate::lake::write::sequence_named;
use crate::pg_error::PgError;

/// Whether `tokens` call a sequence function (a cheap test first).
pub(crate) fn mentions_sequence_functions(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| {
        t.is_word("nextval") || t.is_word("currval") || t.is_word("setval") || t.is_word("lastval")
    })
}

/// `sql` with its calls of sequence functions on lake sequences rewritten;
/// `None` when there are none. A name in a lake schema that holds no such
/// sequence is an error (42P01), as PostgreSQL's regclass lookup is.
pub(crate) fn rewrite_sequence_calls(
    listing: &Listing,
    sql: &str,
    tokens: &[Token],
    names: &NameContext<'_>,
) -> Result<Option<String>, PgError> {
    // (span to replace, replacement), in order.
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let punct =
        |i: usize, c: char| matches!(tokens.get(i).map(|t| &t.tok), Some(Tok::Punct(p)) if *p == c);
    for (i, t) in tokens.iter().enumerate() {
        let Tok::Word(word) = &t.tok else { continue };
        let word = word.to_ascii_lowercase();
        // A qualified call (`x.nextval(`) is not PostgreSQL's function.
        if i > 0 && punct(i - 1, '.') {
            continue;
        }
        match word.as_str() {
            "lastval"
                if punct(i + 1, '(')
                    && punct(i + 2, ')')
                    && listing.schemas.iter().any(|s| !s.sequences.is_empty()) =>
            {
                edits.push((t.span.clone(), "floe_lastval".into()));
            }
            "nextval" | "currval" | "setval" if punct(i + 1, '(') => {
                let Some(Tok::Str(name)) = tokens.get(i + 2).map(|t| &t.tok) else {
                    continue;
                };
                let qualified = match sequence_named(listing, name, names) {
                    Ok(q) => q,
                    Err(e) => {
                        let parts = floe_sql::spans::split_name(name).unwrap_or_default();
                        let in_lake_schema = match parts.as_slice() {
                            [schema, _] => listing.schema(schema).is_some(),
                            [db, schema, _] => {
                                db.eq_ignore_ascii_case(names.database)
                                    && listing.schema(schema).is_some()
                            }
                            _ => false,
                        };
                        if in_lake_schema {
                            return Err(e);
                        }
                        continue;
                    }
                };
                let mut end = tokens[i + 2].span.end;
                // `'s'::regclass`: the cast goes with the name.
                if punct(i + 3, ':')
                    && punct(i + 4, ':')
                    && tokens.get(i + 5).is_some_and(|t| t.is_word("regclass"))
                {
                    end = tokens[i + 5].span.end;
                }
                edits.push((t.span.clone(), format!("floe_{word}")));
                edits.push((
                    tokens[i + 2].span.start..end,
                    floe_sql::quote::literal(&qualified),
                ));
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(sql.len() + 32);
    let mut at = 0;
    for (span, text) in edits {
        out.push_str(&sql[at..span.start]);
        out.push_str(&text);
        at = span.end;
    }
    out.push_str(&sql[at..]);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_catalog::SchemaEntry;
    use iceberg::NamespaceIdent;

    fn listing() -> Listing {
        Listing::new(vec![SchemaEntry {
            name: "app".into(),
            ident: NamespaceIdent::new("app".into()),
            tables: vec!["t".into()],
            views: Vec::new(),
            parquet: Vec::new(),
            sequences: vec!["s".into()],
        }])
    }

    fn rewritten(sql: &str, search_path: &str) -> Result<Option<String>, PgError> {
        let names = NameContext {
            search_path,
            user: "floe",
            database: "floe",
            txn: None,
            temp: &[],
        };
        let tokens = floe_sql::tokens::tokenize(sql);
        rewrite_sequence_calls(&listing(), sql, &tokens, &names)
    }

    #[test]
    fn calls_on_lake_sequences_name_them_in_full() {
        assert_eq!(
            rewritten("SELECT nextval('s'), currval('app.s')", "app").unwrap(),
            Some("SELECT floe_nextval('app.s'), floe_currval('app.s')".into())
        );
        assert_eq!(
            rewritten("SELECT setval('app.s'::regclass, 5, false)", "public").unwrap(),
            Some("SELECT floe_setval('app.s', 5, false)".into())
        );
        assert_eq!(
            rewritten("SELECT lastval()", "public").unwrap(),
            Some("SELECT floe_lastval()".into())
        );
    }

    #[test]
    fn other_sequences_are_left_to_the_session() {
        assert_eq!(
            rewritten("SELECT nextval('local_seq')", "public").unwrap(),
            None
        );
        assert_eq!(rewritten("SELECT x.nextval('s')", "app").unwrap(), None);
        let missing = rewritten("SELECT nextval('app.nothing')", "public").unwrap_err();
        assert_eq!(missing.code, "42P01");
    }
}
