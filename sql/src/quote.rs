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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(""), "''");
        assert_eq!(ident("Sales \"Q1\""), "\"Sales \"\"Q1\"\"\"");
        assert_eq!(ident("a;b"), "\"a;b\"");
    }
}
