//! Postgres functions and types that clients send verbatim and DuckDB lacks: the
//! objects each session gets, and the token-level rewrites that reach them. Each
//! rewrite replaces only the span it matches; the rest of the text reaches DuckDB
//! untouched.
//!
//! Today this covers what psql's `\gdesc` sends (`'23'::pg_catalog.oid`,
//! `pg_catalog.format_type(oid, typmod)`).

use crate::sql_text::{Tok, Token};

/// Objects created in every session's DuckDB connection (temporary, so they are
/// never visible in, or stored with, user schemas).
pub const SESSION_SETUP: &str = r#"
CREATE OR REPLACE TEMP MACRO floe_format_type(type_oid, typemod) AS
CASE WHEN type_oid IS NULL THEN NULL ELSE (CASE type_oid::BIGINT
  WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 18 THEN '"char"' WHEN 19 THEN 'name'
  WHEN 20 THEN 'bigint' WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer' WHEN 25 THEN 'text'
  WHEN 26 THEN 'oid' WHEN 114 THEN 'json' WHEN 700 THEN 'real' WHEN 701 THEN 'double precision'
  WHEN 705 THEN 'unknown'
  WHEN 1042 THEN 'character' || CASE WHEN typemod > 4 THEN '(' || (typemod - 4)::VARCHAR || ')' ELSE '' END
  WHEN 1043 THEN 'character varying' || CASE WHEN typemod > 4 THEN '(' || (typemod - 4)::VARCHAR || ')' ELSE '' END
  WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone'
  WHEN 1114 THEN 'timestamp without time zone' WHEN 1184 THEN 'timestamp with time zone'
  WHEN 1186 THEN 'interval' WHEN 1266 THEN 'time with time zone'
  WHEN 1560 THEN 'bit' WHEN 1562 THEN 'bit varying'
  WHEN 1700 THEN 'numeric' || CASE WHEN typemod >= 4
      THEN '(' || ((typemod - 4) // 65536)::VARCHAR || ',' || ((typemod - 4) % 65536)::VARCHAR || ')' ELSE '' END
  WHEN 2950 THEN 'uuid' WHEN 3802 THEN 'jsonb'
  WHEN 199 THEN 'json[]' WHEN 1000 THEN 'boolean[]' WHEN 1001 THEN 'bytea[]' WHEN 1005 THEN 'smallint[]'
  WHEN 1007 THEN 'integer[]' WHEN 1009 THEN 'text[]' WHEN 1015 THEN 'character varying[]'
  WHEN 1016 THEN 'bigint[]' WHEN 1021 THEN 'real[]' WHEN 1022 THEN 'double precision[]'
  WHEN 1115 THEN 'timestamp without time zone[]' WHEN 1182 THEN 'date[]'
  WHEN 1183 THEN 'time without time zone[]' WHEN 1185 THEN 'timestamp with time zone[]'
  WHEN 1187 THEN 'interval[]' WHEN 1231 THEN 'numeric[]' WHEN 1270 THEN 'time with time zone[]'
  WHEN 1563 THEN 'bit varying[]' WHEN 2951 THEN 'uuid[]' WHEN 3807 THEN 'jsonb[]'
  ELSE '???' END) END
"#;

/// Rewrites the Postgres-isms this module knows; `None` when the text needs none.
pub fn rewrite(sql: &str, tokens: &[Token]) -> Option<String> {
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // [pg_catalog.]name starting at i
        let (qualified_start, name_idx) = if tokens[i].is_word("pg_catalog")
            && tokens.get(i + 1).is_some_and(|t| t.tok == Tok::Punct('.'))
        {
            (Some(tokens[i].span.start), i + 2)
        } else {
            (None, i)
        };
        let Some(name) = tokens.get(name_idx) else {
            break;
        };
        let start = qualified_start.unwrap_or(name.span.start);
        if name.is_word("format_type")
            && tokens
                .get(name_idx + 1)
                .is_some_and(|t| t.tok == Tok::Punct('('))
        {
            edits.push((start..name.span.end, "floe_format_type"));
            i = name_idx + 1;
            continue;
        }
        if name.is_word("oid") && is_type_position(tokens, i, qualified_start.is_some()) {
            edits.push((start..name.span.end, "UINTEGER"));
            i = name_idx + 1;
            continue;
        }
        i += 1;
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut last = 0;
    for (span, replacement) in edits {
        out.push_str(&sql[last..span.start]);
        out.push_str(replacement);
        last = span.end;
    }
    out.push_str(&sql[last..]);
    Some(out)
}

/// Whether the token at `i` follows `::` (or, for a schema-qualified name, which
/// cannot be an alias, `AS`), so a name there is a type.
fn is_type_position(tokens: &[Token], i: usize, qualified: bool) -> bool {
    if i == 0 {
        return false;
    }
    let prev = &tokens[i - 1];
    if qualified && prev.is_word("AS") {
        return true;
    }
    i >= 2 && prev.tok == Tok::Punct(':') && tokens[i - 2].tok == Tok::Punct(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_text::tokenize;

    fn rw(sql: &str) -> Option<String> {
        rewrite(sql, &tokenize(sql))
    }

    #[test]
    fn gdesc_query_is_rewritten() {
        let sql = "SELECT name AS \"Column\", pg_catalog.format_type(tp, tpm) AS \"Type\"\nFROM (VALUES ('a', '23'::pg_catalog.oid, -1)) s(name, tp, tpm)";
        assert_eq!(
            rw(sql).as_deref(),
            Some("SELECT name AS \"Column\", floe_format_type(tp, tpm) AS \"Type\"\nFROM (VALUES ('a', '23'::UINTEGER, -1)) s(name, tp, tpm)")
        );
    }

    #[test]
    fn columns_named_oid_are_left_alone() {
        assert_eq!(rw("SELECT oid FROM t"), None);
        assert_eq!(rw("SELECT 'format_type(x)'"), None);
        assert_eq!(rw("SELECT x AS oid FROM t"), None);
        assert_eq!(
            rw("SELECT CAST(x AS pg_catalog.oid), y::oid").as_deref(),
            Some("SELECT CAST(x AS UINTEGER), y::UINTEGER")
        );
    }
}
