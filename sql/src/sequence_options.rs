//! `CREATE SEQUENCE` options in any order, as PostgreSQL takes them, written
//! in the one order the SQL parser reads (`AS`, `INCREMENT`, `MINVALUE`,
//! `MAXVALUE`, `START`, `CACHE`, `CYCLE`, `OWNED BY`), so that the policy
//! and the worker parse `CREATE SEQUENCE s START 5 INCREMENT 5` as PostgreSQL
//! does. A repeated option is left for the parser to refuse.

use crate::tokens::{tokenize, Tok, Token};

/// The rank of the option a word starts (`NO` ranks by the word after it).
fn rank(tokens: &[Token], i: usize) -> Option<usize> {
    let word = |i: usize| match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    };
    let w = word(i)?;
    let w = if w == "NO" { word(i + 1)? } else { w };
    Some(match w.as_str() {
        "AS" => 0,
        "INCREMENT" => 1,
        "MINVALUE" => 2,
        "MAXVALUE" => 3,
        "START" => 4,
        "CACHE" => 5,
        "CYCLE" => 6,
        "OWNED" => 7,
        _ => return None,
    })
}

/// `sql` (one `CREATE [TEMP] SEQUENCE` statement) with its options in the
/// parser's order; `None` when it is not one or is already in order.
pub fn in_parser_order(sql: &str) -> Option<String> {
    let tokens = tokenize(sql);
    let is = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(w));
    if !is(0, "CREATE") {
        return None;
    }
    let mut i = 1;
    while is(i, "TEMP") || is(i, "TEMPORARY") || is(i, "UNLOGGED") {
        i += 1;
    }
    if !is(i, "SEQUENCE") {
        return None;
    }
    i += 1;
    if is(i, "IF") && is(i + 1, "NOT") && is(i + 2, "EXISTS") {
        i += 3;
    }
    // The name: parts separated by dots.
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Word(_) | Tok::QuotedIdent(_)) => i += 1,
            _ => return None,
        }
        if matches!(tokens.get(i).map(|t| &t.tok), Some(Tok::Punct('.'))) {
            i += 1;
        } else {
            break;
        }
    }
    let options_start = i;
    // (rank, first token, end token) of each option.
    let mut groups: Vec<(usize, usize, usize)> = Vec::new();
    while i < tokens.len() {
        if matches!(tokens[i].tok, Tok::Punct(';')) {
            break;
        }
        let r = rank(&tokens, i)?;
        let start = i;
        i += if is(i, "NO") { 2 } else { 1 };
        while i < tokens.len()
            && rank(&tokens, i).is_none()
            && !matches!(tokens[i].tok, Tok::Punct(';'))
        {
            i += 1;
        }
        groups.push((r, start, i));
    }
    if groups.windows(2).all(|w| w[0].0 < w[1].0) {
        return None;
    }
    let text =
        |(_, s, e): &(usize, usize, usize)| &sql[tokens[*s].span.start..tokens[*e - 1].span.end];
    let mut sorted = groups.clone();
    sorted.sort_by_key(|g| g.0);
    let head = &sql[..tokens.get(options_start)?.span.start];
    let tail_start = groups
        .last()
        .map_or(sql.len(), |g| tokens[g.2 - 1].span.end);
    let body: Vec<&str> = sorted.iter().map(text).collect();
    Some(format!("{head}{}{}", body.join(" "), &sql[tail_start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_out_in_the_parsers_order() {
        assert_eq!(
            in_parser_order(
                "CREATE SEQUENCE app.s START 5 INCREMENT BY -5 NO MINVALUE CYCLE CACHE 2"
            )
            .as_deref(),
            Some("CREATE SEQUENCE app.s INCREMENT BY -5 NO MINVALUE START 5 CACHE 2 CYCLE")
        );
        assert_eq!(
            in_parser_order("CREATE SEQUENCE IF NOT EXISTS \"S\" MAXVALUE 9 AS integer;")
                .as_deref(),
            Some("CREATE SEQUENCE IF NOT EXISTS \"S\" AS integer MAXVALUE 9;")
        );
        assert_eq!(
            in_parser_order("CREATE SEQUENCE s INCREMENT 2 START 1"),
            None
        );
        assert_eq!(in_parser_order("CREATE TABLE s (a int)"), None);
        assert_eq!(in_parser_order("CREATE SEQUENCE s START 1 BOGUS 2"), None);
    }
}
