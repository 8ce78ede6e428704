//! `pg_describe_object(classid, objid, objsubid)`: an object named as
//! PostgreSQL names it in messages and in psql's `\dx+` (`table fx.orders`,
//! `column id of table fx.orders`, `rule _RETURN on view fx.big_orders`,
//! `schema fx`, `function plpgsql_validator(oid)`). Relations, rules and
//! schemas are looked up in the session's catalog (so the call becomes
//! subqueries of it); the built-in objects (functions, languages, types,
//! extensions, access methods) in PostgreSQL's own rows, by the worker's
//! `floe_pg_describe_object` macro.

use sqlparser::tokenizer::Token;

use super::{first_top_level, matching_paren, reg_name_of, rewrite};

/// The call whose name is at `name_k` (`(` after it) as Floe answers it, and
/// the index of its closing parenthesis; `None` when it is not a call of
/// three arguments.
pub(super) fn describe_object_call(
    sql: &str,
    toks: &[floe_sql::Spanned],
    name_k: usize,
) -> Option<(usize, String)> {
    let end = matching_paren(toks, name_k + 1)?;
    let mut args = Vec::with_capacity(3);
    let mut from = name_k + 2;
    while from < end {
        let stop = first_top_level(toks, from, end, |t| matches!(t, Token::Comma)).unwrap_or(end);
        if stop == from {
            return None;
        }
        let text = &sql[toks[from].start..toks[stop - 1].end];
        args.push(rewrite(text).unwrap_or_else(|| text.to_string()));
        from = stop + 1;
    }
    let [class, object, sub] = <[String; 3]>::try_from(args).ok()?;
    Some((end, describe_object(&class, &object, &sub)))
}

/// The arguments are evaluated once, in a derived table, and the lookups
/// read them from there (each argument may itself be a lookup, such as
/// `'t'::regclass`).
fn describe_object(class: &str, object: &str, sub: &str) -> String {
    let (object_col, sub_col) = ("floe_do.o", "floe_do.s");
    format!(
        "(SELECT floe_pg_describe_object(floe_do.c, {object_col}, {sub_col}, {}, {}, {}) \
         FROM (SELECT CAST(({class}) AS UINTEGER) AS c, CAST(({object}) AS UINTEGER) AS o, \
         CAST(({sub}) AS INTEGER) AS s) floe_do)",
        relation_description(object_col, sub_col),
        rule_description(object_col),
        schema_description(object_col)
    )
}

/// `table x`, `view x`, …, or `column c of table x`; `x` schema-qualified
/// unless the path finds it, as `regclass` prints it.
fn relation_description(object: &str, sub: &str) -> String {
    let name = reg_name_of("regclass", &format!("({object})")).unwrap_or_default();
    format!(
        "(SELECT CASE WHEN ({sub}) <> 0 THEN 'column ' || (SELECT floe_a.attname \
         FROM pg_catalog.pg_attribute floe_a WHERE floe_a.attrelid = floe_dc.oid \
         AND floe_a.attnum = ({sub}) LIMIT 1) || ' of ' ELSE '' END || {} || ' ' || {name} \
         FROM pg_catalog.pg_class floe_dc WHERE floe_dc.oid = ({object}) LIMIT 1)",
        relation_kind("floe_dc.relkind")
    )
}

/// `rule r on view x`.
fn rule_description(object: &str) -> String {
    let name = reg_name_of("regclass", "floe_dr.ev_class").unwrap_or_default();
    format!(
        "(SELECT 'rule ' || floe_dr.rulename || ' on ' || (SELECT {} FROM pg_catalog.pg_class \
         floe_drc WHERE floe_drc.oid = floe_dr.ev_class LIMIT 1) || ' ' || {name} \
         FROM pg_catalog.pg_rewrite floe_dr WHERE floe_dr.oid = ({object}) LIMIT 1)",
        relation_kind("floe_drc.relkind")
    )
}

fn schema_description(object: &str) -> String {
    format!(
        "(SELECT 'schema ' || quote_ident(floe_dn.nspname) FROM pg_catalog.pg_namespace floe_dn \
         WHERE floe_dn.oid = ({object}) LIMIT 1)"
    )
}

/// The word PostgreSQL describes a relation of kind `relkind` with.
fn relation_kind(relkind: &str) -> String {
    format!(
        "CASE {relkind} WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' \
         WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' \
         WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' \
         WHEN 't' THEN 'toast table' ELSE 'relation' END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_arguments_become_catalog_lookups() {
        let sql = "SELECT pg_describe_object(classid, objid, 0) FROM pg_depend";
        let toks = floe_sql::significant_tokens(sql).expect("tokens");
        let (end, text) = describe_object_call(sql, &toks, 1).expect("call");
        assert!(matches!(toks[end].token, Token::RParen));
        assert!(text.starts_with(
            "(SELECT floe_pg_describe_object(floe_do.c, floe_do.o, floe_do.s, (SELECT"
        ));
        assert!(text.contains("CAST((objid) AS UINTEGER) AS o"));
        assert!(text.contains("pg_catalog.pg_rewrite floe_dr"));
        let two = "SELECT pg_describe_object(classid, objid)";
        let toks = floe_sql::significant_tokens(two).expect("tokens");
        assert_eq!(describe_object_call(two, &toks, 1), None);
    }
}
