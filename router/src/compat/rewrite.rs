//! Rewrites of Postgres-isms DuckDB lacks, in one place. Each rule replaces only
//! the token span it matches; the rest of the statement reaches DuckDB untouched.
//!
//! | Postgres | becomes |
//! |---|---|
//! | `OPERATOR(pg_catalog.~)` | `~` (any operator) |
//! | `COLLATE pg_catalog."default"` | nothing |
//! | `'name'::regclass` | the relation's OID from `pg_class` |
//! | `'name'::regtype` | the type's OID from `pg_type` |
//! | `'name'::regnamespace` | the schema's OID from `pg_namespace` |
//! | `'name'::regproc` | the built-in function's OID (`floe_regproc_oid`) |
//! | `'\x0102'::bytea` (hex input) | `floe_bytea('0102')` (the bytes) |
//! | `'{a,"b c",NULL}'::T[]` (array input) | `['a', 'b c', NULL]::T[]` (a list the cast converts) |
//! | `x = ANY('{r,p}')`, `x <> ALL('{1,2}')` (untyped array) | `ANY(['r', 'p'])`, `ALL([1, 2])` |
//! | `x::name`, `CAST(x AS name)` | `x::floe_name` (a database type over VARCHAR the worker announces as `name`) |
//! | `x::pg_catalog.oid`, `x::oid` | `x::UINTEGER` |
//! | `x::regclass` and other reg* casts of non-literals | `x::floe_regclass` (a session type over UINTEGER the worker announces as `regclass`) |
//! | `col::regclass::text` (regtype, regnamespace, regrole) | `floe_reg_text(col, <the name>)` |
//! | `col::regdictionary` | `floe_regdictionary_name(col)`: the dictionary's name |
//! | `format('%I.%s', a, b)` (conversions in order) | `floe_format(concat(quote_ident(…a…), '.', …b…))` |
//! | `col \|\| ARRAY(…)` | `list_concat(col, ARRAY(…))` (a NULL array counts as empty) |
//! | `ARRAY(…)::text`, `ARRAY[…]::text` | `floe_array_text(ARRAY(…))`: the `{a,b}` text form |
//! | `::pg_catalog.text` (any type) | `::text` |
//! | `[pg_catalog.]format_type(`, `pg_get_userbyid(`, `pg_size_pretty(`, … | Floe's session macros (`FLOE_FUNCTIONS`; `length(` and the other `floe_sql::stand_ins::CALLS` become `floe_length(`, …) |
//! | `pg_catalog.f(` (any other function) | `f(` |
//! | `to_regtype(x)`, `to_regclass(x)` | a lookup of the name in `pg_type` / `pg_class` (NULL when absent) |
//! | `version()` | `floe_version()`: the PostgreSQL-shaped version string |
//! | `current_user`, `session_user`, `user`, `current_role` (the keywords) | the session's user (`floe_current_user()`, …) |
//! | `current_schema[()]`, `current_schemas(b)` | the session's schema path (`floe_current_schema()`, …) |
//! | `pg_get_viewdef(x [, pretty])` | the view's definition from `pg_views` |
//! | `pg_table_is_visible(x)` | whether `x` is the first relation of its name on the schema path |
//! | `generate_series(…)` as an item of a select list | `unnest(generate_series(…))`: one row per value, as Postgres's set-returning function gives |
//! | `sum(x)`, `avg(x)` (plain calls) | `floe_sum(x)`, `floe_avg(x)`: PostgreSQL's result types for integers (`integer_aggregates`) |
//! | `position(a IN b)`, `ntile(n) OVER w` | `floe_position(a , b)`, `CAST(ntile(n) OVER w AS INTEGER)`: integers (`integer_results`) |
//! | `json_build_object(…)`, `json_build_array(…)`, `json_agg(…)`, `json_object_agg(…)` | the engine's builder inside `floe_json_build_object(…)` and kin: PostgreSQL's layout (`json_calls`) |
//! | `j #> '{a,1}'`, `j #>> path` | `(j -> '/a/1')`, `(j ->> floe_json_pointer(path))`: the engine's operators with a JSON pointer (`json_calls`) |
//! | `x::varchar(n)`, `x::char(n)`, `x::char`, `CAST(x AS character varying(n))` | `floe_as_varchar_n(x, n)`, `floe_as_bpchar_n(x, n)`: the text cut to the length (`length_casts`) |
//! | `generate_series(1, 3) WITH ORDINALITY` | a subquery of integers numbered by the engine (`set_returning`) |
//! | `a / b` | `floe_div(a , b)`: PostgreSQL's `numeric` quotient (`division`) |

use sqlparser::tokenizer::Token;

use floe_sql::quote::literal as lit;
use floe_sql::{apply, significant_tokens};

mod column_names;
mod date_fields;
mod describe_object;
mod division;
mod format_call;
mod integer_aggregates;
mod integer_results;
mod json_calls;
mod lake_definitions;
mod length_casts;
mod reg_arrays;
mod set_returning;
mod view_definition;
mod zoned_casts;

use date_fields::date_field_edits;
use describe_object::describe_object_call;
use format_call::format_call;
use integer_aggregates::integer_aggregate_edits;
use lake_definitions::lake_definition_of;
use set_returning::set_returning_edits;
use view_definition::view_definition_of;
use zoned_casts::zoned_cast_edits;

/// Whether `sql` may need a rewrite (a cheap pre-check before tokenizing).
pub fn mentions(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    [
        "operator(",
        "operator (",
        "'{",
        "collate",
        "::",
        "format",
        "pg_catalog.",
        "pg_get_",
        "pg_describe_object",
        "pg_relation_is_publishable",
        "array_upper",
        "pg_size_pretty",
        "pg_collation_is_visible",
        "build_object",
        "pg_encoding_to_char",
        "version",
        "pg_typeof",
        "to_reg",
        "cast",
        "user",
        "current_role",
        "current_schema",
        "current_database",
        "current_catalog",
        "is_visible",
        "viewdef",
        "generate_series",
        "unnest",
        "_pg_expandarray",
        "array",
        "extract",
        "date_part",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || floe_sql::stand_ins::mentioned(&lower)
        || lower.contains('/')
        || lower.contains("position")
        || lower.contains("ntile")
        || lower.contains("json")
        || FLOE_FUNCTIONS.iter().any(|(pg, _)| lower.contains(pg))
        || nested_select(&lower)
}

/// Whether `lower` has a `(SELECT` (a subquery or CTE whose columns outer
/// queries may name).
fn nested_select(lower: &str) -> bool {
    lower.match_indices("select").any(|(i, _)| {
        lower[..i]
            .trim_end_matches(|c: char| c.is_ascii_whitespace())
            .ends_with('(')
    })
}

/// Postgres functions DuckDB lacks or defines differently, and the session
/// macros (see the worker's `pg_compat`) that stand in for them.
const FLOE_FUNCTIONS: &[(&str, &str)] = &[
    ("format_type", "floe_format_type"),
    ("pg_get_userbyid", "floe_pg_get_userbyid"),
    ("pg_get_expr", "floe_pg_get_expr"),
    (
        "pg_relation_is_publishable",
        "floe_pg_relation_is_publishable",
    ),
    (
        "pg_get_statisticsobjdef_columns",
        "floe_pg_get_statisticsobjdef_columns",
    ),
    ("array_upper", "floe_array_upper"),
    ("btrim", "floe_btrim"),
    ("pg_size_pretty", "floe_pg_size_pretty"),
    ("version", "floe_version"),
    ("pg_typeof", "floe_pg_typeof"),
    ("pg_get_serial_sequence", "floe_pg_get_serial_sequence"),
    ("pg_collation_is_visible", "floe_pg_collation_is_visible"),
    ("pg_encoding_to_char", "floe_pg_encoding_to_char"),
    ("pg_get_function_result", "floe_pg_get_function_result"),
    (
        "pg_get_function_arguments",
        "floe_pg_get_function_arguments",
    ),
    ("current_schema", "floe_current_schema"),
    ("current_database", "floe_current_database"),
    ("current_schemas", "floe_current_schemas"),
];

/// SQL's keywords for the session's user, and the session macros that answer
/// them (DuckDB's own answer its engine's user).
const SESSION_USER_KEYWORDS: &[(&str, &str)] = &[
    ("current_user", "floe_current_user()"),
    ("session_user", "floe_session_user()"),
    ("user", "floe_user()"),
    ("current_role", "floe_current_role()"),
    ("current_schema", "floe_current_schema()"),
    ("current_catalog", "floe_current_database()"),
];

/// Words after which `user` and its kin are names, not the keyword
/// (`CREATE USER`, `AS user`, `t.user`, `FOR USER`).
fn keyword_position(previous: Option<&Token>) -> bool {
    match previous {
        Some(Token::Period) | Some(Token::DoubleColon) => false,
        Some(Token::Word(w)) if w.quote_style.is_none() => !matches!(
            w.value.to_ascii_uppercase().as_str(),
            "AS" | "CREATE"
                | "ALTER"
                | "DROP"
                | "FOR"
                | "MAPPING"
                | "ROLE"
                | "TO"
                | "OWNER"
                | "AUTHORIZATION"
                | "GRANTED"
                | "BY"
        ),
        _ => true,
    }
}

fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.value.eq_ignore_ascii_case(w))
}

/// Applies every rule; `None` when nothing matched. Divisions are delimited
/// last, on the text the other rules made (their edits never overlap).
pub fn rewrite(sql: &str) -> Option<String> {
    let first = rewrite_calls(sql);
    let text = first.as_deref().unwrap_or(sql);
    if !text.contains('/') {
        return first;
    }
    let Some(toks) = significant_tokens(text) else {
        return first;
    };
    let mut edits = division::division_edits(&toks);
    edits.sort_by_key(|e| e.0);
    if edits.is_empty() {
        return first;
    }
    Some(apply(text, edits))
}

/// Every rule but division.
fn rewrite_calls(sql: &str) -> Option<String> {
    let toks = significant_tokens(sql)?;
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let span = |k: usize| (toks[k].start, toks[k].end);
    // The path operators' parentheses first: an edit of the same text made
    // later keeps them (of two edits at one place the first made wins).
    let mut edits: Vec<(usize, usize, String)> = json_calls::json_path_edits(&toks);
    edits.extend(set_returning_edits(&toks));
    // First, so each macro's opening comes before edits inside its operand.
    edits.extend(zoned_cast_edits(&toks));
    edits.extend(length_casts::length_cast_edits(&toks));
    edits.extend(date_field_edits(&toks));
    edits.extend(integer_aggregate_edits(&toks));
    edits.extend(integer_results::integer_result_edits(&toks));
    edits.extend(json_calls::json_call_edits(&toks));
    let mut k = 0;
    while k < toks.len() {
        // x = ANY('{a,b}'), x <> ALL('{1,2}'): the untyped array literal takes
        // x's type in PostgreSQL; as a list the engine compares element-wise
        // (integers stay numbers, so they compare with numeric x).
        if (is_word(tok(k), "ANY") || is_word(tok(k), "ALL") || is_word(tok(k), "SOME"))
            && matches!(tok(k + 1), Some(Token::LParen))
            && matches!(tok(k + 3), Some(Token::RParen))
        {
            if let Some(Token::SingleQuotedString(text)) = tok(k + 2) {
                if let Some(list) = compared_array_literal(text) {
                    edits.push((span(k + 2).0, span(k + 2).1, list));
                    k += 4;
                    continue;
                }
            }
        }
        // OPERATOR(pg_catalog.<op>) → <op>
        if is_word(tok(k), "OPERATOR") && matches!(tok(k + 1), Some(Token::LParen)) {
            let j = past_pg_catalog(&toks, k + 2);
            if let (Some(op), Some(Token::RParen)) = (tok(j), tok(j + 1)) {
                let op_text = sql[span(j).0..span(j).1].to_string();
                if !matches!(op, Token::Word(_)) {
                    edits.push((span(k).0, span(j + 1).1, op_text));
                    k = j + 2;
                    continue;
                }
            }
        }
        // COLLATE pg_catalog."default" → (nothing)
        if is_word(tok(k), "COLLATE") {
            let j = past_pg_catalog(&toks, k + 1);
            if is_word(tok(j), "default") {
                edits.push((span(k).0, span(j).1, String::new()));
                k = j + 1;
                continue;
            }
        }
        // current_user, session_user, user, current_role → the session's user
        if let Some(Token::Word(w)) = tok(k) {
            let keyword = SESSION_USER_KEYWORDS
                .iter()
                .find(|(kw, _)| w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw));
            if let Some((_, floe)) = keyword {
                if !matches!(tok(k + 1), Some(Token::LParen) | Some(Token::Period))
                    && keyword_position(k.checked_sub(1).and_then(tok))
                {
                    edits.push((span(k).0, span(k).1, floe.to_string()));
                    k += 1;
                    continue;
                }
            }
        }
        // [pg_catalog.]to_regtype(x) / to_regclass(x) → a catalog lookup
        {
            let name_k = past_pg_catalog(&toks, k);
            let lookup = match tok(name_k) {
                Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("to_regtype") => {
                    Some(REGTYPE_LOOKUP)
                }
                Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("to_regclass") => {
                    Some(REGCLASS_LOOKUP)
                }
                Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("pg_table_is_visible") => {
                    Some(TABLE_VISIBLE_LOOKUP)
                }
                _ => None,
            };
            if let (Some((open, close)), Some(Token::LParen)) = (lookup, tok(name_k + 1)) {
                if let Some(end) = matching_paren(&toks, name_k + 1) {
                    edits.push((span(k).0, span(name_k + 1).1, open.to_string()));
                    edits.push((span(end).0, span(end).1, close.to_string()));
                    k = name_k + 2;
                    continue;
                }
            }
        }
        // [pg_catalog.]pg_get_viewdef(x [, pretty]) → the view's stored definition
        {
            let name_k = past_pg_catalog(&toks, k);
            if is_word(tok(name_k), "pg_get_viewdef")
                && matches!(tok(name_k + 1), Some(Token::LParen))
            {
                if let Some(end) = matching_paren(&toks, name_k + 1) {
                    let comma =
                        first_top_level(&toks, name_k + 2, end, |t| matches!(t, Token::Comma));
                    let arg_end = comma.unwrap_or(end);
                    if arg_end > name_k + 2 {
                        let arg = &sql[span(name_k + 2).0..span(arg_end - 1).1];
                        // The argument may itself need rewriting (`'v'::regclass`).
                        let arg = rewrite(arg).unwrap_or_else(|| arg.to_string());
                        let pretty = match comma {
                            Some(c) if c + 1 < end => {
                                let p = &sql[span(c + 1).0..span(end - 1).1];
                                rewrite(p).unwrap_or_else(|| p.to_string())
                            }
                            _ => "false".to_string(),
                        };
                        edits.push((span(k).0, span(end).1, view_definition_of(&arg, &pretty)));
                        k = end + 1;
                        continue;
                    }
                }
            }
        }
        // [pg_catalog.]pg_get_constraintdef / pg_get_indexdef → lake objects'
        // definitions first
        {
            let name_k = past_pg_catalog(&toks, k);
            let function = ["pg_get_constraintdef", "pg_get_indexdef"]
                .into_iter()
                .find(|f| is_word(tok(name_k), f));
            if let (Some(function), Some(Token::LParen)) = (function, tok(name_k + 1)) {
                if let Some(end) = matching_paren(&toks, name_k + 1) {
                    let mut args = Vec::new();
                    let mut from = name_k + 2;
                    while from < end {
                        let stop = first_top_level(&toks, from, end, |t| matches!(t, Token::Comma))
                            .unwrap_or(end);
                        if stop > from {
                            let arg = &sql[span(from).0..span(stop - 1).1];
                            args.push(rewrite(arg).unwrap_or_else(|| arg.to_string()));
                        }
                        from = stop + 1;
                    }
                    if let Some(call) = lake_definition_of(function, &args) {
                        edits.push((span(k).0, span(end).1, call));
                        k = end + 1;
                        continue;
                    }
                }
            }
        }
        // [pg_catalog.]pg_partition_ancestors(x) → x: no relation Floe shows is
        // a partition, so a relation's only "ancestor" is itself (psql's `\d`
        // reads foreign keys through it, in FROM and in a select list).
        {
            let name_k = past_pg_catalog(&toks, k);
            if is_word(tok(name_k), "pg_partition_ancestors")
                && matches!(tok(name_k + 1), Some(Token::LParen))
            {
                if let Some(end) = matching_paren(&toks, name_k + 1) {
                    if end > name_k + 2 {
                        let arg = &sql[span(name_k + 2).0..span(end - 1).1];
                        let arg = rewrite(arg).unwrap_or_else(|| arg.to_string());
                        let relid = regclass_of(&arg);
                        // `WITH ORDINALITY` numbers the one row: depth 1.
                        let numbered =
                            is_word(tok(end + 1), "WITH") && is_word(tok(end + 2), "ORDINALITY");
                        let (call, last) = if numbered {
                            (format!("(SELECT {relid} AS relid, 1 AS depth)"), end + 2)
                        } else {
                            (format!("(SELECT {relid} AS relid)"), end)
                        };
                        edits.push((span(k).0, span(last).1, call));
                        k = last + 1;
                        continue;
                    }
                }
            }
        }
        // [pg_catalog.]pg_describe_object(c, o, s) → the object's name by kind
        {
            let name_k = past_pg_catalog(&toks, k);
            if is_word(tok(name_k), "pg_describe_object")
                && matches!(tok(name_k + 1), Some(Token::LParen))
            {
                if let Some((end, call)) = describe_object_call(sql, &toks, name_k) {
                    edits.push((span(k).0, span(end).1, call));
                    k = end + 1;
                    continue;
                }
            }
        }
        // [pg_catalog.]f( → Floe's version of f, or f without the qualifier
        {
            let name_k = past_pg_catalog(&toks, k);
            let qualified = name_k > k;
            // [pg_catalog.]format('%I.%s', a, b) → concat(quote_ident(…a…), '.', …b…)
            if is_word(tok(name_k), "format") && matches!(tok(name_k + 1), Some(Token::LParen)) {
                if let Some(format_edits) = format_call(&toks, name_k) {
                    if qualified {
                        edits.push((span(k).0, span(k + 1).1, String::new()));
                    }
                    edits.extend(format_edits);
                    k = name_k + 1;
                    continue;
                }
            }
            if let (Some(Token::Word(w)), Some(Token::LParen)) = (tok(name_k), tok(name_k + 1)) {
                let name = w.value.to_ascii_lowercase();
                let replacement = FLOE_FUNCTIONS
                    .iter()
                    .find(|(pg, _)| *pg == name)
                    .map(|(_, floe)| floe.to_string())
                    .or_else(|| {
                        floe_sql::stand_ins::CALLS
                            .contains(&name.as_str())
                            .then(|| format!("floe_{name}"))
                    })
                    .or_else(|| qualified.then(|| sql[span(name_k).0..span(name_k).1].to_string()));
                if let Some(r) = replacement {
                    edits.push((span(k).0, span(name_k).1, r));
                    k = name_k + 1;
                    continue;
                }
            }
        }
        // ARRAY(…)::text, ARRAY[…]::text → PostgreSQL's array text form ({a,b})
        if is_word(tok(k), "ARRAY") {
            if let Some(close) = matching_bracket(&toks, k + 1) {
                let t = past_pg_catalog(&toks, close + 2);
                if matches!(tok(close + 1), Some(Token::DoubleColon))
                    && (is_word(tok(t), "text") || is_word(tok(t), "varchar"))
                    && !matches!(tok(t + 1), Some(Token::LBracket))
                {
                    edits.push((span(k).0, span(k).0, "floe_array_text(".into()));
                    edits.push((span(close + 1).0, span(t).1, ")".into()));
                } else if let (Some(Token::StringConcat), Some(start)) = (
                    k.checked_sub(1).and_then(tok),
                    k.checked_sub(1)
                        .and_then(|c| column_reference_start(&toks, c)),
                ) {
                    // col || ARRAY(…): array concatenation, where a NULL array
                    // counts as empty (psql's `c.reloptions || array(…)`).
                    edits.push((span(start).0, span(start).0, "list_concat(".into()));
                    edits.push((span(k - 1).0, span(k - 1).1, ",".into()));
                    edits.push((span(close).1, span(close).1, ")".into()));
                }
            }
        }
        // <value>::[pg_catalog.]reg* / oid
        if matches!(tok(k), Some(Token::DoubleColon)) {
            let j = past_pg_catalog(&toks, k + 1);
            let target = match tok(j) {
                Some(Token::Word(w)) => w.value.to_ascii_lowercase(),
                _ => String::new(),
            };
            let literal = match k.checked_sub(1).and_then(tok) {
                Some(Token::SingleQuotedString(s)) => Some(s.clone()),
                _ => None,
            };
            // '{a,b}'::T[]: PostgreSQL's array input, which DuckDB reads as
            // text; the elements become a list literal for the cast to convert.
            if let (Some(list), Some(Token::LBracket), Some(Token::RBracket)) = (
                literal.as_deref().and_then(array_literal),
                tok(j + 1),
                tok(j + 2),
            ) {
                edits.push((span(k - 1).0, span(k - 1).1, list));
            }
            // '\x0102'::bytea: PostgreSQL's hex input, which DuckDB reads as escapes.
            if let (Some(hex), "bytea") = (literal.as_deref().and_then(hex_bytea), target.as_str())
            {
                edits.push((span(k - 1).0, span(j).1, hex));
                k = j + 1;
                continue;
            }
            // nextval('s'::regclass) and the other sequence functions take
            // the name: the worker resolves it to a sequence.
            let sequence_argument = target == "regclass"
                && literal.is_some()
                && matches!(k.checked_sub(2).and_then(tok), Some(Token::LParen))
                && k.checked_sub(3).and_then(tok).is_some_and(|t| {
                    ["nextval", "currval", "setval"]
                        .iter()
                        .any(|f| is_word(Some(t), f))
                });
            if sequence_argument {
                edits.push((span(k).0, span(j).1, String::new()));
                k = j + 1;
                continue;
            }
            let lookup = match (target.as_str(), &literal) {
                ("regclass", Some(name)) if system_catalog_oid(name).is_some() => {
                    system_catalog_oid(name).map(|oid| oid.to_string())
                }
                ("regclass", Some(name)) => Some(regclass_of(&lit(name))),
                ("regtype", Some(name)) => Some(format!(
                    "(SELECT oid FROM pg_catalog.pg_type WHERE typname = {} LIMIT 1)",
                    lit(name)
                )),
                ("regproc", Some(name)) => Some(format!("floe_regproc_oid({})", lit(name))),
                ("regnamespace", Some(name)) => Some(format!(
                    "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {} LIMIT 1)",
                    lit(name)
                )),
                _ => None,
            };
            if let Some(l) = lookup {
                // 'name'::regclass::text is the name as PostgreSQL prints it.
                let looked_up = format!("floe_oid_of({l})");
                if let Some((t, name)) = text_cast_end(&toks, j)
                    .and_then(|t| Some((t, reg_name_of(&target, &looked_up)?)))
                {
                    let text_type = text_type_of(tok(t));
                    edits.push((
                        span(k - 1).0,
                        span(t).1,
                        format!("CAST({name} AS {text_type})"),
                    ));
                    k = t + 1;
                    continue;
                }
                edits.push((span(k - 1).0, span(j).1, typed_oid(&l, &target)));
                k = j + 1;
                continue;
            }
            // A parameter's text is a name or an OID.
            if let (Some(Token::Placeholder(p)), "regclass") =
                (k.checked_sub(1).and_then(tok), target.as_str())
            {
                edits.push((
                    span(k - 1).0,
                    span(j).1,
                    typed_oid(&regclass_of(p), &target),
                ));
                k = j + 1;
                continue;
            }
            // col::regtype[] (and the other OID aliases): the elements' names.
            if let (Some(start), Some(Token::LBracket), Some(Token::RBracket)) =
                (column_reference_start(&toks, k), tok(j + 1), tok(j + 2))
            {
                let column = &sql[span(start).0..span(k - 1).1];
                if let Some(names) = reg_arrays::element_names(&target, column) {
                    edits.push((span(start).0, span(j + 2).1, names));
                    k = j + 3;
                    continue;
                }
            }
            // col::regclass::text (and regtype, regnamespace, regrole): the name.
            if let (Some(start), Some(t)) =
                (column_reference_start(&toks, k), text_cast_end(&toks, j))
            {
                let column = &sql[span(start).0..span(k - 1).1];
                if let Some(name) = reg_name_of(&target, column) {
                    let text_type = text_type_of(tok(t));
                    edits.push((
                        span(start).0,
                        span(t).1,
                        format!("CAST({name} AS {text_type})"),
                    ));
                    k = t + 1;
                    continue;
                }
            }
            // mapdict::regdictionary (psql's \dF+): the dictionary's name.
            if target == "regdictionary" {
                if let Some(start) = column_reference_start(&toks, k) {
                    edits.push((
                        span(start).0,
                        span(start).0,
                        "floe_regdictionary_name(".into(),
                    ));
                    edits.push((span(k).0, span(j).1, ")".into()));
                    k = j + 1;
                    continue;
                }
            }
            // 1.50::numeric keeps the literal's scale (the engine's numeric has 3).
            if let (Some(decimal), false) = (
                k.checked_sub(1)
                    .and_then(tok)
                    .and_then(|t| literal_decimal_type(t, &target)),
                matches!(tok(j + 1), Some(Token::LParen | Token::LBracket)),
            ) {
                edits.push((span(k).0, span(j).1, format!("::{decimal}")));
                k = j + 1;
                continue;
            }
            // OIDs, and reg* casts of columns (their names are not looked up yet).
            // `name` is text of at most 63 bytes; DuckDB has no such type.
            if target == "name" {
                edits.push((span(k).0, span(j).1, "::floe_name".into()));
                k = j + 1;
                continue;
            }
            if let Some(engine) = oid_engine_type(&target) {
                edits.push((span(k).0, span(j).1, format!("::{engine}")));
                k = j + 1;
                continue;
            }
            // ::pg_catalog.text → ::text
            if j == k + 3 {
                edits.push((span(k + 1).0, span(k + 2).1, String::new()));
                k = j + 1;
                continue;
            }
        }
        // CAST(x AS [pg_catalog.]oid | regclass | regtype | …) → CAST(x AS UINTEGER)
        if is_word(tok(k), "CAST") && matches!(tok(k + 1), Some(Token::LParen)) {
            if let Some(end) = matching_paren(&toks, k + 1) {
                if let Some(a) = first_top_level(&toks, k + 2, end, |t| is_word(Some(t), "AS")) {
                    let t = past_pg_catalog(&toks, a + 1);
                    let oid_type = match tok(t) {
                        Some(Token::Word(w)) => oid_engine_type(&w.value.to_ascii_lowercase()),
                        _ => None,
                    };
                    if let (true, Some(Token::SingleQuotedString(lit))) = (
                        is_word(tok(t), "bytea") && a == k + 3 && t + 1 == end,
                        tok(k + 2),
                    ) {
                        if let Some(hex) = hex_bytea(lit) {
                            edits.push((span(k).0, span(end).1, hex));
                            k = end + 1;
                            continue;
                        }
                    }
                    // CAST(1.50 AS numeric): the literal's scale, as above.
                    if let (true, Some(decimal)) = (
                        a == k + 3 && t + 1 == end,
                        tok(t).and_then(|w| match w {
                            Token::Word(w) => {
                                literal_decimal_type(tok(k + 2)?, &w.value.to_ascii_lowercase())
                            }
                            _ => None,
                        }),
                    ) {
                        edits.push((span(a + 1).0, span(t).1, decimal));
                        k = end + 1;
                        continue;
                    }
                    if is_word(tok(t), "regclass") && a == k + 3 && t + 1 == end {
                        let looked_up = match tok(k + 2) {
                            Some(Token::Placeholder(p)) => Some(regclass_of(p)),
                            Some(Token::SingleQuotedString(name)) => Some(
                                system_catalog_oid(name)
                                    .map_or_else(|| regclass_of(&lit(name)), |o| o.to_string()),
                            ),
                            _ => None,
                        };
                        if let Some(l) = looked_up {
                            edits.push((span(k).0, span(end).1, typed_oid(&l, "regclass")));
                            k = end + 1;
                            continue;
                        }
                    }
                    if let (Some(engine), true) = (oid_type, t + 1 == end) {
                        edits.push((span(a + 1).0, span(t).1, engine.to_string()));
                    } else if is_word(tok(t), "name") && t + 1 == end {
                        edits.push((span(a + 1).0, span(t).1, "floe_name".into()));
                    } else if t == a + 3 {
                        // CAST(x AS pg_catalog.text) → CAST(x AS text)
                        edits.push((span(a + 1).0, span(a + 2).1, String::new()));
                    }
                }
            }
        }
        k += 1;
    }
    if edits.is_empty() {
        return None;
    }
    // A call's closing edit was added before the edits inside it. Of two
    // edits of the same text the first made wins (the set-returning items').
    edits.sort_by_key(|e| e.0);
    let mut kept: Vec<(usize, usize, String)> = Vec::with_capacity(edits.len());
    for e in edits {
        if kept.last().is_none_or(|last| e.0 >= last.1) {
            kept.push(e);
        }
    }
    Some(apply(sql, kept))
}

/// `to_regtype(x)` as a lookup: by `typname`, qualified name or the name
/// `format_type` gives (`integer`), the lowest OID, NULL when none. The lookup
/// is wrapped in a session macro that returns its argument, so the result
/// column keeps the function's name.
const REGTYPE_LOOKUP: (&str, &str) = (
    "floe_to_regtype((SELECT floe_t.oid FROM pg_catalog.pg_type floe_t, (SELECT CAST((",
    ") AS VARCHAR) AS n) floe_q WHERE floe_t.typname = floe_q.n OR 'pg_catalog.' || floe_t.typname = floe_q.n \
     OR floe_format_type(floe_t.oid, NULL) = floe_q.n ORDER BY floe_t.oid LIMIT 1))",
);

/// `to_regclass(x)` as a lookup of the name: a qualified name in its schema, an
/// unqualified one on the schema path (the first schema that has it).
const REGCLASS_LOOKUP: (&str, &str) = (
    "floe_to_regclass((SELECT floe_c.oid FROM pg_catalog.pg_class floe_c \
     JOIN pg_catalog.pg_namespace floe_n ON floe_n.oid = floe_c.relnamespace, \
     (SELECT string_split(CAST((",
    ") AS VARCHAR), '.') AS p) floe_q WHERE floe_c.relname = replace(floe_q.p[-1], '\"', '') \
     AND CASE WHEN len(floe_q.p) > 1 THEN floe_n.nspname = replace(floe_q.p[-2], '\"', '') \
     ELSE list_contains(floe_current_schemas(true), floe_n.nspname) END \
     ORDER BY list_position(floe_current_schemas(true), floe_n.nspname), floe_c.oid LIMIT 1))",
);

/// A relation named by text or given by OID, as `x::regclass` reads it.
fn regclass_of(x: &str) -> String {
    format!(
        "COALESCE(TRY_CAST(({x}) AS UINTEGER), {}{x}{})",
        REGCLASS_LOOKUP.0, REGCLASS_LOOKUP.1
    )
}

/// The text of OID `x` (a column) as a value of OID-alias type `target`
/// prints: a relation's name, schema-qualified unless visible on the path; a
/// type as `format_type` writes it; a schema's or role's name; `-` for 0 and
/// the number for an OID naming nothing.
fn reg_name_of(target: &str, x: &str) -> Option<String> {
    let name = match target {
        "regclass" => format!(
            "(SELECT CASE WHEN {}{x}{} THEN quote_ident(floe_c.relname) \
             ELSE quote_ident(floe_n.nspname) || '.' || quote_ident(floe_c.relname) END \
             FROM pg_catalog.pg_class floe_c JOIN pg_catalog.pg_namespace floe_n \
             ON floe_n.oid = floe_c.relnamespace WHERE floe_c.oid = {x} LIMIT 1)",
            TABLE_VISIBLE_LOOKUP.0, TABLE_VISIBLE_LOOKUP.1
        ),
        "regtype" => format!("floe_format_type({x}, NULL)"),
        "regnamespace" => format!(
            "(SELECT quote_ident(floe_n.nspname) FROM pg_catalog.pg_namespace floe_n \
             WHERE floe_n.oid = {x} LIMIT 1)"
        ),
        "regrole" => format!("floe_pg_get_userbyid({x})"),
        _ => return None,
    };
    Some(format!("floe_reg_text({x}, {name})"))
}

/// `pg_table_is_visible(x)`: whether `x` is a relation in a schema of the path
/// and no schema before it on the path has a relation of the same name.
const TABLE_VISIBLE_LOOKUP: (&str, &str) = (
    "floe_pg_table_is_visible((",
    ") IN (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
     ON n.oid = c.relnamespace WHERE list_contains(floe_current_schemas(true), n.nspname) \
     QUALIFY row_number() OVER (PARTITION BY c.relname \
     ORDER BY list_position(floe_current_schemas(true), n.nspname)) = 1))",
);

/// A bytea literal in PostgreSQL's hex format (`\x0102`) as the bytes it
/// stands for; `None` for any other text.
fn hex_bytea(literal: &str) -> Option<String> {
    let digits: String = literal
        .strip_prefix("\\x")?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    (digits.len().is_multiple_of(2) && digits.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("floe_bytea('{digits}')"))
}

/// One element of a PostgreSQL array literal: its text (`None` for NULL) and
/// whether it was written in double quotes.
type ArrayElement = (Option<String>, bool);

/// The elements of a one-dimensional PostgreSQL array literal
/// (`{a,"b c",NULL}`); `None` for anything else (nested arrays, unbalanced
/// quotes), which is left to the engine.
pub(super) fn array_elements(text: &str) -> Option<Vec<ArrayElement>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '{' | '}' | '"') {
                    return None;
                }
                value.push(if c == '\\' {
                    chars.next();
                    *chars.peek()?
                } else {
                    c
                });
                chars.next();
            }
            value = value.trim().to_string();
        }
        let null = !quoted && value.eq_ignore_ascii_case("NULL");
        items.push(((!null).then_some(value), quoted));
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some(items)
}

/// A PostgreSQL array literal as a DuckDB list of text literals
/// (`['a', 'b c', NULL]`), for a cast to convert.
fn array_literal(text: &str) -> Option<String> {
    let items: Vec<String> = array_elements(text)?
        .into_iter()
        .map(|(v, _)| v.map_or_else(|| "NULL".into(), |v| lit(&v)))
        .collect();
    Some(format!("[{}]", items.join(", ")))
}

/// An untyped array literal compared with ANY/ALL as a DuckDB list: bare
/// numbers when every element is an unquoted integer (so they compare with a
/// numeric left side), text literals otherwise.
fn compared_array_literal(text: &str) -> Option<String> {
    let elements = array_elements(text)?;
    let integer = |(v, quoted): &ArrayElement| {
        let Some(v) = v.as_deref().filter(|_| !quoted) else {
            return false;
        };
        let digits = v.strip_prefix('-').unwrap_or(v);
        !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !elements.is_empty() && elements.iter().all(integer) {
        let numbers: Vec<String> = elements.into_iter().filter_map(|(v, _)| v).collect();
        Some(format!("[{}]", numbers.join(", ")))
    } else {
        array_literal(text)
    }
}

/// The engine type for a cast of literal `t` (a number, or a string holding
/// one) to unconstrained `numeric`: PostgreSQL's numeric keeps the scale the
/// value was written with (`2` stays `2`, `2.50` stays `2.50`).
fn literal_decimal_type(t: &Token, target: &str) -> Option<String> {
    if !matches!(target, "numeric" | "decimal") {
        return None;
    }
    let text = match t {
        Token::Number(n, _) => n.as_str(),
        Token::SingleQuotedString(s) => s.trim(),
        _ => return None,
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !plain(whole) || !plain(fraction) {
        return None;
    }
    let whole_digits = whole.trim_start_matches('0').len();
    // The engine's widest decimal has 38 digits.
    let scale = fraction.len();
    (whole_digits + scale <= 38)
        .then(|| format!("DECIMAL({}, {scale})", (whole_digits + scale).clamp(18, 38)))
}

/// The engine type a cast to `target` becomes when it is `oid` or an
/// OID-alias type.
fn oid_engine_type(target: &str) -> Option<String> {
    if target == "oid" {
        return Some("UINTEGER".into());
    }
    floe_sql::OID_ALIAS_TYPES
        .contains(&target)
        .then(|| format!("floe_{target}"))
}

/// An OID expression (a lookup, a number) typed as `target` for the worker;
/// `floe_oid_of` leaves the column named after the type, as PostgreSQL names
/// a cast of a literal.
fn typed_oid(expr: &str, target: &str) -> String {
    match oid_engine_type(target) {
        Some(engine) if target != "oid" => format!("CAST(floe_oid_of({expr}) AS {engine})"),
        _ => expr.to_string(),
    }
}

/// When the type ending at token `j` is followed by `::[pg_catalog.]text`
/// (or `varchar`, `name`, not an array), the index of that type's last token.
fn text_cast_end(toks: &[floe_sql::Spanned], j: usize) -> Option<usize> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    if !matches!(tok(j + 1), Some(Token::DoubleColon)) {
        return None;
    }
    let t = past_pg_catalog(toks, j + 2);
    (["text", "varchar", "name"]
        .iter()
        .any(|w| is_word(tok(t), w))
        && !matches!(tok(t + 1), Some(Token::LBracket)))
    .then_some(t)
}

/// The engine type for the text type `t` a name is cast to (`text`,
/// `varchar`, or `name` as `floe_name`).
fn text_type_of(t: Option<&Token>) -> &'static str {
    if is_word(t, "name") {
        "floe_name"
    } else if is_word(t, "varchar") {
        "varchar"
    } else {
        "text"
    }
}

/// Where the column reference ending just before token `end` starts
/// (`mm.mapdict` in `mm.mapdict::regdictionary`), when it is one.
fn column_reference_start(toks: &[floe_sql::Spanned], end: usize) -> Option<usize> {
    let mut start = end.checked_sub(1)?;
    if !matches!(toks.get(start)?.token, Token::Word(_)) {
        return None;
    }
    while start >= 2
        && matches!(toks[start - 1].token, Token::Period)
        && matches!(toks[start - 2].token, Token::Word(_))
    {
        start -= 2;
    }
    Some(start)
}

/// The first token in `from..end` outside any parentheses opened there that
/// `wanted` accepts (an argument's comma, a CAST's `AS`).
fn first_top_level(
    toks: &[floe_sql::Spanned],
    from: usize,
    end: usize,
    wanted: impl Fn(&Token) -> bool,
) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().take(end).skip(from) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            ref other if depth == 0 && wanted(other) => return Some(j),
            _ => {}
        }
    }
    None
}

/// The index after `pg_catalog.` when the tokens from `j` start with it, else `j`.
pub(super) fn past_pg_catalog(toks: &[floe_sql::Spanned], j: usize) -> usize {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    if is_word(tok(j), "pg_catalog") && matches!(tok(j + 1), Some(Token::Period)) {
        j + 2
    } else {
        j
    }
}

/// The index of the `)` or `]` closing the `(` or `[` at `open`.
fn matching_bracket(toks: &[floe_sql::Spanned], open: usize) -> Option<usize> {
    let (opens, closes) = match toks.get(open)?.token {
        Token::LParen => (Token::LParen, Token::RParen),
        Token::LBracket => (Token::LBracket, Token::RBracket),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.token == opens {
            depth += 1;
        } else if t.token == closes {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The top-level commas of the call whose `(` is at `open` and `)` at `close`.
pub(super) fn top_level_commas(
    toks: &[floe_sql::Spanned],
    open: usize,
    close: usize,
) -> Vec<usize> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    for (i, t) in toks.iter().enumerate().take(close).skip(open + 1) {
        match t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => commas.push(i),
            _ => {}
        }
    }
    commas
}

/// Where a call of the function named at token `k` starts (byte offset): at
/// the name, or at `pg_catalog.` before it; `None` when another schema or a
/// relation qualifies the name (`s.f(`, `t.col`).
fn call_start(toks: &[floe_sql::Spanned], k: usize) -> Option<usize> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let qualified = k > 0 && matches!(tok(k - 1), Some(Token::Period));
    if !qualified {
        return Some(toks[k].start);
    }
    (k >= 2 && is_word(tok(k - 2), "pg_catalog")).then(|| toks[k - 2].start)
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(toks: &[floe_sql::Spanned], open: usize) -> Option<usize> {
    matches!(toks.get(open)?.token, Token::LParen)
        .then(|| matching_bracket(toks, open))
        .flatten()
}

/// The fixed OIDs of the Postgres system catalogs tools name with `::regclass`
/// (`classid = 'pg_rewrite'::regclass` in pg_depend queries).
fn system_catalog_oid(name: &str) -> Option<u32> {
    let name = name.trim_start_matches("pg_catalog.");
    Some(match name {
        "pg_class" => 1259,
        "pg_type" => 1247,
        "pg_attribute" => 1249,
        "pg_proc" => 1255,
        "pg_database" => 1262,
        "pg_namespace" => 2615,
        "pg_rewrite" => 2618,
        "pg_depend" => 2608,
        "pg_description" => 2609,
        "pg_constraint" => 2606,
        "pg_index" => 2610,
        "pg_trigger" => 2620,
        "pg_am" => 2601,
        "pg_attrdef" => 2604,
        "pg_authid" => 1260,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
