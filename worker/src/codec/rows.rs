//! Encodes DuckDB result chunks straight into Postgres `DataRow` messages.
//!
//! Each column gets an encoder chosen once per query from its DuckDB type, the
//! Postgres type announced to the client and the requested format; rows are then
//! written column by column from the raw vectors into the output buffer, with no
//! intermediate value objects.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use crate::codec::text::{self, SessionTz};
use crate::codec::types::{oid, IntWidth, TsUnit, ValueKind};
use crate::compat::reg_names::{self, RegNames};
use crate::engine::duck::{DataChunk, Vector};

/// Session settings that change how values are rendered.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub tz: SessionTz,
    pub extra_float_digits: i32,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            tz: SessionTz::Fixed(0),
            extra_float_digits: 1,
        }
    }
}

/// How one result column is written.
#[derive(Debug, Clone)]
pub struct ColumnEncoder {
    kind: ValueKind,
    binary: bool,
    /// Render as text whatever the type (the column was announced as `text`).
    as_text: bool,
    /// An integer announced as `oid` or an OID-alias type: four bytes in binary.
    as_oid: Option<IntWidth>,
    /// An OID-alias column (`regclass`, …) whose text is the object's name:
    /// the announced type and the names to print.
    names: Option<(u32, Arc<RegNames>)>,
    /// A list announced as a catalog array type the engine has no element
    /// type for (`name[]`, `aclitem[]`, `"char"[]`, `oid[]`, `int2vector`,
    /// `oidvector`): the element type binary arrays carry, and whether the
    /// text form is a vector's (space-separated, no braces).
    catalog_array: Option<CatalogArray>,
    /// JSON announced as `jsonb`: its binary form starts with a version byte.
    jsonb: bool,
    /// A type's name announced as `regtype` (`pg_typeof`): in binary, the
    /// type's OID.
    type_name: bool,
}

#[derive(Debug, Clone, Copy)]
struct CatalogArray {
    element: u32,
    vector: bool,
}

impl CatalogArray {
    /// The catalog array type `announced`, when it is one.
    fn of(announced: u32) -> Option<CatalogArray> {
        let (element, vector) = match announced {
            oid::NAME_ARRAY => (oid::NAME, false),
            oid::CHAR_ARRAY => (oid::CHAR, false),
            oid::ACLITEM_ARRAY => (oid::ACLITEM, false),
            oid::OID_ARRAY => (oid::OID, false),
            oid::INT2VECTOR => (oid::INT2, true),
            oid::OIDVECTOR => (oid::OID, true),
            _ => return None,
        };
        Some(CatalogArray { element, vector })
    }
}

impl ColumnEncoder {
    /// `announced` is the type OID the client was told; when it is `text` but the
    /// value is of another type, the value's text form is sent.
    pub fn new(kind: ValueKind, announced: u32, binary: bool) -> ColumnEncoder {
        let as_text = announced == oid::TEXT && kind.pg_type() != oid::TEXT;
        let as_oid = match kind {
            ValueKind::Int(w) if announced == oid::OID || reg_names::prints_names(announced) => {
                Some(w)
            }
            _ => None,
        };
        let catalog_array = match kind {
            ValueKind::List(_) => CatalogArray::of(announced),
            _ => None,
        };
        let jsonb = matches!(kind, ValueKind::Json) && announced == oid::JSONB;
        let type_name = matches!(kind, ValueKind::Text) && announced == oid::REGTYPE;
        ColumnEncoder {
            kind,
            binary,
            as_text,
            as_oid,
            names: None,
            catalog_array,
            jsonb,
            type_name,
        }
    }

    /// Prints the column's values as names (a `regclass` as its relation's
    /// name) when it was announced with an OID-alias type that has them.
    pub fn with_names(mut self, announced: u32, names: &Arc<RegNames>) -> ColumnEncoder {
        if self.as_oid.is_some() && reg_names::prints_names(announced) {
            self.names = Some((announced, Arc::clone(names)));
        }
        self
    }

    pub fn unsupported_type(&self) -> Option<&str> {
        fn find(k: &ValueKind) -> Option<&str> {
            match k {
                ValueKind::Unsupported(n) => Some(n),
                ValueKind::List(e) | ValueKind::Array(e, _) => find(e),
                ValueKind::Map(a, b) => find(a).or_else(|| find(b)),
                ValueKind::Struct(f) | ValueKind::Union(f) => f.iter().find_map(|(_, k)| find(k)),
                _ => None,
            }
        }
        find(&self.kind)
    }
}

/// Appends one `DataRow` per row in `rows` of `chunk` to `out`.
pub fn encode_rows(
    encoders: &[ColumnEncoder],
    chunk: &DataChunk,
    rows: std::ops::Range<usize>,
    settings: &OutputSettings,
    out: &mut BytesMut,
) {
    let vectors: Vec<Vector<'_>> = (0..encoders.len()).map(|i| chunk.vector(i)).collect();
    for row in rows {
        let start = out.len();
        out.put_u8(b'D');
        out.put_i32(0);
        write_fields(encoders, &vectors, row, settings, out);
        let len = (out.len() - start - 1) as i32;
        out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
    }
}

/// Writes a row's field count, then each field as its length (-1 for NULL) and
/// value: the body of a DataRow, and of a binary COPY tuple.
pub fn write_fields(
    encoders: &[ColumnEncoder],
    vectors: &[Vector<'_>],
    row: usize,
    settings: &OutputSettings,
    out: &mut BytesMut,
) {
    out.put_i16(encoders.len() as i16);
    for (enc, vec) in encoders.iter().zip(vectors) {
        if !vec.is_valid(row) {
            out.put_i32(-1);
            continue;
        }
        let len_at = out.len();
        out.put_i32(0);
        write_value(enc, vec, row, settings, out);
        let len = (out.len() - len_at - 4) as i32;
        out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// Writes the valid (not NULL) value at `row` in the encoder's format.
pub fn write_value(
    enc: &ColumnEncoder,
    vec: &Vector<'_>,
    row: usize,
    settings: &OutputSettings,
    out: &mut BytesMut,
) {
    if let (Some((type_oid, names)), Some(w), false) = (&enc.names, enc.as_oid, enc.binary) {
        // SAFETY: the vector is an integer of width `w` (checked when the encoder was made).
        let value = unsafe { read_i64(vec, row, w) } as u32;
        match names.text(*type_oid, value) {
            Some(name) => out.put_slice(name.as_bytes()),
            None => out.put_slice(value.to_string().as_bytes()),
        }
    } else if let (Some(array), ValueKind::List(elem)) = (enc.catalog_array, &enc.kind) {
        // SAFETY: the vector is a LIST (checked when the encoder was made).
        let entry = unsafe { vec.get::<[u64; 2]>(row) };
        let (child, offset, len) = (vec.list_child(), entry[0] as usize, entry[1] as usize);
        write_catalog_array(
            array,
            elem,
            &child,
            offset..offset + len,
            enc.binary,
            settings,
            out,
        );
    } else if enc.jsonb {
        // jsonb is written canonically (as PostgreSQL writes what it keeps);
        // its binary form is version 1, then that text.
        // SAFETY: a jsonb column is JSON text (checked when the encoder was made).
        let text = unsafe { vec.get_bytes(row) };
        let written = std::str::from_utf8(text)
            .ok()
            .and_then(crate::functions::jsonb_text::canonical);
        if enc.binary {
            out.put_u8(1);
        }
        match written {
            Some(canonical) => out.put_slice(canonical.as_bytes()),
            None => out.put_slice(text),
        }
    } else if enc.type_name && enc.binary {
        // SAFETY: the column is VARCHAR (checked when the encoder was made).
        let text = unsafe { vec.get_bytes(row) };
        out.put_u32(reg_names::type_oid(text).unwrap_or(0));
    } else if enc.as_text || !enc.binary {
        write_text(&enc.kind, vec, row, settings, out);
    } else if let Some(w) = enc.as_oid {
        // SAFETY: the vector is an integer of width `w` (checked when the encoder was made).
        out.put_u32(unsafe { read_i64(vec, row, w) } as u32);
    } else {
        write_binary(&enc.kind, vec, row, settings, out);
    }
}

/// A catalog array (see [`CatalogArray`]): a vector's text is its elements
/// separated by spaces, other arrays' text is the usual `{…}`; in binary the
/// array carries the catalog element type, OIDs as four bytes.
fn write_catalog_array(
    array: CatalogArray,
    elem: &ValueKind,
    child: &Vector<'_>,
    range: std::ops::Range<usize>,
    binary: bool,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    if !binary {
        if array.vector {
            for (n, i) in range.enumerate() {
                if n > 0 {
                    out.put_u8(b' ');
                }
                write_text(elem, child, i, s, out);
            }
        } else {
            write_array_text(elem, child, range.start, range.len(), s, out);
        }
        return;
    }
    let has_null = range.clone().any(|i| !child.is_valid(i));
    out.put_i32(i32::from(!range.is_empty()));
    out.put_i32(i32::from(has_null));
    out.put_u32(array.element);
    if !range.is_empty() {
        out.put_i32(range.len() as i32);
        out.put_i32(if array.vector { 0 } else { 1 });
    }
    for i in range {
        if !child.is_valid(i) {
            out.put_i32(-1);
            continue;
        }
        match (array.element, elem) {
            (oid::OID, ValueKind::Int(w)) => {
                out.put_i32(4);
                // SAFETY: the child vector is an integer of width `w`.
                out.put_u32(unsafe { read_i64(child, i, *w) } as u32);
            }
            _ => {
                let len_at = out.len();
                out.put_i32(0);
                write_binary(elem, child, i, s, out);
                let n = (out.len() - len_at - 4) as i32;
                out[len_at..len_at + 4].copy_from_slice(&n.to_be_bytes());
            }
        }
    }
}

/// Reads an integer of the given physical width as (negative, magnitude).
///
/// # Safety
/// `w` must be the vector's physical type and `row` in range.
#[inline]
unsafe fn read_int(vec: &Vector<'_>, row: usize, w: IntWidth) -> (bool, u128) {
    fn s(v: i128) -> (bool, u128) {
        (v < 0, v.unsigned_abs())
    }
    match w {
        IntWidth::I8 => s(i128::from(vec.get::<i8>(row))),
        IntWidth::I16 => s(i128::from(vec.get::<i16>(row))),
        IntWidth::I32 => s(i128::from(vec.get::<i32>(row))),
        IntWidth::I64 => s(i128::from(vec.get::<i64>(row))),
        IntWidth::I128 => s(vec.get::<i128>(row)),
        IntWidth::U8 => (false, u128::from(vec.get::<u8>(row))),
        IntWidth::U16 => (false, u128::from(vec.get::<u16>(row))),
        IntWidth::U32 => (false, u128::from(vec.get::<u32>(row))),
        IntWidth::U64 => (false, u128::from(vec.get::<u64>(row))),
        IntWidth::U128 => (false, vec.get::<u128>(row)),
    }
}

/// A decimal's magnitude and scale as shown: a quotient's at the scale
/// PostgreSQL shows it with (the digits dropped are zeros), others as held.
fn shown_decimal(magnitude: u128, scale: u8, quotient: bool) -> (u128, u8) {
    if !quotient {
        return (magnitude, scale);
    }
    let shown = crate::functions::numeric_division::display_scale(magnitude).min(scale);
    (magnitude / 10u128.pow(u32::from(scale - shown)), shown)
}

/// Reads a small integer that fits i64 (all widths but the 128-bit and u64 ones).
///
/// # Safety
/// As for `read_int`.
#[inline]
unsafe fn read_i64(vec: &Vector<'_>, row: usize, w: IntWidth) -> i64 {
    match w {
        IntWidth::I8 => i64::from(vec.get::<i8>(row)),
        IntWidth::I16 => i64::from(vec.get::<i16>(row)),
        IntWidth::I32 => i64::from(vec.get::<i32>(row)),
        IntWidth::I64 => vec.get::<i64>(row),
        IntWidth::U8 => i64::from(vec.get::<u8>(row)),
        IntWidth::U16 => i64::from(vec.get::<u16>(row)),
        IntWidth::U32 => i64::from(vec.get::<u32>(row)),
        IntWidth::U64 | IntWidth::I128 | IntWidth::U128 => {
            let (neg, mag) = read_int(vec, row, w);
            let m = mag.min(i64::MAX as u128) as i64;
            if neg {
                -m
            } else {
                m
            }
        }
    }
}

fn ts_micros(raw: i64, unit: TsUnit) -> i64 {
    if raw == text::TS_INFINITY || raw == text::TS_NEG_INFINITY {
        return raw;
    }
    match unit {
        TsUnit::Seconds => raw.saturating_mul(1_000_000),
        TsUnit::Millis => raw.saturating_mul(1_000),
        TsUnit::Micros => raw,
        TsUnit::Nanos => raw.div_euclid(1_000),
    }
}

fn uuid_bytes(v: i128) -> [u8; 16] {
    // DuckDB stores UUIDs as a HUGEINT with the top bit flipped so they sort.
    ((v as u128) ^ (1u128 << 127)).to_be_bytes()
}

/// (micros since midnight, offset east of UTC in seconds) of a TIME_TZ value.
pub(crate) fn time_tz_parts(bits: u64) -> (i64, i32) {
    const MAX_OFFSET: i64 = 16 * 60 * 60 - 1;
    let micros = (bits >> 24) as i64;
    let offset = MAX_OFFSET - (bits & 0xFF_FFFF) as i64;
    (micros, offset as i32)
}

fn bit_string(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let padding = bytes[0] as usize;
    let total = (bytes.len() - 1) * 8;
    (padding..total)
        .map(|i| {
            let byte = bytes[1 + i / 8];
            if byte & (0x80 >> (i % 8)) != 0 {
                '1'
            } else {
                '0'
            }
        })
        .collect()
}

/// Writes the Postgres text form of the value at `row`.
fn write_text(
    kind: &ValueKind,
    vec: &Vector<'_>,
    row: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    // SAFETY (all vector reads below): `kind` was derived from the vector's own
    // logical type, so every read uses the vector's physical layout, and `row` is
    // below the chunk size (or a child offset DuckDB produced).
    unsafe {
        match kind {
            ValueKind::Bool => out.put_u8(if vec.get::<bool>(row) { b't' } else { b'f' }),
            ValueKind::Int(w) => {
                let (neg, mag) = read_int(vec, row, *w);
                text::decimal_text(out, neg, mag, 0);
            }
            ValueKind::Float32 => text::float4_text(out, vec.get::<f32>(row), s.extra_float_digits),
            ValueKind::Float64 => text::float8_text(out, vec.get::<f64>(row), s.extra_float_digits),
            ValueKind::Decimal {
                width,
                scale,
                quotient,
            } => {
                let (neg, mag) = read_int(vec, row, *width);
                let (mag, scale) = shown_decimal(mag, *scale, *quotient);
                text::decimal_text(out, neg, mag, scale);
            }
            ValueKind::Text | ValueKind::Json => out.put_slice(vec.get_bytes(row)),
            ValueKind::Blob => text::bytea_hex(out, vec.get_bytes(row)),
            ValueKind::Bit => out.put_slice(bit_string(vec.get_bytes(row)).as_bytes()),
            ValueKind::Date => text::date_text(out, vec.get::<i32>(row)),
            ValueKind::Time => text::time_text(out, vec.get::<i64>(row)),
            ValueKind::TimeNs => text::time_text(out, vec.get::<i64>(row) / 1_000),
            ValueKind::TimeTz => {
                let (micros, offset) = time_tz_parts(vec.get::<u64>(row));
                text::timetz_text(out, micros, offset);
            }
            ValueKind::Timestamp(unit) => {
                text::timestamp_text(out, ts_micros(vec.get::<i64>(row), *unit))
            }
            ValueKind::TimestampTz(unit) => {
                text::timestamptz_text(out, ts_micros(vec.get::<i64>(row), *unit), &s.tz)
            }
            ValueKind::Interval => {
                let months = vec.get::<i32>(row * 4);
                let days = vec.get::<i32>(row * 4 + 1);
                let micros = vec.get::<i64>(row * 2 + 1);
                text::interval_text(out, months, days, micros);
            }
            ValueKind::Uuid => text::uuid_text(out, &uuid_bytes(vec.get::<i128>(row))),
            ValueKind::Enum { width, labels } => {
                let idx = read_i64(vec, row, *width) as usize;
                if let Some(l) = labels.get(idx) {
                    out.put_slice(l.as_bytes());
                }
            }
            ValueKind::List(elem) => {
                let entry = vec.get::<[u64; 2]>(row);
                let child = vec.list_child();
                write_array_text(elem, &child, entry[0] as usize, entry[1] as usize, s, out);
            }
            ValueKind::Array(elem, size) => {
                let child = vec.array_child();
                write_array_text(elem, &child, row * size, *size, s, out);
            }
            ValueKind::Struct(_) | ValueKind::Map(..) => write_json(kind, vec, row, s, out),
            ValueKind::Union(members) => {
                let tag = vec.struct_child(0).get::<u8>(row) as usize;
                if let Some((_, mk)) = members.get(tag) {
                    let member = vec.struct_child(tag + 1);
                    if member.is_valid(row) {
                        write_text(mk, &member, row, s, out);
                    }
                }
            }
            ValueKind::Unsupported(name) => {
                out.put_slice(format!("<unsupported type {name}>").as_bytes());
            }
        }
    }
}

/// Element kinds whose text form never needs quoting inside an array literal.
fn needs_no_quotes(kind: &ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::Bool
            | ValueKind::Int(_)
            | ValueKind::Float32
            | ValueKind::Float64
            | ValueKind::Decimal { .. }
            | ValueKind::Uuid
            | ValueKind::Date
    )
}

fn write_array_text(
    elem: &ValueKind,
    child: &Vector<'_>,
    offset: usize,
    len: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    out.put_u8(b'{');
    let mut scratch = BytesMut::new();
    for i in offset..offset + len {
        if i > offset {
            out.put_u8(b',');
        }
        if !child.is_valid(i) {
            out.put_slice(b"NULL");
            continue;
        }
        if needs_no_quotes(elem) || matches!(elem, ValueKind::List(_) | ValueKind::Array(..)) {
            write_text(elem, child, i, s, out);
            continue;
        }
        scratch.clear();
        write_text(elem, child, i, s, &mut scratch);
        quote_array_element(&scratch, out);
    }
    out.put_u8(b'}');
}

/// Quotes an array element as Postgres' `array_out` does.
fn quote_array_element(v: &[u8], out: &mut BytesMut) {
    let needs = v.is_empty()
        || v.eq_ignore_ascii_case(b"NULL")
        || v.iter()
            .any(|c| matches!(c, b'{' | b'}' | b',' | b'"' | b'\\') || c.is_ascii_whitespace());
    if !needs {
        out.put_slice(v);
        return;
    }
    out.put_u8(b'"');
    for &c in v {
        if c == b'"' || c == b'\\' {
            out.put_u8(b'\\');
        }
        out.put_u8(c);
    }
    out.put_u8(b'"');
}

fn json_string(v: &[u8], out: &mut BytesMut) {
    out.put_u8(b'"');
    for &c in v {
        match c {
            b'"' => out.put_slice(b"\\\""),
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            c if c < 0x20 => out.put_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.put_u8(c),
        }
    }
    out.put_u8(b'"');
}

/// Writes the value as JSON (for STRUCT and MAP columns and their contents).
fn write_json(
    kind: &ValueKind,
    vec: &Vector<'_>,
    row: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    if !vec.is_valid(row) {
        out.put_slice(b"null");
        return;
    }
    // SAFETY: as in `write_text`.
    unsafe {
        match kind {
            ValueKind::Bool => out.put_slice(if vec.get::<bool>(row) {
                b"true"
            } else {
                b"false"
            }),
            ValueKind::Int(_) | ValueKind::Decimal { .. } => write_text(kind, vec, row, s, out),
            ValueKind::Float32 | ValueKind::Float64 => {
                let mut b = BytesMut::new();
                write_text(kind, vec, row, s, &mut b);
                if b.iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'e' | b'+'))
                {
                    out.put_slice(&b);
                } else {
                    json_string(&b, out);
                }
            }
            ValueKind::Json => out.put_slice(vec.get_bytes(row)),
            ValueKind::List(elem) => {
                let entry = vec.get::<[u64; 2]>(row);
                let child = vec.list_child();
                write_json_array(elem, &child, entry[0] as usize, entry[1] as usize, s, out);
            }
            ValueKind::Array(elem, size) => {
                let child = vec.array_child();
                write_json_array(elem, &child, row * size, *size, s, out);
            }
            ValueKind::Struct(fields) => {
                out.put_u8(b'{');
                for (i, (name, fk)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.put_u8(b',');
                    }
                    json_string(name.as_bytes(), out);
                    out.put_u8(b':');
                    write_json(fk, &vec.struct_child(i), row, s, out);
                }
                out.put_u8(b'}');
            }
            ValueKind::Map(key, value) => {
                let entry = vec.get::<[u64; 2]>(row);
                let entries = vec.list_child();
                let (keys, values) = (entries.struct_child(0), entries.struct_child(1));
                out.put_u8(b'{');
                let mut scratch = BytesMut::new();
                for i in entry[0] as usize..(entry[0] + entry[1]) as usize {
                    if i > entry[0] as usize {
                        out.put_u8(b',');
                    }
                    scratch.clear();
                    write_text(key, &keys, i, s, &mut scratch);
                    json_string(&scratch, out);
                    out.put_u8(b':');
                    write_json(value, &values, i, s, out);
                }
                out.put_u8(b'}');
            }
            _ => {
                let mut b = BytesMut::new();
                write_text(kind, vec, row, s, &mut b);
                json_string(&b, out);
            }
        }
    }
}

fn write_json_array(
    elem: &ValueKind,
    child: &Vector<'_>,
    offset: usize,
    len: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    out.put_u8(b'[');
    for i in offset..offset + len {
        if i > offset {
            out.put_u8(b',');
        }
        write_json(elem, child, i, s, out);
    }
    out.put_u8(b']');
}

/// Writes the Postgres binary form of the value at `row`.
fn write_binary(
    kind: &ValueKind,
    vec: &Vector<'_>,
    row: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    // SAFETY: as in `write_text`.
    unsafe {
        match kind {
            ValueKind::Bool => out.put_u8(u8::from(vec.get::<bool>(row))),
            ValueKind::Int(w) => match kind.pg_type() {
                oid::INT2 => out.put_i16(read_i64(vec, row, *w) as i16),
                oid::INT4 => out.put_i32(read_i64(vec, row, *w) as i32),
                oid::INT8 => out.put_i64(read_i64(vec, row, *w)),
                _ => {
                    let (neg, mag) = read_int(vec, row, *w);
                    text::numeric_binary(out, neg, mag, 0);
                }
            },
            ValueKind::Float32 => out.put_f32(vec.get::<f32>(row)),
            ValueKind::Float64 => out.put_f64(vec.get::<f64>(row)),
            ValueKind::Decimal {
                width,
                scale,
                quotient,
            } => {
                let (neg, mag) = read_int(vec, row, *width);
                let (mag, scale) = shown_decimal(mag, *scale, *quotient);
                text::numeric_binary(out, neg, mag, scale);
            }
            ValueKind::Text | ValueKind::Json | ValueKind::Blob => {
                out.put_slice(vec.get_bytes(row))
            }
            ValueKind::Bit => {
                let bits = bit_string(vec.get_bytes(row));
                out.put_i32(bits.len() as i32);
                let mut byte = 0u8;
                for (i, c) in bits.bytes().enumerate() {
                    if c == b'1' {
                        byte |= 0x80 >> (i % 8);
                    }
                    if i % 8 == 7 {
                        out.put_u8(byte);
                        byte = 0;
                    }
                }
                if !bits.len().is_multiple_of(8) {
                    out.put_u8(byte);
                }
            }
            ValueKind::Date => {
                let d = vec.get::<i32>(row);
                out.put_i32(match d {
                    text::DATE_INFINITY => i32::MAX,
                    text::DATE_NEG_INFINITY => i32::MIN,
                    _ => d - text::PG_EPOCH_DAYS,
                });
            }
            ValueKind::Time => out.put_i64(vec.get::<i64>(row)),
            ValueKind::TimeNs => out.put_i64(vec.get::<i64>(row) / 1_000),
            ValueKind::TimeTz => {
                let (micros, offset) = time_tz_parts(vec.get::<u64>(row));
                out.put_i64(micros);
                out.put_i32(-offset);
            }
            ValueKind::Timestamp(unit) | ValueKind::TimestampTz(unit) => {
                let m = ts_micros(vec.get::<i64>(row), *unit);
                out.put_i64(match m {
                    text::TS_INFINITY => i64::MAX,
                    text::TS_NEG_INFINITY => i64::MIN,
                    _ => m - text::PG_EPOCH_MICROS,
                });
            }
            ValueKind::Interval => {
                out.put_i64(vec.get::<i64>(row * 2 + 1));
                out.put_i32(vec.get::<i32>(row * 4 + 1));
                out.put_i32(vec.get::<i32>(row * 4));
            }
            ValueKind::Uuid => out.put_slice(&uuid_bytes(vec.get::<i128>(row))),
            ValueKind::List(elem) | ValueKind::Array(elem, _) if kind.pg_type() != oid::TEXT => {
                let (child, offset, len) = match kind {
                    ValueKind::Array(_, size) => (vec.array_child(), row * size, *size),
                    _ => {
                        let entry = vec.get::<[u64; 2]>(row);
                        (vec.list_child(), entry[0] as usize, entry[1] as usize)
                    }
                };
                write_array_binary(elem, &child, offset, len, s, out);
            }
            // Text-typed and JSON-typed values: the binary form is the text.
            _ => write_text(kind, vec, row, s, out),
        }
    }
}

fn write_array_binary(
    elem: &ValueKind,
    child: &Vector<'_>,
    offset: usize,
    len: usize,
    s: &OutputSettings,
    out: &mut BytesMut,
) {
    let has_null = (offset..offset + len).any(|i| !child.is_valid(i));
    out.put_i32(if len == 0 { 0 } else { 1 });
    out.put_i32(i32::from(has_null));
    out.put_u32(elem.pg_type());
    if len > 0 {
        out.put_i32(len as i32);
        out.put_i32(1);
    }
    for i in offset..offset + len {
        if !child.is_valid(i) {
            out.put_i32(-1);
            continue;
        }
        let len_at = out.len();
        out.put_i32(0);
        if matches!(elem, ValueKind::Struct(_) | ValueKind::Map(..)) {
            write_json(elem, child, i, s, out);
        } else {
            write_binary(elem, child, i, s, out);
        }
        let n = (out.len() - len_at - 4) as i32;
        out[len_at..len_at + 4].copy_from_slice(&n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_quote_like_postgres() {
        let q = |v: &[u8]| {
            let mut b = BytesMut::new();
            quote_array_element(v, &mut b);
            String::from_utf8(b.to_vec()).expect("utf8")
        };
        assert_eq!(q(b"abc"), "abc");
        assert_eq!(q(b""), "\"\"");
        assert_eq!(q(b"null"), "\"null\"");
        assert_eq!(q(b"a b"), "\"a b\"");
        assert_eq!(q(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(q(b"{x}"), "\"{x}\"");
    }

    #[test]
    fn time_tz_decodes_offset() {
        const MAX_OFFSET: u64 = 16 * 60 * 60 - 1;
        let bits = (3_600_000_000u64 << 24) | (MAX_OFFSET - 7200);
        assert_eq!(time_tz_parts(bits), (3_600_000_000, 7200));
    }

    #[test]
    fn bit_strings_skip_padding() {
        // 3 padding bits, then 10101.
        assert_eq!(bit_string(&[3, 0b1111_0101]), "10101");
    }

    #[test]
    fn uuid_flips_top_bit() {
        let stored: i128 = 0x1234_5678_9abc_def0_1234_5678_9abc_def0u128 as i128 ^ (1i128 << 127);
        assert_eq!(uuid_bytes(stored)[0], 0x12);
    }
}
