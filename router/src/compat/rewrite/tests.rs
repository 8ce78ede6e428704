//! The rewrite rules, each on the statements it is for and on those it must
//! leave alone.

use super::*;

/// Each text's rewrite, or `None` for a text left as it is.
pub(super) fn check(cases: &[(&str, Option<&str>)]) {
    for (sql, want) in cases {
        assert_eq!(rewrite(sql).as_deref(), *want, "{sql}");
    }
}

#[test]
fn numeric_literals_keep_their_scale() {
    for (sql, want) in [
        ("SELECT 2::numeric", "SELECT 2::DECIMAL(18, 0)"),
        (
            "SELECT 1.50::pg_catalog.numeric",
            "SELECT 1.50::DECIMAL(18, 2)",
        ),
        ("SELECT '1.25'::numeric", "SELECT '1.25'::DECIMAL(18, 2)"),
        (
            "SELECT CAST(2.50 AS numeric)",
            "SELECT CAST(2.50 AS DECIMAL(18, 2))",
        ),
    ] {
        assert_eq!(rewrite(sql).as_deref(), Some(want), "{sql}");
    }
    for sql in [
        "SELECT 1.5::numeric(10, 2)",
        "SELECT x::numeric FROM t",
        "SELECT 'abc'::numeric",
        "SELECT '{1}'::numeric[]",
    ] {
        assert!(rewrite(sql).is_none_or(|r| !r.contains("DECIMAL")), "{sql}");
    }
}

#[test]
fn set_returning_functions_in_a_select_list_give_rows() {
    let cases = [
        (
            "SELECT generate_series(1, 3)",
            Some("SELECT CAST(unnest(generate_series(1, 3)) AS INTEGER) AS generate_series"),
        ),
        (
            "SELECT generate_series(1, 3000000000), generate_series(1.5, 3)",
            Some(
                "SELECT unnest(generate_series(1, 3000000000)) AS generate_series, \
                 unnest(generate_series(1.5, 3)) AS generate_series",
            ),
        ),
        (
            "SELECT a, pg_catalog.generate_series(1, a) AS g FROM t",
            Some("SELECT a, unnest(generate_series(1, a)) AS g FROM t"),
        ),
        (
            "SELECT x FROM (SELECT DISTINCT generate_series(1, 2) x) s",
            Some("SELECT x FROM (SELECT DISTINCT CAST(unnest(generate_series(1, 2)) AS INTEGER) x) s"),
        ),
        ("SELECT * FROM generate_series(1, x)", None),
        ("SELECT g FROM t, generate_series(1, x) g", None),
        (
            "SELECT 1 FROM t WHERE 2 IN (SELECT * FROM generate_series(1, x))",
            None,
        ),
        (
            "SELECT sum(generate_series(1, 3))",
            Some("SELECT floe_sum(generate_series(1, 3))"),
        ),
        ("SELECT generate_series(1, 3)[1]", None),
    ];
    for (sql, want) in cases {
        assert_eq!(rewrite(sql).as_deref(), want, "{sql}");
    }
}

#[test]
fn session_user_keywords_answer_the_session() {
    check(&[
        (
            "SELECT current_user, session_user, user, CURRENT_ROLE",
            Some(
                "SELECT floe_current_user(), floe_session_user(), floe_user(), floe_current_role()",
            ),
        ),
        ("SELECT pg_catalog.version()", Some("SELECT floe_version()")),
        (
            "SELECT current_schema, current_schema(), pg_catalog.current_schemas(true)",
            Some("SELECT floe_current_schema(), floe_current_schema(), floe_current_schemas(true)"),
        ),
    ]);
    let visible = rewrite("SELECT relname FROM pg_class c WHERE pg_table_is_visible(c.oid)")
        .expect("rewritten");
    assert!(
        visible.starts_with("SELECT relname FROM pg_class c WHERE floe_pg_table_is_visible((c.oid) IN (SELECT c.oid"),
        "{visible}"
    );
    assert!(visible.ends_with("= 1))"), "{visible}");
    let nested = rewrite("SELECT pg_get_viewdef('s.v'::regclass, true)").expect("rewritten");
    assert!(!nested.contains("::regclass"), "{nested}");
    for sql in [
        "SELECT pg_get_viewdef(c.oid, true)",
        "SELECT pg_catalog.pg_get_viewdef(f(a, b))",
    ] {
        let def = rewrite(sql).expect("rewritten");
        assert!(
            def.starts_with("SELECT floe_pg_get_viewdef(COALESCE((SELECT CASE WHEN"),
            "{def}"
        );
        assert!(def.contains("floe_vd.pretty_definition"), "{def}");
        assert!(!def.contains(", true)"), "{def}");
    }
    let pretty = rewrite("SELECT pg_get_viewdef(c.oid, true)").expect("rewritten");
    assert!(pretty.contains("TRY_CAST((true) AS BOOLEAN)"), "{pretty}");
    let plain = rewrite("SELECT pg_get_viewdef(c.oid)").expect("rewritten");
    assert!(plain.contains("TRY_CAST((false) AS BOOLEAN)"), "{plain}");
    for unchanged in [
        "SELECT \"user\" FROM t",
        "SELECT t.user FROM t",
        "SELECT 1 AS user",
        "CREATE USER alice",
        "SELECT usename FROM pg_user",
    ] {
        assert_eq!(rewrite(unchanged), None, "{unchanged}");
    }
}

#[test]
fn operator_syntax_becomes_the_operator() {
    check(&[
        (
            "WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$'",
            Some("WHERE c.relname ~ '^(t)$'"),
        ),
        ("a OPERATOR(=) b", Some("a = b")),
    ]);
}

#[test]
fn default_collation_is_dropped() {
    check(&[
        (
            "ORDER BY 1 COLLATE pg_catalog.\"default\"",
            Some("ORDER BY 1 "),
        ),
        ("x COLLATE \"C\"", None),
    ]);
}

#[test]
fn reg_casts_look_up_oids() {
    assert_eq!(
        rewrite("SELECT 'postgres'::pg_catalog.name AS c, CAST(x AS name), name FROM t").as_deref(),
        Some("SELECT 'postgres'::floe_name AS c, CAST(x AS floe_name), name FROM t")
    );
    let named = rewrite("SELECT 'public.t'::regclass").expect("rewritten");
    assert!(
        named.starts_with(
            "SELECT CAST(floe_oid_of(COALESCE(TRY_CAST(('public.t') AS UINTEGER), floe_to_regclass("
        ),
        "{named}"
    );
    for sql in ["SELECT $1::regclass", "SELECT CAST($1 AS REGCLASS)"] {
        let param = rewrite(sql).expect("rewritten");
        assert!(
            param.starts_with(
                "SELECT CAST(floe_oid_of(COALESCE(TRY_CAST(($1) AS UINTEGER), floe_to_regclass(",
            ),
            "{param}"
        );
        assert!(
            param.contains("string_split(CAST(($1) AS VARCHAR)"),
            "{param}"
        );
    }
    check(&[
        (
            "SELECT '\\x01ff'::bytea, CAST('\\x' AS bytea), 'ab'::bytea",
            Some("SELECT floe_bytea('01ff'), floe_bytea(''), 'ab'::bytea"),
        ),
        (
            "SELECT CAST('pg_catalog.pg_class' AS REGCLASS)",
            Some("SELECT CAST(floe_oid_of(1259) AS floe_regclass)"),
        ),
    ]);
    assert!(rewrite("SELECT CAST('s.t' AS REGCLASS)")
        .expect("rewritten")
        .starts_with("SELECT CAST(floe_oid_of(COALESCE(TRY_CAST(('s.t') AS UINTEGER)"));
    check(&[
        ("SELECT CAST(c.oid AS regclass)", Some("SELECT CAST(c.oid AS floe_regclass)")),
        ("SELECT 1 WHERE classid = 'pg_rewrite'::regclass", Some("SELECT 1 WHERE classid = CAST(floe_oid_of(2618) AS floe_regclass)")),
        ("SELECT 'int4'::pg_catalog.regtype", Some(
            "SELECT CAST(floe_oid_of((SELECT oid FROM pg_catalog.pg_type WHERE typname = 'int4' \
             LIMIT 1)) AS floe_regtype)"
        )),
        ("SELECT 'main'::regnamespace", Some(
            "SELECT CAST(floe_oid_of((SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'main' \
             LIMIT 1)) AS floe_regnamespace)"
        )),
    ]);
}

#[test]
fn psql_gdesc_query() {
    let sql = "SELECT name AS \"Column\", pg_catalog.format_type(tp, tpm) AS \"Type\"\nFROM (VALUES ('a', '23'::pg_catalog.oid, -1)) s(name, tp, tpm)";
    check(&[
        (sql, Some("SELECT name AS \"Column\", floe_format_type(tp, tpm) AS \"Type\"\nFROM (VALUES ('a', '23'::UINTEGER, -1)) s(name, tp, tpm)")),
        ("SELECT CAST(x AS pg_catalog.oid), y::oid", Some("SELECT CAST(x AS UINTEGER), y::UINTEGER")),
    ]);
}

#[test]
fn catalog_functions_and_casts_in_psql_describe() {
    check(&[
        ("SELECT pg_catalog.pg_get_userbyid(c.relowner), pg_catalog.array_to_string(x, ',')", Some("SELECT floe_pg_get_userbyid(c.relowner), array_to_string(x, ',')")),
        ("SELECT c.reloftype::pg_catalog.regtype::pg_catalog.text", Some(
            "SELECT CAST(floe_reg_text(c.reloftype, floe_format_type(c.reloftype, NULL)) AS text)"
        )),
        ("SELECT c.reloftype::regtype, CAST(c.oid AS regclass), c.oid::oid", Some("SELECT c.reloftype::floe_regtype, CAST(c.oid AS floe_regclass), c.oid::UINTEGER")),
        ("SELECT ARRAY(SELECT m.mapdict::pg_catalog.regdictionary)::pg_catalog.text", Some("SELECT floe_array_text(ARRAY(SELECT floe_regdictionary_name(m.mapdict)))")),
    ]);
}

#[test]
fn array_concatenation_counts_null_as_empty() {
    assert_eq!(
        rewrite("SELECT c.reloptions || array(select 'toast.' || x from t) FROM c").as_deref(),
        Some("SELECT list_concat(c.reloptions , array(select 'toast.' || x from t)) FROM c")
    );
}

#[test]
fn ordinary_sql_is_untouched() {
    check(&[
        ("SELECT x::INTEGER, 'OPERATOR(x)' FROM t", None),
        ("SELECT oid, x AS oid FROM t", None),
    ]);
    assert!(!mentions("SELECT 1"));
    for sql in [
        "SELECT current_database()",
        "SELECT current_catalog",
        "SELECT sum(x) FROM t",
        "SELECT avg(x) FROM t",
    ] {
        assert!(mentions(sql) && rewrite(sql).is_some(), "{sql}");
    }
}

#[test]
fn sequence_functions_keep_the_name_they_are_given() {
    check(&[
        (
            "SELECT nextval('app.s'::regclass)",
            Some("SELECT nextval('app.s')"),
        ),
        (
            "SELECT setval('s'::regclass, 5, false)",
            Some("SELECT setval('s', 5, false)"),
        ),
    ]);
    let other = rewrite("SELECT 'app.s'::regclass").expect("rewritten");
    assert!(other.contains("pg_class"), "{other}");
}

#[test]
fn lake_constraint_and_index_definitions_are_looked_up_first() {
    let def = rewrite("SELECT pg_get_constraintdef(c.oid, true) FROM pg_constraint c")
        .expect("rewritten");
    assert!(
        def.contains("floe_cd.constraint_oid = (c.oid)")
            && def.contains("pg_get_constraintdef(c.oid, true))"),
        "{def}"
    );
    let def =
        rewrite("SELECT pg_catalog.pg_get_indexdef(i.indexrelid, 0, true)").expect("rewritten");
    assert!(
        def.contains("floe_id.index_oid = (i.indexrelid) AND floe_id.key_number = (0)"),
        "{def}"
    );
}
