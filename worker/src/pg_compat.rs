//! Postgres functions DuckDB lacks, created in every session's DuckDB connection.
//! The router rewrites the Postgres spellings that reach them (for example
//! `pg_catalog.format_type(` into `floe_format_type(`).

/// The body of `floe_cursors()` (what `pg_cursors` reads) with no cursor open.
macro_rules! empty_cursor_list {
    () => {
        "SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS statement, \
         NULL::BOOLEAN AS is_holdable, NULL::BOOLEAN AS is_binary, \
         NULL::BOOLEAN AS is_scrollable, NULL::TIMESTAMPTZ AS creation_time LIMIT 0"
    };
}
pub const EMPTY_CURSOR_LIST: &str = empty_cursor_list!();

/// Statements creating objects in every session's DuckDB connection (temporary,
/// so they are never visible in, or stored with, user schemas).
pub const SESSION_SETUP: &[&str] = &[
    // `pg_cursors`: the session's open cursors, re-created as they open and close.
    concat!(
        "CREATE OR REPLACE TEMP MACRO floe_cursors() AS TABLE ",
        empty_cursor_list!()
    ),
    r#"CREATE OR REPLACE TEMP MACRO floe_format_type(type_oid, typemod) AS
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
  ELSE '???' END) END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_userbyid(role_oid) AS
  CASE WHEN role_oid IS NULL THEN NULL ELSE 'floe' END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_expr(expr, rel) AS NULL::VARCHAR,
  (expr, rel, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_relation_is_publishable(rel) AS false"#,
    // The router turns to_regtype / to_regclass into catalog lookups wrapped in
    // these, which name the result column as Postgres does.
    r#"CREATE OR REPLACE TEMP MACRO floe_to_regtype(found) AS found"#,
    // Lake tables have no sequences; every collation is the default one.
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_serial_sequence(rel, col) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_collation_is_visible(coll) AS true"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_encoding_to_char(enc) AS
  CASE enc WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END"#,
    // Floe has no user-defined functions to describe.
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_function_result(func) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_function_arguments(func) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_to_regclass(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_table_is_visible(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_viewdef(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_current_setting(value) AS value"#,
    // The router turns bytea literals in hex format into these.
    r#"CREATE OR REPLACE TEMP MACRO floe_bytea(hex_digits) AS unhex(hex_digits)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_statisticsobjdef_columns(stat_oid) AS NULL::VARCHAR"#,
    // Postgres's pg_size_pretty: bytes below 10 kB, then kB, MB, GB, TB, PB,
    // each unit kept below 20 480 and rounded half away from zero.
    r#"CREATE OR REPLACE TEMP MACRO floe_half_rounded(x) AS
  CAST(trunc((x + CASE WHEN x >= 0 THEN 1 ELSE -1 END) / 2) AS BIGINT)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_size_pretty(size) AS CASE
  WHEN size IS NULL THEN NULL
  WHEN abs(size) < 10240 THEN CAST(size AS BIGINT)::VARCHAR || ' bytes'
  WHEN abs(CAST(size AS BIGINT) >> 9) < 20479 THEN floe_half_rounded(CAST(size AS BIGINT) >> 9)::VARCHAR || ' kB'
  WHEN abs(CAST(size AS BIGINT) >> 19) < 20479 THEN floe_half_rounded(CAST(size AS BIGINT) >> 19)::VARCHAR || ' MB'
  WHEN abs(CAST(size AS BIGINT) >> 29) < 20479 THEN floe_half_rounded(CAST(size AS BIGINT) >> 29)::VARCHAR || ' GB'
  WHEN abs(CAST(size AS BIGINT) >> 39) < 20479 THEN floe_half_rounded(CAST(size AS BIGINT) >> 39)::VARCHAR || ' TB'
  ELSE floe_half_rounded(CAST(size AS BIGINT) >> 49)::VARCHAR || ' PB' END"#,
    // Floe has no indexes, triggers, rules or partition keys in PostgreSQL's
    // sense, no functions of its own, no tablespaces, no standby and no JIT.
    r#"CREATE OR REPLACE TEMP MACRO pg_get_indexdef(idx) AS NULL::VARCHAR,
  (idx, col, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_function_identity_arguments(func) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_partkeydef(rel) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_triggerdef(trig) AS NULL::VARCHAR,
  (trig, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_ruledef(rule) AS NULL::VARCHAR,
  (rule, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_is_in_recovery() AS false"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_tablespace_location(ts) AS ''::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_jit_available() AS false"#,
    // quote_ident quotes what is not a lower-case identifier or is a keyword
    // other than an unreserved one; parse_ident splits a qualified name.
    r#"CREATE OR REPLACE TEMP MACRO quote_ident(ident) AS
  CASE WHEN ident IS NULL THEN NULL
  WHEN regexp_full_match(ident, '[a-z_][a-z0-9_$]*') AND ident NOT IN
    (SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved')
  THEN ident ELSE '"' || replace(ident, '"', '""') || '"' END"#,
    r#"CREATE OR REPLACE TEMP MACRO parse_ident(name) AS
  list_transform(regexp_extract_all(name, '"(?:[^"]|"")*"|[^."[:space:]]+'),
    lambda part: CASE WHEN part[1] = '"' THEN replace(part[2:-2], '""', '"') ELSE lower(part) END),
  (name, strict) AS list_transform(regexp_extract_all(name, '"(?:[^"]|"")*"|[^."[:space:]]+'),
    lambda part: CASE WHEN part[1] = '"' THEN replace(part[2:-2], '""', '"') ELSE lower(part) END)"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_keywords() AS TABLE
  SELECT keyword_name AS word,
    CASE keyword_category WHEN 'reserved' THEN 'R' WHEN 'type_function' THEN 'T'
      WHEN 'column_name' THEN 'C' ELSE 'U' END AS catcode,
    true AS barelabel,
    CASE keyword_category WHEN 'reserved' THEN 'reserved'
      WHEN 'type_function' THEN 'reserved (can be function or type name)'
      WHEN 'column_name' THEN 'unreserved (cannot be function or type name)'
      ELSE 'unreserved' END AS catdesc,
    'can be bare label' AS baredesc
  FROM duckdb_keywords() ORDER BY keyword_name"#,
    // An options array (`{k=v,…}`, as in ftoptions and srvoptions) as rows.
    r#"CREATE OR REPLACE TEMP MACRO pg_options_to_table(options) AS TABLE
  SELECT split_part(o, '=', 1) AS option_name,
    CASE WHEN strpos(o, '=') > 0 THEN substr(o, strpos(o, '=') + 1) END AS option_value
  FROM (SELECT unnest(CAST(options AS VARCHAR[])) AS o)"#,
    // Floe has no functions with an SQL-standard body.
    r#"CREATE OR REPLACE TEMP MACRO pg_get_function_sqlbody(func) AS NULL::VARCHAR"#,
    // Lists are one-dimensional and 1-based: the lower bound of a non-empty
    // array's first dimension is 1.
    r#"CREATE OR REPLACE TEMP MACRO array_lower(arr, dim) AS
  CASE WHEN arr IS NULL OR len(arr) = 0 OR dim <> 1 THEN NULL ELSE 1 END"#,
    // array_remove drops every element equal to the value (NULLs for NULL).
    r#"CREATE OR REPLACE TEMP MACRO array_remove(arr, elem) AS
  list_filter(arr, lambda x: x IS DISTINCT FROM elem)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_array_upper(arr, dim) AS
  CASE WHEN arr IS NULL OR len(arr) = 0 THEN NULL ELSE len(arr) END"#,
];

/// What `version()` answers: PostgreSQL's shape, which clients parse for the
/// server's major and minor version.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} (Floe {}) on {}-pc-linux-gnu, compiled by rustc, 64-bit",
        crate::settings::SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
    )
}

/// Statements giving a session its identity: the macros standing for
/// `current_user`, `session_user`, `user` and `current_role` (run again when a
/// pooled session changes hands), and `version()`.
pub fn identity_setup(user: &str) -> Vec<String> {
    let user = format!("'{}'", user.replace('\'', "''"));
    let mut out: Vec<String> = ["current_user", "session_user", "user", "current_role"]
        .iter()
        .map(|name| format!("CREATE OR REPLACE TEMP MACRO floe_{name}() AS {user}::VARCHAR"))
        .collect();
    out.push(format!(
        "CREATE OR REPLACE TEMP MACRO floe_version() AS '{}'::VARCHAR",
        version_string().replace('\'', "''")
    ));
    out
}

/// Statements answering `current_schema` and `current_schemas(implicit)` for
/// `path`: the schemas of the session's `search_path` that exist, in order.
/// Run again whenever that list changes.
pub fn schema_path_setup(path: &[String]) -> Vec<String> {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let list = |names: &[&str]| {
        format!(
            "[{}]::VARCHAR[]",
            names
                .iter()
                .map(|n| literal(n))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let explicit: Vec<&str> = path.iter().map(String::as_str).collect();
    // Postgres searches pg_catalog first unless the path places it.
    let mut implicit = explicit.clone();
    if !implicit.contains(&"pg_catalog") {
        implicit.insert(0, "pg_catalog");
    }
    let first = path
        .first()
        .map_or_else(|| "NULL".to_string(), |s| literal(s));
    vec![
        format!("CREATE OR REPLACE TEMP MACRO floe_current_schema() AS {first}::VARCHAR"),
        format!(
            "CREATE OR REPLACE TEMP MACRO floe_current_schemas(include_implicit) AS \
             CASE WHEN include_implicit THEN {} ELSE {} END",
            list(&implicit),
            list(&explicit)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_reads_as_postgres_15() {
        assert!(version_string().starts_with("PostgreSQL 15."));
        let setup = identity_setup("o'brien");
        assert!(setup[0].ends_with("AS 'o''brien'::VARCHAR"), "{}", setup[0]);
    }

    #[test]
    fn every_setup_statement_runs_and_answers_as_postgres() {
        let db = crate::duck::Database::open(None, &[]).expect("db");
        let conn = db.connect().expect("connection");
        for sql in SESSION_SETUP
            .iter()
            .map(|s| s.to_string())
            .chain(identity_setup("floe"))
            .chain(schema_path_setup(&["public".to_string()]))
        {
            conn.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", e.message));
        }
        for sql in [
            "SELECT 1 WHERE quote_ident('a b') = '\"a b\"' AND quote_ident('ab') = 'ab' \
             AND quote_ident('select') = '\"select\"' AND quote_ident('Ab') = '\"Ab\"'",
            "SELECT 1 WHERE parse_ident('a.\"B\".c') = ['a', 'B', 'c'] \
             AND parse_ident('Sch.\"x\"\"y\"', false) = ['sch', 'x\"y']",
            "SELECT 1 WHERE (SELECT count(*) FROM pg_get_keywords() WHERE word = 'select' AND catcode = 'R') = 1",
            "SELECT 1 WHERE pg_get_indexdef(1) IS NULL AND NOT pg_is_in_recovery()",
        ] {
            let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {}", e.message));
            let mut result = stmt.execute(false).expect("runs");
            let chunk = result.fetch().expect("fetch");
            assert!(chunk.is_some_and(|c| c.len() == 1), "{sql}");
        }
    }

    #[test]
    fn schema_path_puts_pg_catalog_first_unless_placed() {
        let setup = schema_path_setup(&["s'x".to_string(), "public".to_string()]);
        assert!(setup[0].ends_with("AS 's''x'::VARCHAR"), "{}", setup[0]);
        assert!(
            setup[1].contains("THEN ['pg_catalog', 's''x', 'public']::VARCHAR[] ELSE ['s''x', 'public']::VARCHAR[]"),
            "{}",
            setup[1]
        );
        let placed = schema_path_setup(&["public".to_string(), "pg_catalog".to_string()]);
        assert!(
            placed[1].contains("THEN ['public', 'pg_catalog']"),
            "{}",
            placed[1]
        );
        assert!(schema_path_setup(&[])[0].contains("AS NULL::VARCHAR"));
    }
}
