use super::*;

fn check(sql: &str) -> Result<Analysis, Refusal> {
    analyze(sql, &PolicyContext::for_database("floe"))
}

/// Statements that must never reach DuckDB.
const HOSTILE: &[&str] = &[
    "SELECT * FROM read_csv('/etc/passwd')",
    "select * from READ_CSV_AUTO('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT content FROM read_text('/x.txt'); /*",
    "SELECT 1; SELECT * FROM read_text('/x') /* unterminated",
    "SELECT * FROM glob('/*')",
    "SELECT count(*) FROM parquet_scan('/data/x.parquet')",
    "SELECT * FROM parquet_full_metadata('/data/x.parquet')",
    "WITH x AS (SELECT * FROM read_json('/etc/x.json')) SELECT * FROM x",
    "SELECT * FROM (SELECT * FROM read_blob('/etc/shadow')) t",
    "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
    "SELECT * FROM query_table('t')",
    "SELECT * FROM \"/etc/passwd\"",
    "SELECT * FROM 'x.csv'",
    "SELECT * FROM \"x.csv\"",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_databases",
    "SELECT * FROM pragma_database_list",
    "SELECT current_setting('temp_directory')",
    "SELECT current_setting('allowed_directories')",
    // A computed name reaches the worker's own lookup only when unquoted.
    "SELECT \"current_setting\"(x) FROM t",
    "SELECT current_setting(1)",
    "SUMMARIZE t",
    "PIVOT t ON a USING sum(b)",
    "COPY t TO '/tmp/x.csv'",
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "COPY t FROM '/etc/passwd'",
    "COPY t FROM PROGRAM 'rm -rf /'",
    "COPY (SELECT 1) TO '/tmp/x.parquet' (FORMAT parquet, COMPRESSION zstd)",
    "ATTACH '/tmp/x.db' AS x",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "DETACH x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "PRAGMA enable_profiling",
    "CHECKPOINT",
    "SET GLOBAL threads = 1",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    "SELECT 1; SELECT * FROM read_csv('/etc/passwd')",
    "FLOE SESSION 'user' 'floe' 'floe.superuser' 'on'",
    "SELECT 1; FLOE RESET",
    "SELECT 1; FLOE SESSION 'user' 'alice' 'floe.superuser' 'on'; /*",
    "select 1;\n  /* c */ floe stats",
    "CREATE MACRO m(x) AS x",
    "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
    "CREATE SECRET s (TYPE s3, KEY_ID 'x')",
    "CREATE EXTENSION dblink",
    "USE other",
    "SELECT * FROM other.main.t",
    "SELECT * FROM a.b.c.d",
    "CALL checkpoint()",
    "CALL floe_register_parquet('s.t', (SELECT 'x'))",
    "PREPARE p AS SELECT * FROM read_csv($1)",
    "SELECT getvariable('x') FROM read_text('/x')",
    "SELECT json_execute_serialized_sql('x')",
    "SELECT * FROM json_execute_serialized_sql('x')",
    "SELECT * FROM system.main.duckdb_settings()",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM t UNION SELECT * FROM read_parquet('x')",
    "INSERT INTO t SELECT * FROM read_csv('/etc/passwd')",
    "CREATE TABLE t AS SELECT * FROM read_text('/etc/passwd')",
    "EXPLAIN ANALYZE SELECT * FROM read_text('/etc/passwd')",
    "DECLARE c CURSOR FOR SELECT * FROM read_text('/etc/passwd')",
    "DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT * FROM read_text('/etc/passwd')",
    "MOVE 1 FROM c; SELECT read_text('/etc/passwd')",
    "FETCH (SELECT read_text('/etc/passwd')) FROM c",
    "SELECT (SELECT content FROM read_text('/etc/passwd'))",
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM glob('/*'))",
];

#[test]
fn hostile_statements_are_refused() {
    for sql in HOSTILE {
        let r = check(sql);
        match r {
            Err(Refusal { sqlstate, .. }) => assert!(
                sqlstate == INSUFFICIENT_PRIVILEGE || sqlstate == SYNTAX_ERROR,
                "{sql}: {sqlstate}"
            ),
            Ok(_) => panic!("not refused: {sql}"),
        }
    }
}

#[test]
fn ordinary_sql_passes() {
    for sql in [
        "SELECT 1",
        "",
        ";",
        "SELECT * FROM t WHERE a = 'read_csv(/etc/passwd)'",
        "COPY t FROM STDIN",
        "COPY t TO STDOUT",
        "COPY (SELECT 1) TO STDOUT WITH (FORMAT csv, HEADER)",
        "SET TimeZone = 'UTC'",
        "SET search_path TO public",
        "SET SESSION statement_timeout = 1000",
        "CREATE TABLE t (a INT)",
        "CREATE TABLE s.t AS SELECT 1 AS a",
        "INSERT INTO t SELECT * FROM range(10)",
        "SELECT * FROM generate_series(1, 3)",
        "SELECT read_csv_column FROM t",
        "BEGIN; UPDATE t SET a = 1; COMMIT",
        "SELECT 'x; FLOE RESET' FROM t",
        "SELECT current_setting('search_path')",
        "SELECT current_setting(s.name) FROM pg_settings s",
        "SELECT current_setting($1)",
        "SELECT pg_catalog.current_setting('server_version_num')::int",
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default",
        "SELECT floe.s.t.a FROM floe.s.t",
        "SELECT * FROM \"a.b\".t",
        "CALL floe_register_parquet('s.t', 'data/x.parquet', true)",
        "CALL floe_remove_orphan_files('s.t', 0)",
        "SELECT lower(a), count(*), sum(b) OVER (PARTITION BY c) FROM t GROUP BY 1",
        "PREPARE p AS SELECT $1::int",
        "EXECUTE p(1)",
        "DEALLOCATE p",
        "DECLARE c CURSOR FOR SELECT 1",
        "FETCH 10 FROM c",
        "FETCH ABSOLUTE -1 FROM c",
        "FETCH BACKWARD ALL IN \"My Cursor\"",
        "MOVE RELATIVE +2 IN c",
        "DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT a FROM t ORDER BY 1",
        "DEALLOCATE ALL",
        "CLOSE ALL",
        "CLOSE c",
        "COMMENT ON TABLE t IS 'x'",
        "DROP TABLE IF EXISTS t",
        "DROP SCHEMA s CASCADE",
        "DISCARD ALL",
        "SHOW search_path",
        "TRUNCATE t",
        "ALTER TABLE t ADD COLUMN b int",
        "EXPLAIN SELECT 1",
        "SELECT x::regclass FROM t",
        "SELECT 'a' ~ 'b', E'\\n', $$x$$",
        "DELETE FROM t USING u WHERE t.a = u.a",
        "UPDATE t SET a = u.a FROM u WHERE t.b = u.b",
        "SELECT id FROM shop.items AT (VERSION => 4415549721138800351) ORDER BY id",
        "SELECT * FROM s.t AT (TIMESTAMP => '2026-01-01 00:00:00') x",
        "RESET TimeZone; SHOW timezone",
        "RESET ALL",
        "ABORT",
        "END",
    ] {
        assert!(check(sql).is_ok(), "{sql}: {:?}", check(sql));
    }
}

#[test]
fn deep_and_long_statements_are_54001() {
    let plus = format!("SELECT {}", vec!["1"; 200_000].join("+"));
    assert_eq!(
        check(&plus).map_err(|r| r.sqlstate),
        Err(STATEMENT_TOO_COMPLEX)
    );
    let ors = format!("SELECT 1 WHERE {}", vec!["true"; 50_000].join(" OR "));
    assert_eq!(
        check(&ors).map_err(|r| r.sqlstate),
        Err(STATEMENT_TOO_COMPLEX)
    );
    let parens = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(
        check(&parens).map_err(|r| r.sqlstate),
        Err(STATEMENT_TOO_COMPLEX)
    );
    // Just under the limits: analysed (on a big stack) and allowed.
    let many = format!("SELECT {}", vec!["1"; MAX_OPERATORS].join("+"));
    assert!(check(&many).is_ok());
    let ors = format!(
        "SELECT 1 WHERE {}",
        vec!["a = 1"; MAX_OPERATORS / 2].join(" OR ")
    );
    assert!(check(&ors).is_ok());
}

#[test]
fn syntax_errors_read_like_postgres() {
    let r = check("SELEC 1").unwrap_err();
    assert_eq!(r.sqlstate, SYNTAX_ERROR);
    assert_eq!(r.message, "syntax error at or near \"SELEC\"");
    assert_eq!(
        check("SELECT 1 /* open").unwrap_err().sqlstate,
        SYNTAX_ERROR
    );
}

#[test]
fn statements_are_classified() {
    let c = |sql: &str| check(sql).expect(sql).class;
    assert_eq!(c("SELECT 1"), StatementClass::Query);
    assert_eq!(
        c("SELECT * FROM pg_catalog.pg_class"),
        StatementClass::Catalog
    );
    assert_eq!(c("INSERT INTO t VALUES (1)"), StatementClass::Dml);
    assert_eq!(c("CREATE TABLE t (a INT)"), StatementClass::Ddl);
    assert_eq!(c("SET TimeZone = 'UTC'"), StatementClass::Session);
    assert_eq!(c("BEGIN"), StatementClass::Session);
    assert_eq!(check("SELECT 1; SELECT 2").expect("two").statements, 2);
}

#[test]
fn the_function_list_holds_no_file_function() {
    for f in [
        "read_csv",
        "read_text",
        "read_blob",
        "glob",
        "parquet_scan",
        "query",
        "query_table",
        "current_setting",
        "duckdb_settings",
        "sniff_csv",
    ] {
        assert!(!function_allowed(f), "{f}");
    }
    assert!(function_allowed("lower"));
    assert_eq!(
        check("SELECT no_such_function(1)").unwrap_err().sqlstate,
        UNDEFINED_FUNCTION
    );
    assert_eq!(
        check("SELECT read_text('x')").unwrap_err().sqlstate,
        INSUFFICIENT_PRIVILEGE
    );
    assert!(function_allowed("floe_format_type"));
    assert!(!function_allowed("floe_register_parquet"));
}

#[test]
fn postgres_shapes_the_parser_lacks_are_read() {
    for sql in [
        "ALTER VIEW shop.v1 RENAME TO v2",
        "ALTER VIEW IF EXISTS \"floe\".\"shop\".\"v1\" RENAME TO \"v2\"",
        "COMMENT ON VIEW shop.recent IS 'the latest orders'",
        "comment on view \"floe\".\"analytics\".\"stg\" is $dbt_comment_literal_block$x y$dbt_comment_literal_block$",
        "COMMENT ON MATERIALIZED VIEW m IS NULL",
        "COMMENT ON TABLE t IS $$x$$",
        "CREATE TABLE shop.shape (a, b) AS SELECT 1, 'x' WITH NO DATA",
        "CREATE TABLE shop.shape AS SELECT 1 WITH DATA",
        "CREATE TABLE IF NOT EXISTS s.t (\"a\", b) AS (SELECT 1, 2)",
        "COPY scratch FROM STDIN WHERE a > 10",
        "COPY scratch (a, b) FROM STDIN (FORMAT csv) WHERE lower(b) = 'x'",
        "CREATE TABLE s.t (a int, ts timestamp, id bigint) PARTITION BY (a, day(ts), bucket(4, id), truncate(10, a))",
        "CALL floe_register_parquet('raw.events', 'file:///x/', hive_partitioning => true)",
        "SELECT * FROM floe_snapshots('sales.orders')",
    ] {
        assert!(check(sql).is_ok(), "{sql}: {:?}", check(sql));
    }
    for sql in [
        "COPY scratch FROM STDIN WHERE a > (SELECT count(*) FROM read_text('/etc/passwd'))",
        "CREATE TABLE t (a, b) AS SELECT * FROM read_csv('/etc/passwd') WITH NO DATA",
        "CREATE TABLE t (a, lower(b)) AS SELECT 1, 2",
        "COMMENT ON VIEW v IS 'x'; SELECT * FROM read_text('/x')",
        "COMMENT ON VIEW v IS (SELECT 1)",
        "ALTER VIEW v AS SELECT * FROM read_text('/x')",
        "CREATE TABLE s.t (a int) PARTITION BY (read_text('/x'))",
        "CREATE TABLE s.t (a int) PARTITION BY (bucket(4, (SELECT 1)))",
        "CALL floe_register_parquet('raw.events', 'x', hive_partitioning => (SELECT 1))",
    ] {
        assert!(check(sql).is_err(), "not refused: {sql}");
    }
}
