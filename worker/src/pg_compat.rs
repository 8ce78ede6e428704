//! Postgres functions DuckDB lacks, created in every session's DuckDB connection.
//! The router rewrites the Postgres spellings that reach them (for example
//! `pg_catalog.format_type(` into `floe_format_type(`).

/// Statements creating objects in every session's DuckDB connection (temporary,
/// so they are never visible in, or stored with, user schemas).
pub const SESSION_SETUP: &[&str] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_reads_as_postgres_15() {
        assert!(version_string().starts_with("PostgreSQL 15."));
        let setup = identity_setup("o'brien");
        assert!(setup[0].ends_with("AS 'o''brien'::VARCHAR"), "{}", setup[0]);
    }
}
