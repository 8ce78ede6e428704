//! Postgres functions DuckDB lacks, created in every session's DuckDB connection.
//! The router rewrites the Postgres spellings that reach them (for example
//! `pg_catalog.format_type(` into `floe_format_type(`).

use std::sync::OnceLock;

use floe_catalog::pg_schema::types::quote_literal;

/// The body of `floe_cursors()` (what `pg_cursors` reads) with no cursor open.
macro_rules! empty_cursor_list {
    () => {
        "SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS statement, \
         NULL::BOOLEAN AS is_holdable, NULL::BOOLEAN AS is_binary, \
         NULL::BOOLEAN AS is_scrollable, NULL::TIMESTAMPTZ AS creation_time LIMIT 0"
    };
}
pub const EMPTY_CURSOR_LIST: &str = empty_cursor_list!();

/// The body of `floe_session_settings()` before the session publishes.
macro_rules! empty_settings_list {
    () => {
        "SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS shown, NULL::VARCHAR AS setting, \
         NULL::VARCHAR AS source, NULL::VARCHAR AS reset_val LIMIT 0"
    };
}

/// Session macros a session creates the first time a statement uses them
/// (the name that marks the use, the statements): creating them costs more
/// than a whole session's other setup, and few sessions call them.
pub const ON_DEMAND_MACROS: &[(&str, &[&str])] = &[
    (
        "floe_pg_describe_object",
        &[
            // pg_describe_object, as the router writes it: relations, rules and
            // schemas described from the session's catalog (the last three
            // arguments), built-in objects from PostgreSQL's rows.
            r#"CREATE OR REPLACE TEMP MACRO floe_pg_describe_object(classid, objid, objsubid, rel, rule, schema) AS
  CASE classid WHEN 1259 THEN rel WHEN 2618 THEN rule WHEN 2615 THEN schema
  WHEN 1255 THEN (SELECT 'function ' || quote_ident(p.proname) || '('
    || array_to_string(list_transform(p.proargtypes, lambda t: floe_format_type(t, NULL)), ',')
    || ')' FROM floe_pg15.main.pg_proc p WHERE p.oid = objid)
  WHEN 2612 THEN (SELECT 'language ' || quote_ident(l.lanname) FROM floe_pg15.main.pg_language l
    WHERE l.oid = objid)
  WHEN 3079 THEN (SELECT 'extension ' || quote_ident(e.extname) FROM floe_pg15.main.pg_extension e
    WHERE e.oid = objid)
  WHEN 2601 THEN (SELECT 'access method ' || quote_ident(a.amname) FROM floe_pg15.main.pg_am a
    WHERE a.oid = objid)
  WHEN 1247 THEN 'type ' || floe_format_type(objid, NULL) END"#,
        ],
    ),
    (
        "floe_iceberg_bucket_",
        crate::lake::partition::SESSION_MACROS,
    ),
];

/// Statements creating objects in every session's DuckDB connection (temporary,
/// so they are never visible in, or stored with, user schemas).
pub const SESSION_SETUP: &[&str] = &[
    // `pg_cursors`: the session's open cursors, re-created as they open and close.
    concat!(
        "CREATE OR REPLACE TEMP MACRO floe_cursors() AS TABLE ",
        empty_cursor_list!()
    ),
    // The session's parameters (`pg_settings`, `current_setting(x)`),
    // re-created with their values before a statement reads them.
    concat!(
        "CREATE OR REPLACE TEMP MACRO floe_session_settings() AS TABLE ",
        empty_settings_list!()
    ),
    // current_setting(x) of a name that is no literal (the session inlines
    // literal names): the session's value, else PostgreSQL's default.
    r#"CREATE OR REPLACE TEMP MACRO floe_setting_of(n) AS COALESCE(
  (SELECT shown FROM floe_session_settings() WHERE lower(name) = lower(n)),
  (SELECT shown FROM floe_pg15.main.setting_shown WHERE lower(name) = lower(n)),
  CASE WHEN n IS NOT NULL THEN error('unrecognized configuration parameter "' || n || '"') END),
  (n, missing_ok) AS COALESCE(
  (SELECT shown FROM floe_session_settings() WHERE lower(name) = lower(n)),
  (SELECT shown FROM floe_pg15.main.setting_shown WHERE lower(name) = lower(n)),
  CASE WHEN n IS NOT NULL AND NOT missing_ok
  THEN error('unrecognized configuration parameter "' || n || '"') END)"#,
    // pg_get_expr: the built-in functions' argument defaults as PostgreSQL
    // deparses them; lake tables' defaults and checks are kept as the text
    // PostgreSQL shows (never a node tree, which starts with a brace).
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_expr(expr, rel) AS COALESCE(
  (SELECT expression FROM floe_pg15.main.node_expression WHERE tree = CAST(expr AS VARCHAR)),
  CASE WHEN NOT starts_with(CAST(expr AS VARCHAR), '{') THEN CAST(expr AS VARCHAR) END),
  (expr, rel, pretty) AS COALESCE(
  (SELECT expression FROM floe_pg15.main.node_expression WHERE tree = CAST(expr AS VARCHAR)),
  CASE WHEN NOT starts_with(CAST(expr AS VARCHAR), '{') THEN CAST(expr AS VARCHAR) END)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_relation_is_publishable(rel) AS false"#,
    // The router turns to_regtype / to_regclass into catalog lookups wrapped in
    // these, which name the result column as Postgres does.
    r#"CREATE OR REPLACE TEMP MACRO floe_to_regtype(found) AS found"#,
    // Lake tables have no sequences; every collation is the default one.
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_serial_sequence(rel, col) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_collation_is_visible(coll) AS true"#,
    // Floe has no functions of its own; PostgreSQL's built-in ones are
    // described as PostgreSQL describes them.
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_function_result(func) AS
  (SELECT result FROM floe_pg15.main.functiondef WHERE proc_oid = func)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_function_arguments(func) AS
  (SELECT arguments FROM floe_pg15.main.functiondef WHERE proc_oid = func)"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_function_identity_arguments(func) AS
  (SELECT identity_arguments FROM floe_pg15.main.functiondef WHERE proc_oid = func)"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_functiondef(func) AS
  (SELECT definition FROM floe_pg15.main.functiondef WHERE proc_oid = func)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_to_regclass(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_table_is_visible(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_viewdef(found) AS found"#,
    // The router looks lake constraints and indexes up first and names the
    // column as PostgreSQL does through these.
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_constraintdef(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_indexdef(found) AS found"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_current_setting(value) AS value"#,
    // The router turns bytea literals in hex format into these.
    r#"CREATE OR REPLACE TEMP MACRO floe_bytea(hex_digits) AS unhex(hex_digits)"#,
    // Text stored into a bytea column reads as PostgreSQL's bytea input:
    // `\x` and hex digits (an odd count is an error), else the text's bytes.
    r#"CREATE OR REPLACE TEMP MACRO floe_bytea_in(v) AS CASE
  WHEN NOT starts_with(v, '\x') THEN CAST(v AS BLOB)
  WHEN length(v) % 2 = 1 THEN error('invalid hexadecimal data: odd number of digits')
  ELSE unhex(substr(v, 3)) END"#,
    // The router writes `j #> path` as `j -> floe_json_pointer(path)`: a
    // PostgreSQL path (text[]) as the JSON pointer the engine follows.
    r#"CREATE OR REPLACE TEMP MACRO floe_json_pointer(path) AS CASE
  WHEN len(CAST(path AS VARCHAR[])) = 0 THEN '$'
  ELSE '/' || array_to_string(list_transform(CAST(path AS VARCHAR[]),
    lambda e: replace(replace(e, '~', '~0'), '/', '~1')), '/') END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_get_statisticsobjdef_columns(stat_oid) AS NULL::VARCHAR"#,
    // pg_typeof(x): the PostgreSQL name of the type a value has here (the
    // engine's typeof names its own types: VARCHAR, DECIMAL(10,2), BLOB).
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_type_name(t) AS CASE
  WHEN t LIKE 'DECIMAL(%' THEN 'numeric'
  ELSE coalesce(map_extract_value(MAP {
    'BOOLEAN': 'boolean', 'TINYINT': 'smallint', 'SMALLINT': 'smallint', 'INTEGER': 'integer',
    'BIGINT': 'bigint', 'HUGEINT': 'numeric', 'UTINYINT': 'smallint', 'USMALLINT': 'integer',
    'UINTEGER': 'oid', 'UBIGINT': 'numeric', 'FLOAT': 'real', 'DOUBLE': 'double precision',
    'VARCHAR': 'text', 'BLOB': 'bytea', 'DATE': 'date', 'TIME': 'time without time zone',
    'TIME WITH TIME ZONE': 'time with time zone', 'TIMESTAMP': 'timestamp without time zone',
    'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone', 'INTERVAL': 'interval',
    'UUID': 'uuid', 'JSON': 'json', 'NULL': 'unknown', '"NULL"': 'unknown', 'floe_name': 'name',
    'floe_char': '"char"', 'floe_regclass': 'regclass', 'floe_regtype': 'regtype',
    'floe_regproc': 'regproc', 'floe_regnamespace': 'regnamespace', 'floe_regrole': 'regrole'},
    t), lower(t)) END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_pg_typeof(x) AS CASE
  WHEN typeof(x) LIKE '%[]' THEN floe_pg_type_name(typeof(x)[:-3]) || '[]'
  ELSE floe_pg_type_name(typeof(x)) END"#,
    // PostgreSQL's prefix operators the engine parses but does not define:
    // square root, cube root and absolute value.
    r#"CREATE OR REPLACE TEMP MACRO "|/"(x) AS CASE WHEN CAST(x AS DOUBLE) < 0
  THEN error('cannot take square root of a negative number') ELSE sqrt(CAST(x AS DOUBLE)) END"#,
    r#"CREATE OR REPLACE TEMP MACRO "||/"(x) AS cbrt(CAST(x AS DOUBLE))"#,
    r#"CREATE OR REPLACE TEMP MACRO "@"(x) AS abs(x)"#,
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
    // Lake tables have no indexes or constraints in PostgreSQL's sense; the
    // catalog's own have the definitions PostgreSQL deparses for them.
    r#"CREATE OR REPLACE TEMP MACRO pg_get_indexdef(idx) AS
  (SELECT definition FROM floe_pg15.main.indexdef WHERE index_oid = idx AND key_number = 0),
  (idx, col, pretty) AS
  (SELECT CASE WHEN pretty THEN pretty_definition ELSE definition END
   FROM floe_pg15.main.indexdef WHERE index_oid = idx AND key_number = col)"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_constraintdef(con) AS
  (SELECT definition FROM floe_pg15.main.constraintdef WHERE constraint_oid = con),
  (con, pretty) AS
  (SELECT definition FROM floe_pg15.main.constraintdef WHERE constraint_oid = con)"#,
    // Floe has no triggers, rules or partition keys in PostgreSQL's sense, no
    // functions of its own, no tablespaces, no standby and no JIT.
    r#"CREATE OR REPLACE TEMP MACRO pg_get_partkeydef(rel) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_triggerdef(trig) AS NULL::VARCHAR,
  (trig, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_get_ruledef(rule) AS NULL::VARCHAR,
  (rule, pretty) AS NULL::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_is_in_recovery() AS false"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_tablespace_location(ts) AS ''::VARCHAR"#,
    r#"CREATE OR REPLACE TEMP MACRO pg_jit_available() AS false"#,
    // parse_ident splits a qualified name.
    r#"CREATE OR REPLACE TEMP MACRO parse_ident(name) AS
  list_transform(regexp_extract_all(name, '"(?:[^"]|"")*"|[^."[:space:]]+'),
    lambda part: CASE WHEN part[1] = '"' THEN replace(part[2:-2], '""', '"') ELSE lower(part) END),
  (name, strict) AS list_transform(regexp_extract_all(name, '"(?:[^"]|"")*"|[^."[:space:]]+'),
    lambda part: CASE WHEN part[1] = '"' THEN replace(part[2:-2], '""', '"') ELSE lower(part) END)"#,
    // An options array (`{k=v,…}`, as in ftoptions and srvoptions) as rows.
    r#"CREATE OR REPLACE TEMP MACRO pg_options_to_table(options) AS TABLE
  SELECT split_part(o, '=', 1) AS option_name,
    CASE WHEN strpos(o, '=') > 0 THEN substr(o, strpos(o, '=') + 1) END AS option_value
  FROM (SELECT unnest(CAST(options AS VARCHAR[])) AS o)"#,
    // Floe has no functions with an SQL-standard body.
    r#"CREATE OR REPLACE TEMP MACRO pg_get_function_sqlbody(func) AS NULL::VARCHAR"#,
    // information_schema._pg_expandarray(a), as the router writes it: each
    // element `x` with its position `n`.
    r#"CREATE OR REPLACE TEMP MACRO floe_expandarray(arr) AS
  list_transform(range(1, len(arr) + 1), lambda i: {'x': arr[i], 'n': CAST(i AS INTEGER)})"#,
    // A value stored in a `character varying(n)` lake column: longer is an
    // error, but for trailing spaces, which are cut (as PostgreSQL stores it).
    r#"CREATE OR REPLACE TEMP MACRO floe_varchar(v, n) AS
  CASE WHEN v IS NULL OR length(v) <= n THEN v
  WHEN length(rtrim(v, ' ')) <= n THEN left(v, n)
  ELSE error('value too long for type character varying(' || n || ')') END"#,
    // Lists are one-dimensional and 1-based: the lower bound of a non-empty
    // array's first dimension is 1.
    r#"CREATE OR REPLACE TEMP MACRO array_lower(arr, dim) AS
  CASE WHEN arr IS NULL OR len(arr) = 0 OR dim <> 1 THEN NULL ELSE 1 END"#,
    // array_remove drops every element equal to the value (NULLs for NULL).
    r#"CREATE OR REPLACE TEMP MACRO array_remove(arr, elem) AS
  list_filter(arr, lambda x: x IS DISTINCT FROM elem)"#,
    // The router's stand-ins for casts to OID-alias types: an OID looked up
    // from a literal, and an OID's text (`-` for 0, the number when unnamed).
    r#"CREATE OR REPLACE TEMP MACRO floe_oid_of(x) AS x"#,
    // Casts between timestamptz and the zone-less types, as the router
    // writes them: in the session's zone (floe_local_time and
    // floe_zoned_instant read it), as the engine casts otherwise.
    r#"CREATE OR REPLACE TEMP MACRO floe_as_date(x) AS
  CASE WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE'
  THEN CAST(floe_local_time(TRY_CAST(x AS TIMESTAMPTZ)) AS DATE) ELSE CAST(x AS DATE) END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_as_timestamp(x) AS
  CASE WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE'
  THEN floe_local_time(TRY_CAST(x AS TIMESTAMPTZ)) ELSE CAST(x AS TIMESTAMP) END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_as_timestamptz(x) AS
  CASE WHEN typeof(x) IN ('TIMESTAMP', 'DATE', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S')
  THEN floe_zoned_instant(TRY_CAST(x AS TIMESTAMP))
  WHEN typeof(x) = 'VARCHAR'
  THEN coalesce(floe_zoned_instant_of_text(TRY_CAST(x AS VARCHAR)), CAST(x AS TIMESTAMPTZ))
  ELSE CAST(x AS TIMESTAMPTZ) END"#,
    // make_interval(years, months, weeks, days, hours, mins, secs), each
    // optional and named as PostgreSQL names them.
    r#"CREATE OR REPLACE TEMP MACRO make_interval(years := 0, months := 0, weeks := 0, days := 0,
  hours := 0, mins := 0, secs := 0.0) AS
  to_months(CAST(years AS BIGINT) * 12 + CAST(months AS BIGINT))
  + to_days(CAST(weeks AS BIGINT) * 7 + CAST(days AS BIGINT))
  + to_microseconds(CAST(round((CAST(hours AS DOUBLE) * 3600 + CAST(mins AS DOUBLE) * 60
  + CAST(secs AS DOUBLE)) * 1000000) AS BIGINT))"#,
    // encode(bytea, format): base64 in lines of 76 characters, hex, or
    // escape (text_casts' floe_bytea_escape).
    r#"CREATE OR REPLACE TEMP MACRO floe_encode(b, f) AS
  CASE lower(f) WHEN 'base64' THEN rtrim(regexp_replace(to_base64(CAST(b AS BLOB)), '(.{76})', '\1' || chr(10), 'g'), chr(10))
  WHEN 'hex' THEN lower(hex(CAST(b AS BLOB)))
  WHEN 'escape' THEN floe_bytea_escape(CAST(b AS BLOB))
  ELSE error('encoding "' || f || '" is not supported') END"#,
    // Lengths and positions are integers (the engine's are bigints).
    r#"CREATE OR REPLACE TEMP MACRO floe_length(x) AS CAST(length(x) AS INTEGER)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_char_length(x) AS CAST(length(x) AS INTEGER)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_character_length(x) AS CAST(length(x) AS INTEGER)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_octet_length(x VARCHAR) AS CAST(strlen(x) AS INTEGER),
  (x) AS CAST(octet_length(x) AS INTEGER)"#,
    // every(x) is bool_and(x), named as the client wrote it.
    r#"CREATE OR REPLACE TEMP MACRO floe_every(x) AS bool_and(x)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_strpos(s, t) AS CAST(strpos(s, t) AS INTEGER)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_position(t, s) AS CAST(strpos(s, t) AS INTEGER)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_array_length(a, d) AS CAST(array_length(a, d) AS INTEGER)"#,
    // make_date and make_timestamp read a negative year as a year BC (-44 is
    // 44 BC, the engine's -43) and have no year zero.
    r#"CREATE OR REPLACE TEMP MACRO floe_era_year(y, m, d) AS
  CASE WHEN y < 0 THEN y + 1 WHEN y = 0
  THEN error('date field value out of range: ' || y || '-' || lpad(m::VARCHAR, 2, '0') || '-' || lpad(d::VARCHAR, 2, '0'))
  ELSE y END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_make_date(y, m, d) AS
  make_date(floe_era_year(y, m, d), m, d)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_make_timestamp(y, mo, d, h, mi, s) AS
  make_timestamp(floe_era_year(y, mo, d), mo, d, h, mi, s)"#,
    // The SQL current-time keywords the engine answers only with time zone
    // support: the transaction's start (now()) on the session's wall clock.
    r#"CREATE OR REPLACE TEMP MACRO "current_date"() AS CAST(floe_local_time(now()) AS DATE)"#,
    r#"CREATE OR REPLACE TEMP MACRO current_localtimestamp() AS floe_local_time(now())"#,
    r#"CREATE OR REPLACE TEMP MACRO current_localtime() AS CAST(floe_local_time(now()) AS TIME)"#,
    r#"CREATE OR REPLACE TEMP MACRO statement_timestamp() AS now()"#,
    r#"CREATE OR REPLACE TEMP MACRO get_current_time() AS floe_time_tz(now())"#,
    // The precision forms round the fraction of a second to p digits (p
    // above 6 is 6, as PostgreSQL takes it after a warning).
    r#"CREATE OR REPLACE TEMP MACRO floe_round_instant(t, p) AS
  CASE WHEN p < 0 THEN error('TIMESTAMP(' || p || ') precision must not be negative')
  ELSE CAST(make_timestamp(CAST(round(epoch_us(t) / pow(10, 6 - least(p, 6)))
    * pow(10, 6 - least(p, 6)) AS BIGINT)) AS TIMESTAMPTZ) END"#,
    r#"CREATE OR REPLACE TEMP MACRO "current_timestamp"(p) AS floe_round_instant(now(), p)"#,
    r#"CREATE OR REPLACE TEMP MACRO "current_time"(p) AS floe_time_tz(floe_round_instant(now(), p))"#,
    r#"CREATE OR REPLACE TEMP MACRO "localtimestamp"(p) AS floe_local_time(floe_round_instant(now(), p))"#,
    r#"CREATE OR REPLACE TEMP MACRO "localtime"(p) AS
  CAST(floe_local_time(floe_round_instant(now(), p)) AS TIME)"#,
    r#"CREATE OR REPLACE TEMP MACRO timeofday() AS
  to_char(clock_timestamp(), 'Dy Mon DD HH24:MI:SS.US YYYY TZ')"#,
    // An array of OIDs cast to an OID-alias array type, as the router
    // writes it: the elements' names (named after the array, as the cast).
    r#"CREATE OR REPLACE TEMP MACRO floe_reg_array_text(arr, names) AS names"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_reg_text(x, name) AS
  CASE WHEN x IS NULL THEN NULL WHEN x = 0 THEN '-' ELSE COALESCE(name, CAST(x AS VARCHAR)) END"#,
    // Floe's databases are all UTF8 (server_encoding).
    r#"CREATE OR REPLACE TEMP MACRO getdatabaseencoding() AS 'UTF8'"#,
    // Floe has no extended statistics objects; PostgreSQL answers NULL for an
    // OID naming none.
    r#"CREATE OR REPLACE TEMP MACRO pg_statistics_obj_is_visible(stat_oid) AS NULL::BOOLEAN"#,
    // The router writes format('%I', x) as floe_format(concat(…)).
    r#"CREATE OR REPLACE TEMP MACRO floe_format(text) AS text"#,
    // quote_literal: a string literal; backslashes make it an E'' literal.
    r#"CREATE OR REPLACE TEMP MACRO quote_literal(x) AS
  CASE WHEN x IS NULL THEN NULL
  WHEN strpos(CAST(x AS VARCHAR), '\') > 0
  THEN 'E''' || replace(replace(CAST(x AS VARCHAR), '\', '\\'), '''', '''''') || ''''
  ELSE '''' || replace(CAST(x AS VARCHAR), '''', '''''') || '''' END"#,
    // btrim trims both ends (of spaces, or of the given characters).
    r#"CREATE OR REPLACE TEMP MACRO floe_btrim(s) AS trim(s), (s, chars) AS trim(s, chars)"#,
    // An array's text form as PostgreSQL writes it: {a,"b c",NULL}.
    r#"CREATE OR REPLACE TEMP MACRO floe_array_text(a) AS
  CASE WHEN a IS NULL THEN NULL ELSE '{' || array_to_string(list_transform(a, lambda e:
    CASE WHEN e IS NULL THEN 'NULL'
    WHEN CAST(e AS VARCHAR) = '' OR upper(CAST(e AS VARCHAR)) = 'NULL'
      OR regexp_matches(CAST(e AS VARCHAR), '[{},"\\\s]')
    THEN '"' || replace(replace(CAST(e AS VARCHAR), '', '\'), '"', '"') || '"'
    ELSE CAST(e AS VARCHAR) END), ',') || '}' END"#,
    // Casts to text as the router writes them (`floe_as_varchar` for
    // `::varchar`, so the column is named as PostgreSQL names it): the
    // types whose text the engine writes differently, as PostgreSQL does.
    r#"CREATE OR REPLACE TEMP MACRO floe_as_text(x) AS CASE
  WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE' THEN floe_pg_text(TRY_CAST(x AS TIMESTAMPTZ))
  WHEN typeof(x) = 'TIMESTAMP' THEN floe_pg_text(TRY_CAST(x AS TIMESTAMP))
  WHEN typeof(x) = 'DATE' THEN floe_pg_text(TRY_CAST(x AS DATE))
  WHEN typeof(x) = 'INTERVAL' THEN floe_pg_text(TRY_CAST(x AS INTERVAL))
  WHEN typeof(x) = 'BLOB' THEN floe_pg_text(TRY_CAST(x AS BLOB))
  WHEN typeof(x) LIKE '%[]' THEN floe_array_text(TRY_CAST(x AS VARCHAR[]))
  ELSE CAST(x AS VARCHAR) END"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_as_varchar(x) AS floe_as_text(x)"#,
    // A cast to varchar(n) or char(n): the text cut to n characters.
    r#"CREATE OR REPLACE TEMP MACRO floe_as_varchar_n(x, n) AS left(floe_as_text(x), n)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_as_bpchar_n(x, n) AS left(floe_as_text(x), n)"#,
    r#"CREATE OR REPLACE TEMP MACRO floe_array_upper(arr, dim) AS
  CASE WHEN arr IS NULL OR len(arr) = 0 THEN NULL ELSE len(arr) END"#,
];

/// Statements answering from PostgreSQL's built-in objects
/// (`floe_catalog::pg_schema::pg15_rows`): the OID-alias types, `format_type` for every
/// built-in type, `pg_get_userbyid` for the built-in roles, `ts_token_type`
/// for the default text search parser, the key words, and the tables of
/// PostgreSQL's built-in catalog rows the virtual schema reads. Too large to
/// define in every session: run once on the database, which every session's
/// connection sees.
pub fn database_setup() -> &'static [String] {
    static SETUP: OnceLock<Vec<String>> = OnceLock::new();
    SETUP.get_or_init(|| {
        // The OID-alias types the router casts to (see `floe_sql::OID_ALIAS_TYPES`).
        let types = floe_sql::OID_ALIAS_TYPES
            .iter()
            .map(|t| format!("CREATE TYPE IF NOT EXISTS floe_{t} AS UINTEGER"));
        types
            .chain([
                // `x::name`, as the router writes it.
                "CREATE TYPE IF NOT EXISTS floe_name AS VARCHAR".to_string(),
                // jsonb values are JSON to the engine (sent as json).
                "CREATE TYPE IF NOT EXISTS jsonb AS JSON".to_string(),
                format_type_macro(),
                userbyid_macro(),
                token_type_macro(),
                keywords_macro(),
                quote_ident_macro(),
                dictionary_name_macro(),
            ])
            .chain(encoding_macros())
            .chain(floe_catalog::pg_schema::pg15_rows::builtin_tables_setup())
            // Reads the built-in tables, so made after them.
            .chain([regproc_oid_macro()])
            .collect()
    })
}

/// `pg_encoding_to_char(n)` and `pg_char_to_encoding(name)`: PostgreSQL's
/// character encodings by number and name ('' and -1 for none).
fn encoding_macros() -> [String; 2] {
    let encodings = floe_catalog::pg_schema::pg15_rows::named_objects("encoding");
    let to_number: Vec<String> = encodings
        .iter()
        .map(|(n, name)| format!("WHEN {} THEN {n}", quote_literal(name)))
        .collect();
    [
        name_by_oid_macro("floe_pg_encoding_to_char", encodings, "''"),
        format!(
            "CREATE OR REPLACE MACRO pg_char_to_encoding(name) AS \
             CASE WHEN name IS NULL THEN NULL \
             ELSE (CASE upper(replace(CAST(name AS VARCHAR), '-', '')) {} ELSE -1 END) END",
            to_number.join(" ")
        ),
    ]
}

/// `floe_regproc_oid(name)`: the OID `'name'::regproc` gives for a built-in
/// function (an OID given as text stands for itself); as in PostgreSQL, an
/// error when no function or more than one has the name.
fn regproc_oid_macro() -> String {
    format!(
        "CREATE OR REPLACE MACRO floe_regproc_oid(name) AS \
         (SELECT CASE WHEN TRY_CAST(name AS UINTEGER) IS NOT NULL THEN TRY_CAST(name AS UINTEGER) \
         WHEN count(*) = 1 THEN min(oid) \
         WHEN count(*) = 0 THEN error('function \"' || name || '\" does not exist') \
         ELSE error('more than one function named \"' || name || '\"') END \
         FROM {}.main.pg_proc \
         WHERE proname = regexp_replace(CAST(name AS VARCHAR), '^pg_catalog\\.', ''))",
        floe_catalog::pg_schema::pg15_rows::BUILTIN_DATABASE
    )
}

/// `floe_regdictionary_name(d)`: a text search dictionary's name, as
/// `d::regdictionary` prints it (the router writes casts of columns so).
fn dictionary_name_macro() -> String {
    name_by_oid_macro(
        "floe_regdictionary_name",
        floe_catalog::pg_schema::pg15_rows::named_objects("pg_ts_dict"),
        "CAST(oid AS VARCHAR)",
    )
}

/// A macro `name(oid)` answering each of `objects`' names, NULL for NULL and
/// `otherwise` for any other OID.
fn name_by_oid_macro(name: &str, objects: &[(u32, String)], otherwise: &str) -> String {
    let arms: Vec<String> = objects
        .iter()
        .map(|(oid, name)| format!("WHEN {oid} THEN {}", quote_literal(name)))
        .collect();
    format!(
        "CREATE OR REPLACE MACRO {name}(oid) AS \
         CASE WHEN oid IS NULL THEN NULL ELSE (CASE CAST(oid AS BIGINT) {} ELSE {otherwise} END) END",
        arms.join(" ")
    )
}

/// `pg_get_keywords()`: PostgreSQL 15's key words.
fn keywords_macro() -> String {
    let rows = floe_catalog::pg_schema::pg15_rows::rows()
        .get("pg_get_keywords")
        .map_or_else(String::new, |r| r.join(", "));
    format!(
        "CREATE OR REPLACE MACRO pg_get_keywords() AS TABLE \
         SELECT CAST(word AS VARCHAR) AS word, CAST(catcode AS VARCHAR) AS catcode, \
         CAST(barelabel AS BOOLEAN) AS barelabel, CAST(catdesc AS VARCHAR) AS catdesc, \
         CAST(baredesc AS VARCHAR) AS baredesc \
         FROM (VALUES {rows}) AS k(word, catcode, barelabel, catdesc, baredesc) ORDER BY word"
    )
}

/// `quote_ident(x)`: quoted unless a lower-case identifier that is not a key
/// word (other than an unreserved one).
fn quote_ident_macro() -> String {
    let quoted: Vec<String> = floe_catalog::pg_schema::pg15_rows::rows()
        .get("pg_get_keywords")
        .into_iter()
        .flatten()
        .filter(|row| !row.contains(", 'U', "))
        .filter_map(|row| row.strip_prefix('(')?.split(',').next().map(str::to_string))
        .collect();
    format!(
        "CREATE OR REPLACE MACRO quote_ident(ident) AS \
         CASE WHEN ident IS NULL THEN NULL \
         WHEN regexp_full_match(ident, '[a-z_][a-z0-9_$]*') AND ident NOT IN ({}) \
         THEN ident ELSE '\"' || replace(ident, '\"', '\"\"') || '\"' END",
        quoted.join(", ")
    )
}

/// `format_type(type_oid, typemod)`: the modifier written into the types
/// that take one, every other built-in type by PostgreSQL's name for it.
fn format_type_macro() -> String {
    // (type, array type, the name with the modifier applied)
    const WITH_MODIFIER: &[(u32, u32, &str)] = &[
        (1042, 1014, "CASE WHEN typemod > 4 THEN 'character(' || (typemod - 4)::VARCHAR || ')' \
             WHEN typemod IS NULL THEN 'character' ELSE 'bpchar' END"),
        (1043, 1015, "'character varying' || CASE WHEN typemod > 4 \
             THEN '(' || (typemod - 4)::VARCHAR || ')' ELSE '' END"),
        (1700, 1231, "'numeric' || CASE WHEN typemod >= 4 THEN '(' || ((typemod - 4) // 65536)::VARCHAR \
             || ',' || ((typemod - 4) % 65536)::VARCHAR || ')' ELSE '' END"),
        (1114, 1115, "'timestamp' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END \
             || ' without time zone'"),
        (1184, 1185, "'timestamp' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END \
             || ' with time zone'"),
        (1083, 1183, "'time' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END \
             || ' without time zone'"),
        (1266, 1270, "'time' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END \
             || ' with time zone'"),
        (1560, 1561, "'bit' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END"),
        (1562, 1563, "'bit varying' || CASE WHEN typemod >= 0 THEN '(' || typemod::VARCHAR || ')' ELSE '' END"),
    ];
    let mut arms: Vec<String> = WITH_MODIFIER
        .iter()
        .flat_map(|(t, array, name)| {
            [
                format!("WHEN {t} THEN {name}"),
                format!("WHEN {array} THEN ({name}) || '[]'"),
            ]
        })
        .collect();
    let mut plain: Vec<(&u32, &String)> = floe_catalog::pg_schema::pg15_rows::format_types()
        .iter()
        .filter(|(oid, _)| !WITH_MODIFIER.iter().any(|(t, a, _)| t == *oid || a == *oid))
        .collect();
    plain.sort();
    arms.extend(
        plain
            .into_iter()
            .map(|(oid, name)| format!("WHEN {oid} THEN {}", quote_literal(name))),
    );
    format!(
        "CREATE OR REPLACE MACRO floe_format_type(type_oid, typemod) AS \
         CASE WHEN type_oid IS NULL THEN NULL ELSE (CASE type_oid::BIGINT {} ELSE '???' END) END",
        arms.join(" ")
    )
}

/// `pg_get_userbyid(role)`: a built-in role's name; PostgreSQL's answer for
/// any other OID.
fn userbyid_macro() -> String {
    name_by_oid_macro(
        "floe_pg_get_userbyid",
        floe_catalog::pg_schema::pg15_rows::roles(),
        "'unknown (OID=' || CAST(oid AS VARCHAR) || ')'",
    )
}

/// `ts_token_type(parser)`: the token types of the default parser, named by
/// OID or by name.
fn token_type_macro() -> String {
    let rows = floe_catalog::pg_schema::pg15_rows::rows()
        .get("ts_token_type")
        .map_or_else(String::new, |r| r.join(", "));
    format!(
        "CREATE OR REPLACE MACRO ts_token_type(parser) AS TABLE \
         SELECT CAST(tokid AS INTEGER) AS tokid, CAST(alias AS VARCHAR) AS alias, \
         CAST(description AS VARCHAR) AS description \
         FROM (VALUES {rows}) AS t(prs, tokid, alias, description) \
         WHERE CAST(parser AS VARCHAR) IN (CAST(prs AS VARCHAR), 'default', 'pg_catalog.default') \
         ORDER BY tokid"
    )
}

/// What `version()` answers: PostgreSQL's shape, which clients parse for the
/// server's major and minor version.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} (Floe {}) on {}-pc-linux-gnu, compiled by rustc, 64-bit",
        crate::compat::settings::SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
    )
}

/// Statements giving a session its identity: the macros standing for
/// `current_user`, `session_user`, `user` and `current_role` (run again when a
/// pooled session changes hands), and `version()`.
pub fn identity_setup(user: &str, database: &str) -> Vec<String> {
    let user = floe_sql::quote::literal(user);
    let database = floe_sql::quote::literal(database);
    let mut out: Vec<String> = ["current_user", "session_user", "user", "current_role"]
        .iter()
        .map(|name| format!("CREATE OR REPLACE TEMP MACRO floe_{name}() AS {user}::VARCHAR"))
        .collect();
    // current_database() and current_catalog: the database the client named.
    out.push(format!(
        "CREATE OR REPLACE TEMP MACRO floe_current_database() AS {database}::VARCHAR"
    ));
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
    let literal = floe_sql::quote::literal;
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
        let setup = identity_setup("o'brien", "d'b");
        assert!(setup[0].ends_with("AS 'o''brien'::VARCHAR"), "{}", setup[0]);
    }

    #[test]
    fn every_setup_statement_runs_and_answers_as_postgres() {
        let db = crate::engine::duck::Database::open(None, &[]).expect("db");
        let conn = db.connect().expect("connection");
        crate::functions::registry::register_all(&conn).expect("native functions");
        // As an engine opens: its databases first, then each session's objects.
        for sql in database_setup()
            .iter()
            .cloned()
            .chain(SESSION_SETUP.iter().map(|s| s.to_string()))
            .chain(
                crate::functions::integer_aggregates::MACROS
                    .iter()
                    .map(|s| s.to_string()),
            )
            .chain(identity_setup("floe", "floe"))
            .chain(schema_path_setup(&["public".to_string()]))
        {
            conn.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", e.message));
        }
        for sql in [
            "SELECT 1 WHERE floe_format_type(1043, 14) = 'character varying(10)' \
             AND floe_format_type(1231, 655366) = 'numeric(10,2)[]' \
             AND floe_format_type(1007, NULL) = 'integer[]' AND floe_format_type(1, NULL) = '???'",
            "SELECT 1 WHERE CAST('{\"a\": 1}' AS jsonb)->>'a' = '1'",
            "SELECT 1 WHERE typeof(current_date) = 'DATE' AND typeof(localtimestamp) = 'TIMESTAMP' \
             AND typeof(localtime) = 'TIME' AND statement_timestamp() = now() \
             AND localtimestamp - current_date < INTERVAL 1 DAY",
            "SELECT 1 WHERE floe_regproc_oid('pg_catalog.array_in') = 750 \
             AND floe_regproc_oid('750') = 750",
            "SELECT 1 WHERE floe_pg_encoding_to_char(6) = 'UTF8' AND pg_char_to_encoding('utf8') = 6 \
             AND pg_char_to_encoding('LATIN1') = 8 AND pg_char_to_encoding('x') = -1",
            "SELECT 1 WHERE floe_pg_get_userbyid(6171) = 'pg_database_owner' \
             AND floe_pg_get_userbyid(99999) = 'unknown (OID=99999)'",
            "SELECT 1 WHERE (SELECT count(*) FROM ts_token_type(3722)) = 23 \
             AND (SELECT alias FROM ts_token_type('default') WHERE tokid = 1) = 'asciiword'",
            r#"SELECT 1 WHERE quote_literal('it''s') = '''it''''s''' AND quote_literal('a\b') = 'E''a\\b''' AND quote_literal(NULL) IS NULL"#,
            "SELECT 1 WHERE quote_ident('a b') = '\"a b\"' AND quote_ident('ab') = 'ab' \
             AND quote_ident('select') = '\"select\"' AND quote_ident('Ab') = '\"Ab\"'",
            "SELECT 1 WHERE parse_ident('a.\"B\".c') = ['a', 'B', 'c'] \
             AND parse_ident('Sch.\"x\"\"y\"', false) = ['sch', 'x\"y']",
            "SELECT 1 WHERE (SELECT count(*) FROM pg_get_keywords() WHERE word = 'select' AND catcode = 'R') = 1",
            "SELECT 1 WHERE pg_get_indexdef(1) IS NULL AND NOT pg_is_in_recovery()",
            "SELECT 1 WHERE pg_get_indexdef(2662) \
             = 'CREATE UNIQUE INDEX pg_class_oid_index ON pg_catalog.pg_class USING btree (oid)' \
             AND pg_get_indexdef(2662, 0, true) \
             = 'CREATE UNIQUE INDEX pg_class_oid_index ON pg_class USING btree (oid)' \
             AND pg_get_indexdef(2662, 1, true) = 'oid' \
             AND pg_get_constraintdef((SELECT oid FROM floe_pg15.main.pg_constraint \
             WHERE conname = 'pg_class_oid_index')) = 'PRIMARY KEY (oid)'",
            "SELECT 1 WHERE floe_pg_get_function_result(89) = 'text' \
             AND floe_pg_get_function_arguments(1299) = '' \
             AND pg_get_functiondef(89) LIKE 'CREATE OR REPLACE FUNCTION pg_catalog.version()%'",
            "SELECT 1 WHERE floe_varchar('ab  ', 2) = 'ab' AND floe_varchar('ab', 2) = 'ab' \
             AND floe_varchar(NULL, 2) IS NULL",
            "SELECT 1 WHERE floe_make_date(-44, 3, 15) = DATE '-0043-03-15' \
             AND floe_make_date(2024, 2, 29) = DATE '2024-02-29' \
             AND floe_make_timestamp(-1, 1, 1, 10, 0, 0.5) = TIMESTAMP '0000-01-01 10:00:00.5'",
            "SELECT 1 WHERE make_interval(days := 1, hours := 2) = INTERVAL '1 day 2 hours' \
             AND make_interval(1, 2, secs := 1.5) = INTERVAL '1 year 2 months 1.5 seconds' \
             AND floe_encode('abc'::BLOB, 'base64') = 'YWJj' AND floe_encode('\\x01\\xFF'::BLOB, 'hex') = '01ff' \
             AND typeof(floe_length('abc')) = 'INTEGER' AND initcap('hi there') = 'Hi There' \
             AND floe_octet_length('é') = 2 AND floe_octet_length('\\xFF'::BLOB) = 1",
            "SELECT 1 WHERE floe_setting_of('work_mem') = '4MB' \
             AND floe_setting_of('SHARED_BUFFERS') = '128MB' \
             AND floe_setting_of('no_such_thing', true) IS NULL",
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
