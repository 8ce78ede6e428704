//! Quoting text into generated SQL, in one place: a string as a SQL literal
//! (`'it''s'`) and a name as a double-quoted identifier (`"Sales ""Q1"""`).
//! Every statement Floe writes from values it did not choose (names from the
//! catalog, settings, paths, users' text) goes through these.

/// `value` as a SQL string literal.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `name` as a double-quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `name` as PostgreSQL's `quote_ident` writes it: bare when it is lower-case
/// letters, digits and underscores not starting with a digit and not a key word
/// (`is_keyword`), double-quoted otherwise.
pub fn ident_as_postgres(name: &str, is_keyword: impl Fn(&str) -> bool) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare && !is_keyword(name) {
        name.to_string()
    } else {
        ident(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        let keyword = |w: &str| w == "select";
        let cases: [(String, &str); 8] = [
            (literal("it's"), "'it''s'"),
            (literal(""), "''"),
            (ident("Sales \"Q1\""), "\"Sales \"\"Q1\"\"\""),
            (ident("a;b"), "\"a;b\""),
            (ident_as_postgres("orders_2", keyword), "orders_2"),
            (ident_as_postgres("select", keyword), "\"select\""),
            (ident_as_postgres("Orders", keyword), "\"Orders\""),
            (ident_as_postgres("2x", keyword), "\"2x\""),
        ];
        for (quoted, want) in cases {
            assert_eq!(quoted, want);
        }
    }
}
