//! PostgreSQL's JSON-building functions written as PostgreSQL writes them.
//! The engine builds the values (`json_object`, `json_array`,
//! `json_group_array`, `json_group_object`, compact); the router wraps each
//! call in the function below named after PostgreSQL's, which lays out the
//! outer level as PostgreSQL does: `json_build_object` as
//! `{"a" : 1, "b" : 2}`, `json_build_array` as `[1, 2]`, `json_agg` as
//! `[1, 2]` (objects and arrays after the first on a new line,
//! `[{…}, \n {…}]`), `json_object_agg` as `{ "a" : 1, "b" : 2 }`. An
//! aggregate of no rows is NULL, as in PostgreSQL (the engine's is empty).
//! The `jsonb` builders keep the engine's value: the router casts them to
//! `jsonb`, which the row encoder writes canonically (`jsonb_text`).

use std::ffi::CString;

use duckdb::ffi;

use crate::functions::{row_count, set_null, write_text, Argument};

/// How each function lays out its value.
#[derive(Clone, Copy)]
enum Layout {
    BuildObject,
    BuildArray,
    Aggregate,
    ObjectAggregate,
    /// As built (a `jsonb` value, written canonically by the row encoder).
    Kept,
    /// As built, NULL for an aggregate of no rows.
    KeptAggregate,
}

/// What a `json_agg`'s elements are, as the router reads its argument (the
/// call's second argument): rows or arrays (written on new lines), JSON
/// values (kept as they are), or `json_build_object`/`json_build_array`
/// values (laid out as those write them).
pub const ELEMENTS_ROWS: i32 = 0;
pub const ELEMENTS_JSON: i32 = 1;
pub const ELEMENTS_BUILT: i32 = 2;

/// The functions, by the names the router calls.
const FUNCTIONS: &[(&str, Layout)] = &[
    ("floe_json_build_object", Layout::BuildObject),
    ("floe_json_build_array", Layout::BuildArray),
    ("floe_json_agg", Layout::Aggregate),
    ("floe_json_object_agg", Layout::ObjectAggregate),
    ("floe_jsonb_build_object", Layout::Kept),
    ("floe_jsonb_build_array", Layout::Kept),
    ("floe_to_jsonb", Layout::Kept),
    ("floe_jsonb_agg", Layout::KeptAggregate),
    ("floe_jsonb_object_agg", Layout::KeptAggregate),
];

/// The engine's `JSON` type (text under that alias).
///
/// # Safety
/// The caller destroys the returned type.
unsafe fn json_type() -> ffi::duckdb_logical_type {
    let t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
    ffi::duckdb_logical_type_set_alias(t, c"JSON".as_ptr());
    t
}

/// Registers the layout functions (`JSON` to `JSON`).
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    for (name, layout) in FUNCTIONS {
        let cname = CString::new(*name).map_err(|e| e.to_string())?;
        let mut f = ffi::duckdb_create_scalar_function();
        ffi::duckdb_scalar_function_set_name(f, cname.as_ptr());
        let mut t = json_type();
        ffi::duckdb_scalar_function_add_parameter(f, t);
        ffi::duckdb_scalar_function_set_return_type(f, t);
        ffi::duckdb_destroy_logical_type(&mut t);
        if matches!(layout, Layout::Aggregate) {
            let mut elements =
                ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER);
            ffi::duckdb_scalar_function_add_parameter(f, elements);
            ffi::duckdb_destroy_logical_type(&mut elements);
        }
        let data = (layout as *const Layout)
            .cast_mut()
            .cast::<std::ffi::c_void>();
        ffi::duckdb_scalar_function_set_extra_info(f, data, None);
        ffi::duckdb_scalar_function_set_function(f, Some(lay_out));
        let ok = ffi::duckdb_register_scalar_function(conn, f) == ffi::duckdb_state_DuckDBSuccess;
        ffi::duckdb_destroy_scalar_function(&mut f);
        if !ok {
            return Err(format!("registering {name}() failed"));
        }
    }
    Ok(())
}

native_scalar! {
    fn lay_out(info, input, output) {
        let layout = *ffi::duckdb_scalar_function_get_extra_info(info).cast::<Layout>();
        let values = Argument::<ffi::duckdb_string_t>::of(input, 0);
        let elements = matches!(layout, Layout::Aggregate).then(|| Argument::<i32>::of(input, 1));
        for row in 0..row_count(input) {
            let kind = elements
                .as_ref()
                .and_then(|e| e.get(row))
                .unwrap_or(ELEMENTS_ROWS);
            match values.text(row).and_then(|v| laid_out(&v, layout, kind)) {
                Some(text) => write_text(output, row as u64, &text),
                None => set_null(output, row as u64),
            }
        }
    }
}

/// The top-level items of a compact JSON object or array (`None` for
/// anything else): each item's text, and for objects its key apart.
fn items(text: &str) -> Option<Vec<(Option<&str>, &str)>> {
    let text = text.trim();
    let object = text.starts_with('{') && text.ends_with('}');
    let array = text.starts_with('[') && text.ends_with(']');
    if !(object || array) {
        return None;
    }
    let inner = &text[1..text.len() - 1];
    let mut out = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut start, mut colon) = (0usize, None);
    for (i, c) in inner.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.checked_sub(1)?,
            ':' if depth == 0 && colon.is_none() => colon = Some(i),
            ',' if depth == 0 => {
                out.push(split(&inner[start..i], colon.map(|c| c - start), object)?);
                start = i + 1;
                colon = None;
            }
            _ => {}
        }
    }
    if !inner.trim().is_empty() {
        out.push(split(&inner[start..], colon.map(|c| c - start), object)?);
    }
    Some(out)
}

fn split(item: &str, colon: Option<usize>, object: bool) -> Option<(Option<&str>, &str)> {
    if !object {
        return Some((None, item.trim()));
    }
    let colon = colon?;
    Some((Some(item[..colon].trim()), item[colon + 1..].trim()))
}

/// `text` laid out as `layout` says (an aggregate's elements being of
/// `elements`); `None` for an aggregate of no rows.
fn laid_out(text: &str, layout: Layout, elements: i32) -> Option<String> {
    let Some(items) = items(text) else {
        return Some(text.to_string());
    };
    let aggregate = matches!(
        layout,
        Layout::Aggregate | Layout::ObjectAggregate | Layout::KeptAggregate
    );
    if aggregate && items.is_empty() {
        return None;
    }
    let pairs = |open: &str, close: &str| {
        let body: Vec<String> = items
            .iter()
            .map(|(k, v)| format!("{} : {v}", k.unwrap_or("")))
            .collect();
        format!("{open}{}{close}", body.join(", "))
    };
    Some(match layout {
        Layout::Kept | Layout::KeptAggregate => text.to_string(),
        Layout::BuildObject => pairs("{", "}"),
        Layout::ObjectAggregate => pairs("{ ", " }"),
        Layout::BuildArray => {
            let body: Vec<&str> = items.iter().map(|(_, v)| *v).collect();
            format!("[{}]", body.join(", "))
        }
        Layout::Aggregate => {
            let mut out = String::from("[");
            for (i, (_, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                    if elements == ELEMENTS_ROWS && v.starts_with(['{', '[']) {
                        out.push_str("\n ");
                    }
                }
                let built = match elements {
                    ELEMENTS_BUILT if v.starts_with('{') => laid_out(v, Layout::BuildObject, 0),
                    ELEMENTS_BUILT if v.starts_with('[') => laid_out(v, Layout::BuildArray, 0),
                    _ => None,
                };
                out.push_str(built.as_deref().unwrap_or(v));
            }
            out.push(']');
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_lay_out_their_elements_by_kind() {
        let engine = r#"[{"id":1},{"id":2}]"#;
        assert_eq!(
            laid_out(engine, Layout::Aggregate, ELEMENTS_BUILT).as_deref(),
            Some(r#"[{"id" : 1}, {"id" : 2}]"#)
        );
        assert_eq!(
            laid_out(engine, Layout::Aggregate, ELEMENTS_JSON).as_deref(),
            Some(r#"[{"id":1}, {"id":2}]"#)
        );
    }

    #[test]
    fn layouts_are_postgres_layouts() {
        // Each answer is PostgreSQL 15's.
        for (engine, layout, pg) in [
            (
                r#"{"a":1,"b":"x, y:z","c":null,"d":true}"#,
                Layout::BuildObject,
                Some(r#"{"a" : 1, "b" : "x, y:z", "c" : null, "d" : true}"#),
            ),
            ("{}", Layout::BuildObject, Some("{}")),
            (
                r#"[1,"x",null,2.5]"#,
                Layout::BuildArray,
                Some(r#"[1, "x", null, 2.5]"#),
            ),
            ("[1,2,3]", Layout::Aggregate, Some("[1, 2, 3]")),
            (
                r#"[{"id":1,"name":"a"},{"id":2,"name":"b"}]"#,
                Layout::Aggregate,
                Some("[{\"id\":1,\"name\":\"a\"}, \n {\"id\":2,\"name\":\"b\"}]"),
            ),
            ("[]", Layout::Aggregate, None),
            (
                r#"{"a":1,"b":2}"#,
                Layout::ObjectAggregate,
                Some(r#"{ "a" : 1, "b" : 2 }"#),
            ),
            ("{}", Layout::ObjectAggregate, None),
            (
                r#"{"a":{"b":[1,2]},"c":"\"q\""}"#,
                Layout::BuildObject,
                Some(r#"{"a" : {"b":[1,2]}, "c" : "\"q\""}"#),
            ),
        ] {
            assert_eq!(
                laid_out(engine, layout, ELEMENTS_ROWS).as_deref(),
                pg,
                "{engine}"
            );
        }
    }
}
