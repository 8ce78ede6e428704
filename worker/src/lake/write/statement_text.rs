//! Pieces of a write statement's text the planner splices into engine SQL:
//! the WHERE clause, the tables of `USING`/`FROM`, names and parenthesised lists skipped.

use super::*;

/// The text after the statement's top-level `WHERE`, if it has one.
pub(super) fn where_text(sql: &str, tokens: &[Token]) -> Option<String> {
    let mut depth = 0i32;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word("WHERE") => {
                return Some(trim_statement(&sql[t.span.end..]).to_string());
            }
            _ => {}
        }
    }
    None
}

/// The text of the top-level clause that `keyword` (FROM of an UPDATE, USING of
/// a DELETE) starts, up to WHERE or the end: the tables joined to the target.
pub(super) fn joined_tables(
    sql: &str,
    tokens: &[Token],
    keyword: &str,
    after: &str,
) -> Option<String> {
    let mut depth = 0i32;
    let mut seen_after = false;
    let mut start = None;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word(after) => seen_after = true,
            _ if depth == 0 && seen_after && start.is_none() && t.is_word(keyword) => {
                start = Some(t.span.end);
            }
            _ if depth == 0 && t.is_word("WHERE") => {
                return start.map(|s| sql[s..t.span.start].trim().to_string());
            }
            _ => {}
        }
    }
    start.map(|s| trim_statement(&sql[s..]).to_string())
}

pub(super) fn trim_statement(s: &str) -> &str {
    s.trim().trim_end_matches(';').trim_end()
}

pub(super) fn skip_name(tokens: &[Token], mut i: usize) -> usize {
    loop {
        i += 1; // the identifier
        if tokens.get(i).is_some_and(|t| t.tok == Tok::Punct('.')) {
            i += 1;
        } else {
            return i;
        }
    }
}

pub(super) fn skip_parens(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0;
    while let Some(t) = tokens.get(i) {
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses_are_the_top_level_ones() {
        let sql = "DELETE FROM s.t WHERE id IN (SELECT id FROM u WHERE x > 1) AND y = 'WHERE';";
        assert_eq!(
            where_text(sql, &floe_sql::tokens::tokenize(sql)).as_deref(),
            Some("id IN (SELECT id FROM u WHERE x > 1) AND y = 'WHERE'")
        );
        let sql = "DELETE FROM s.t";
        assert_eq!(where_text(sql, &floe_sql::tokens::tokenize(sql)), None);
    }

    #[test]
    fn joined_tables_run_from_their_keyword_to_where() {
        let sql = "UPDATE s.t SET a = u.a FROM s.u u, (SELECT 1) v WHERE t.id = u.id";
        assert_eq!(
            joined_tables(sql, &floe_sql::tokens::tokenize(sql), "FROM", "SET").as_deref(),
            Some("s.u u, (SELECT 1) v")
        );
        let sql = "DELETE FROM s.t USING s.u;";
        assert_eq!(
            joined_tables(sql, &floe_sql::tokens::tokenize(sql), "USING", "FROM").as_deref(),
            Some("s.u")
        );
        let sql = "DELETE FROM s.t WHERE id = 1";
        assert_eq!(
            joined_tables(sql, &floe_sql::tokens::tokenize(sql), "USING", "FROM"),
            None
        );
    }

    #[test]
    fn names_and_parentheses_are_skipped_whole() {
        let toks = floe_sql::tokens::tokenize("a.b.c (x, (y)) z");
        assert_eq!(skip_name(&toks, 0), 5);
        assert_eq!(skip_parens(&toks, 5), 12);
        assert_eq!(trim_statement("  SELECT 1 ;  "), "SELECT 1");
    }
}
