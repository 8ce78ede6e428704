//! The decoder of `COPY … FROM STDIN` data: Postgres text, CSV or binary rows, as
//! the client streams them in CopyData messages of any size, become one canonical
//! CSV file (comma, double quote, empty unquoted field = NULL) that DuckDB's
//! parallel CSV reader then loads with the target columns' types.
//!
//! The decoder owns what DuckDB cannot know: Postgres escapes (`\N`, `\t`, octal,
//! hex), the end-of-data marker `\.`, the null string, header lines, the column
//! count of every row, and binary values. Its errors carry the SQLSTATE and the
//! `COPY t, line N` context Postgres reports; value conversion errors come later
//! from DuckDB, with the same line numbers because the file keeps one record per
//! input row.

use std::io::Write;

use bytes::{Buf, BufMut, BytesMut};

use crate::codec::params::{bad_binary, expect_binary_len};
use crate::codec::text;
use crate::codec::types::oid;
use crate::copy::command::{CopyFormat, CopyOptions, Header};
use crate::pg_error::{sqlstate, PgError};

/// Output is written to the file in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 20;

const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A column rows are loaded into.
#[derive(Debug, Clone)]
pub struct CopyColumn {
    pub name: String,
    /// The Postgres type the client sees for the column (binary values are in its
    /// binary format).
    pub type_oid: u32,
}

/// Whether the decoder wants more data.
enum Step {
    /// A record was consumed (this many bytes).
    Record(usize),
    /// The buffered bytes end inside a record.
    NeedMore,
    /// The end-of-data marker (or binary trailer) was reached.
    End,
}

pub struct CopyInDecoder<W: Write> {
    options: CopyOptions,
    columns: Vec<CopyColumn>,
    force_not_null: Vec<bool>,
    force_null: Vec<bool>,
    table: String,
    /// Input not yet consumed.
    pending: Vec<u8>,
    /// Start of the unconsumed part of `pending`.
    pos: usize,
    out: BytesMut,
    sink: W,
    /// Records read from the input, header included (Postgres's line numbers).
    line: u64,
    rows: u64,
    ended: bool,
    header_pending: bool,
    binary_header_done: bool,
    /// One record's fields: (start, end) in `scratch`, or `None` for NULL.
    fields: Vec<Option<(usize, usize)>>,
    scratch: Vec<u8>,
}

impl<W: Write> CopyInDecoder<W> {
    pub fn new(options: CopyOptions, columns: Vec<CopyColumn>, table: &str, sink: W) -> Self {
        let force_not_null = columns
            .iter()
            .map(|c| options.force_not_null.contains(&c.name))
            .collect();
        let force_null = columns
            .iter()
            .map(|c| options.force_null.contains(&c.name))
            .collect();
        let header_pending = options.header != Header::Absent;
        CopyInDecoder {
            options,
            columns,
            force_not_null,
            force_null,
            table: table.to_string(),
            pending: Vec::new(),
            pos: 0,
            out: BytesMut::with_capacity(WRITE_CHUNK + 64 * 1024),
            sink,
            line: 0,
            rows: 0,
            ended: false,
            header_pending,
            binary_header_done: false,
            fields: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The number of header lines before the first row (to turn a row number
    /// into Postgres's line number).
    pub fn header_lines(&self) -> u64 {
        u64::from(self.options.header != Header::Absent)
    }

    /// Consumes one CopyData message's bytes.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), PgError> {
        if self.ended {
            return Ok(());
        }
        if self.pos > 0 && self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
        }
        if self.pending.is_empty() {
            // Decode straight from the message; keep only an incomplete tail.
            let used = self.decode(data, false)?;
            self.pending.extend_from_slice(&data[used..]);
        } else {
            self.pending.extend_from_slice(data);
            let buf = std::mem::take(&mut self.pending);
            let used = self.decode(&buf[self.pos..], false);
            self.pending = buf;
            self.pos += used?;
            if self.pos > (1 << 20) && self.pos * 2 > self.pending.len() {
                self.pending.drain(..self.pos);
                self.pos = 0;
            }
        }
        self.spill()
    }

    /// Ends the input (CopyDone); returns the number of rows written and the sink.
    pub fn finish(mut self) -> Result<(u64, W), PgError> {
        if !self.ended {
            let buf = std::mem::take(&mut self.pending);
            let rest = &buf[self.pos.min(buf.len())..];
            let used = self.decode(rest, true)?;
            if self.options.format == CopyFormat::Binary && !self.ended {
                let left = rest.len() - used;
                return Err(self.bad_format(if left == 0 && self.binary_header_done {
                    "unexpected EOF in COPY data".to_string()
                } else {
                    "COPY file signature not recognized".to_string()
                }));
            }
        }
        self.sink
            .write_all(&self.out)
            .and_then(|_| self.sink.flush())
            .map_err(io_error)?;
        Ok((self.rows, self.sink))
    }

    fn spill(&mut self) -> Result<(), PgError> {
        if self.out.len() >= WRITE_CHUNK {
            self.sink.write_all(&self.out).map_err(io_error)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Decodes whole records from `buf`; returns the bytes consumed. With `last`,
    /// the input ends with `buf` (a final line may lack its newline).
    fn decode(&mut self, buf: &[u8], last: bool) -> Result<usize, PgError> {
        let mut at = 0;
        while at < buf.len() && !self.ended {
            let step = match self.options.format {
                CopyFormat::Text => self.text_record(&buf[at..], last)?,
                CopyFormat::Csv => self.csv_record(&buf[at..], last)?,
                CopyFormat::Binary => self.binary_record(&buf[at..])?,
            };
            match step {
                Step::Record(n) => at += n,
                Step::NeedMore => break,
                Step::End => {
                    self.ended = true;
                    break;
                }
            }
            if self.out.len() >= WRITE_CHUNK {
                self.spill()?;
            }
        }
        Ok(at)
    }

    fn context(&self) -> String {
        format!("COPY {}, line {}", self.table, self.line)
    }

    fn bad_format(&self, message: impl Into<String>) -> PgError {
        PgError::new(sqlstate::BAD_COPY_FILE_FORMAT, message).with_context(self.context())
    }

    // ---- text format ---------------------------------------------------------

    fn text_record(&mut self, buf: &[u8], last: bool) -> Result<Step, PgError> {
        let (line, consumed) = match memchr::memchr(b'\n', buf) {
            Some(nl) => (&buf[..nl], nl + 1),
            None if last => (buf, buf.len()),
            None => return Ok(Step::NeedMore),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.line += 1;
        if line == b"\\." {
            return Ok(Step::End);
        }
        if std::str::from_utf8(line).is_err() {
            return Err(PgError::new(
                sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            )
            .with_context(self.context()));
        }
        if self.header_pending {
            self.header_pending = false;
            return Ok(Step::Record(consumed));
        }
        self.fields.clear();
        self.scratch.clear();
        let delim = self.options.delimiter;
        let null = self.options.null.as_bytes();
        let mut start = 0;
        let mut i = 0;
        let mut escaped = false;
        loop {
            let at_end = i >= line.len();
            if at_end || line[i] == delim {
                let raw = &line[start..i];
                if raw == null {
                    self.fields.push(None);
                } else {
                    let s = self.scratch.len();
                    if escaped {
                        unescape_text(raw, &mut self.scratch);
                    } else {
                        self.scratch.extend_from_slice(raw);
                    }
                    self.fields.push(Some((s, self.scratch.len())));
                }
                if at_end {
                    break;
                }
                i += 1;
                start = i;
                escaped = false;
                continue;
            }
            if line[i] == b'\\' {
                escaped = true;
                i += 2;
                if i > line.len() {
                    i = line.len();
                }
                continue;
            }
            i += 1;
        }
        // An empty line is a row of one empty field, as in Postgres.
        self.emit_record()?;
        Ok(Step::Record(consumed))
    }

    // ---- CSV format ----------------------------------------------------------

    fn csv_record(&mut self, buf: &[u8], last: bool) -> Result<Step, PgError> {
        let (delim, quote, escape) = (
            self.options.delimiter,
            self.options.quote,
            self.options.escape,
        );
        self.fields.clear();
        self.scratch.clear();
        let mut i = 0;
        let mut field_start = 0;
        let mut quoted = false;
        let mut in_quotes = false;
        let consumed;
        loop {
            if i >= buf.len() {
                if !last {
                    return Ok(Step::NeedMore);
                }
                if in_quotes {
                    self.line += 1;
                    return Err(self.bad_format("unterminated CSV quoted field"));
                }
                consumed = i;
                break;
            }
            let b = buf[i];
            if in_quotes {
                if b == escape && escape != quote {
                    match buf.get(i + 1) {
                        Some(&n) if n == quote || n == escape => {
                            self.scratch.push(n);
                            i += 2;
                        }
                        Some(_) => {
                            self.scratch.push(b);
                            i += 1;
                        }
                        None if last => {
                            self.scratch.push(b);
                            i += 1;
                        }
                        None => return Ok(Step::NeedMore),
                    }
                } else if b == quote {
                    match buf.get(i + 1) {
                        Some(&n) if n == quote && escape == quote => {
                            self.scratch.push(quote);
                            i += 2;
                        }
                        None if !last => return Ok(Step::NeedMore),
                        _ => {
                            in_quotes = false;
                            i += 1;
                        }
                    }
                } else {
                    self.scratch.push(b);
                    i += 1;
                }
                continue;
            }
            if b == quote {
                in_quotes = true;
                quoted = true;
                i += 1;
            } else if b == delim {
                self.end_csv_field(field_start, quoted);
                field_start = self.scratch.len();
                quoted = false;
                i += 1;
            } else if b == b'\n' {
                consumed = i + 1;
                break;
            } else if b == b'\r' {
                match buf.get(i + 1) {
                    Some(b'\n') => consumed = i + 2,
                    None if !last => return Ok(Step::NeedMore),
                    _ => consumed = i + 1,
                }
                break;
            } else {
                self.scratch.push(b);
                i += 1;
            }
        }
        self.end_csv_field(field_start, quoted);
        self.line += 1;
        if self.fields.len() == 1 && !quoted && &self.scratch[..] == b"\\." {
            return Ok(Step::End);
        }
        if std::str::from_utf8(&self.scratch).is_err() {
            return Err(PgError::new(
                sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            )
            .with_context(self.context()));
        }
        if self.header_pending {
            self.header_pending = false;
            if self.options.header == Header::Match {
                self.match_header()?;
            }
            return Ok(Step::Record(consumed));
        }
        self.emit_record()?;
        Ok(Step::Record(consumed))
    }

    fn end_csv_field(&mut self, start: usize, quoted: bool) {
        let col = self.fields.len();
        let value = &self.scratch[start..];
        let matches_null = value == self.options.null.as_bytes();
        let is_null = if quoted {
            matches_null && self.force_null.get(col).copied().unwrap_or(false)
        } else {
            matches_null && !self.force_not_null.get(col).copied().unwrap_or(false)
        };
        if is_null {
            self.fields.push(None);
            self.scratch.truncate(start);
        } else {
            self.fields.push(Some((start, self.scratch.len())));
        }
    }

    fn match_header(&self) -> Result<(), PgError> {
        if self.fields.len() != self.columns.len() {
            return Err(self.bad_format(format!(
                "wrong number of fields in header line: got {}, expected {}",
                self.fields.len(),
                self.columns.len()
            )));
        }
        for (f, c) in self.fields.iter().zip(&self.columns) {
            let got = f.map(|(s, e)| String::from_utf8_lossy(&self.scratch[s..e]).into_owned());
            if got.as_deref() != Some(c.name.as_str()) {
                return Err(self.bad_format(format!(
                    "column name mismatch in header line field: got \"{}\", expected \"{}\"",
                    got.unwrap_or_default(),
                    c.name
                )));
            }
        }
        Ok(())
    }

    // ---- binary format ---------------------------------------------------------

    fn binary_record(&mut self, buf: &[u8]) -> Result<Step, PgError> {
        let mut b = buf;
        if !self.binary_header_done {
            if b.len() < BINARY_SIGNATURE.len() + 8 {
                return Ok(Step::NeedMore);
            }
            if &b[..BINARY_SIGNATURE.len()] != BINARY_SIGNATURE {
                return Err(self.bad_format("COPY file signature not recognized"));
            }
            b.advance(BINARY_SIGNATURE.len());
            let flags = b.get_u32();
            if flags & (1 << 16) != 0 {
                return Err(self.bad_format("COPY with OIDs is not supported"));
            }
            if flags & 0xFFFF_0000 & !(1 << 16) != 0 {
                return Err(self.bad_format("unrecognized critical flags in COPY file header"));
            }
            let ext = b.get_u32() as usize;
            if b.len() < ext {
                return Ok(Step::NeedMore);
            }
            b.advance(ext);
            self.binary_header_done = true;
            return Ok(Step::Record(buf.len() - b.len()));
        }
        if b.len() < 2 {
            return Ok(Step::NeedMore);
        }
        let count = b.get_i16();
        if count == -1 {
            self.line += 1;
            return Ok(Step::End);
        }
        self.line += 1;
        if count as usize != self.columns.len() {
            return Err(self.bad_format(format!(
                "row field count is {count}, expected {}",
                self.columns.len()
            )));
        }
        // Check the whole tuple is here before writing any of it.
        let mut probe = b;
        for _ in 0..count {
            if probe.len() < 4 {
                self.line -= 1;
                return Ok(Step::NeedMore);
            }
            let len = probe.get_i32();
            if len < -1 {
                return Err(self.bad_format("invalid field size"));
            }
            if len > 0 {
                if probe.len() < len as usize {
                    self.line -= 1;
                    return Ok(Step::NeedMore);
                }
                probe.advance(len as usize);
            }
        }
        for col in 0..count as usize {
            if col > 0 {
                self.out.put_u8(b',');
            }
            let len = b.get_i32();
            if len == -1 {
                continue;
            }
            let value = &b[..len as usize];
            let start = self.out.len();
            self.out.put_u8(b'"');
            let type_oid = self.columns[col].type_oid;
            if let Err(e) = binary_value_text(type_oid, value, &mut self.out) {
                let name = self.columns[col].name.clone();
                return Err(e.with_context(format!("{}, column {name}", self.context())));
            }
            quote_in_place(&mut self.out, start);
            b.advance(len as usize);
        }
        self.out.put_u8(b'\n');
        self.rows += 1;
        Ok(Step::Record(buf.len() - b.len()))
    }

    // ---- output ------------------------------------------------------------

    /// Writes the fields gathered in `fields`/`scratch` as one CSV record.
    fn emit_record(&mut self) -> Result<(), PgError> {
        let n = self.columns.len();
        if self.fields.len() > n {
            return Err(self.bad_format("extra data after last expected column"));
        }
        if self.fields.len() < n {
            let missing = &self.columns[self.fields.len()].name;
            return Err(self.bad_format(format!("missing data for column \"{missing}\"")));
        }
        for (col, f) in self.fields.iter().enumerate() {
            if col > 0 {
                self.out.put_u8(b',');
            }
            let Some((s, e)) = *f else { continue };
            let value = &self.scratch[s..e];
            if self.columns[col].type_oid == oid::BYTEA {
                let start = self.out.len();
                self.out.put_u8(b'"');
                if let Err(e) = bytea_for_engine(value, &mut self.out) {
                    let name = self.columns[col].name.clone();
                    return Err(e.with_context(format!("{}, column {name}", self.context())));
                }
                quote_in_place(&mut self.out, start);
            } else {
                write_csv_field(&mut self.out, value);
            }
        }
        self.out.put_u8(b'\n');
        self.rows += 1;
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> PgError {
    PgError::new(
        sqlstate::IO_ERROR,
        format!("could not write COPY data to the staging file: {e}"),
    )
}

/// Writes a non-NULL value: quoted when empty (an unquoted empty field is NULL) or
/// when it holds a comma, quote or line break.
fn write_csv_field(out: &mut BytesMut, v: &[u8]) {
    let needs_quotes = v.is_empty() || v.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        out.put_slice(v);
        return;
    }
    out.put_u8(b'"');
    for part in v.split_inclusive(|&b| b == b'"') {
        out.put_slice(part);
        if part.last() == Some(&b'"') {
            out.put_u8(b'"');
        }
    }
    out.put_u8(b'"');
}

/// Closes a quoted field whose opening quote is at `start`, doubling any quote
/// the value wrote after it.
fn quote_in_place(out: &mut BytesMut, start: usize) {
    if out[start + 1..].contains(&b'"') {
        let value = out.split_off(start + 1);
        for part in value.split_inclusive(|&b| b == b'"') {
            out.put_slice(part);
            if part.last() == Some(&b'"') {
                out.put_u8(b'"');
            }
        }
    }
    out.put_u8(b'"');
}

/// Resolves the backslash escapes of the text format.
fn unescape_text(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c != b'\\' || i + 1 >= raw.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = raw[i + 1];
        i += 2;
        match n {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(n - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xFF) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push(b'x');
                } else {
                    out.push(v as u8);
                }
            }
            other => out.push(other),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn put_escaped_byte(out: &mut BytesMut, b: u8) {
    out.put_slice(b"\\x");
    out.put_u8(HEX[(b >> 4) as usize]);
    out.put_u8(HEX[(b & 15) as usize]);
}

/// A Postgres `bytea` text value (hex `\x…` or escape format) in the form DuckDB
/// casts to BLOB: printable ASCII as is, every other byte as `\xHH`.
fn bytea_for_engine(v: &[u8], out: &mut BytesMut) -> Result<(), PgError> {
    let bad = || {
        PgError::new(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type bytea",
        )
    };
    let push = |out: &mut BytesMut, b: u8| {
        if (0x20..0x7F).contains(&b) && b != b'\\' {
            out.put_u8(b);
        } else {
            put_escaped_byte(out, b);
        }
    };
    if let Some(hex) = v.strip_prefix(b"\\x") {
        let digits: Vec<u8> = hex
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !digits.len().is_multiple_of(2) {
            return Err(bad());
        }
        for pair in digits.chunks(2) {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            push(out, (hi * 16 + lo) as u8);
        }
        return Ok(());
    }
    let mut i = 0;
    while i < v.len() {
        if v[i] != b'\\' {
            push(out, v[i]);
            i += 1;
        } else if v.get(i + 1) == Some(&b'\\') {
            push(out, b'\\');
            i += 2;
        } else if v.len() >= i + 4 && v[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d)) {
            let o = v[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            if o > 255 {
                return Err(bad());
            }
            push(out, o as u8);
            i += 4;
        } else {
            return Err(bad());
        }
    }
    Ok(())
}

/// The text DuckDB casts from, for a value in Postgres binary format.
fn binary_value_text(type_oid: u32, raw: &[u8], out: &mut BytesMut) -> Result<(), PgError> {
    let mut b = raw;
    let need = |n: usize, name: &str| expect_binary_len(raw, n, name);
    let mut num = itoa::Buffer::new();
    match type_oid {
        oid::BOOL => {
            need(1, "boolean")?;
            out.put_slice(if raw[0] != 0 { b"true" } else { b"false" });
        }
        oid::INT2 => {
            need(2, "smallint")?;
            out.put_slice(num.format(b.get_i16()).as_bytes());
        }
        oid::INT4 => {
            need(4, "integer")?;
            out.put_slice(num.format(b.get_i32()).as_bytes());
        }
        oid::OID => {
            need(4, "oid")?;
            out.put_slice(num.format(b.get_u32()).as_bytes());
        }
        oid::INT8 => {
            need(8, "bigint")?;
            out.put_slice(num.format(b.get_i64()).as_bytes());
        }
        oid::FLOAT4 => {
            need(4, "real")?;
            put_float(out, f64::from(b.get_f32()));
        }
        oid::FLOAT8 => {
            need(8, "double precision")?;
            put_float(out, b.get_f64());
        }
        oid::NUMERIC => out.put_slice(crate::codec::params::numeric_from_binary(raw)?.as_bytes()),
        oid::DATE => {
            need(4, "date")?;
            match b.get_i32() {
                i32::MAX => out.put_slice(b"infinity"),
                i32::MIN => out.put_slice(b"-infinity"),
                d => text::date_text(out, d.saturating_add(text::PG_EPOCH_DAYS)),
            }
        }
        oid::TIME => {
            need(8, "time")?;
            text::time_text(out, b.get_i64());
        }
        oid::TIMETZ => {
            need(12, "time with time zone")?;
            let micros = b.get_i64();
            let west = b.get_i32();
            text::timetz_text(out, micros, -west);
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            need(8, "timestamp")?;
            match b.get_i64() {
                i64::MAX => out.put_slice(b"infinity"),
                i64::MIN => out.put_slice(b"-infinity"),
                t => {
                    let unix = t
                        .checked_add(text::PG_EPOCH_MICROS)
                        .ok_or_else(|| bad_binary("timestamp"))?;
                    text::timestamp_text(out, unix);
                    if type_oid == oid::TIMESTAMPTZ {
                        out.put_slice(b"+00");
                    }
                }
            }
        }
        oid::INTERVAL => {
            need(16, "interval")?;
            let micros = b.get_i64();
            let days = b.get_i32();
            let months = b.get_i32();
            out.put_slice(
                format!("{months} months {days} days {micros} microseconds").as_bytes(),
            );
        }
        oid::UUID => {
            need(16, "uuid")?;
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(raw);
            text::uuid_text(out, &bytes);
        }
        oid::BYTEA => {
            for &byte in raw {
                put_escaped_byte(out, byte);
            }
        }
        oid::JSONB => {
            if raw.first() != Some(&1) {
                return Err(bad_binary("jsonb"));
            }
            put_utf8(out, &raw[1..])?;
        }
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::JSON | oid::UNKNOWN => {
            put_utf8(out, raw)?;
        }
        other => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("binary COPY of values of type {other} is not supported; use the text or CSV format"),
            ))
        }
    }
    Ok(())
}

fn put_utf8(out: &mut BytesMut, raw: &[u8]) -> Result<(), PgError> {
    std::str::from_utf8(raw).map_err(|_| {
        PgError::new(
            sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\"",
        )
    })?;
    out.put_slice(raw);
    Ok(())
}

fn put_float(out: &mut BytesMut, v: f64) {
    if v.is_nan() {
        out.put_slice(b"NaN");
    } else if v.is_infinite() {
        out.put_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        let mut r = ryu::Buffer::new();
        out.put_slice(r.format_finite(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::command::options_of as options;

    fn cols(types: &[u32]) -> Vec<CopyColumn> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| CopyColumn {
                name: format!("c{i}"),
                type_oid: *t,
            })
            .collect()
    }

    /// Decodes `input` whole and split at every byte; both must agree.
    fn decode(sql: &str, types: &[u32], input: &[u8]) -> Result<String, PgError> {
        let mut d = CopyInDecoder::new(options(sql), cols(types), "t", Vec::new());
        d.feed(input)?;
        let whole = d.finish()?;
        let mut d = CopyInDecoder::new(options(sql), cols(types), "t", Vec::new());
        for b in input {
            d.feed(std::slice::from_ref(b))?;
        }
        let split = d.finish()?;
        assert_eq!(whole, split, "byte-by-byte differs");
        Ok(String::from_utf8(whole.1).expect("utf8"))
    }

    #[test]
    fn text_escapes_nulls_and_end_marker() {
        let out = decode(
            "COPY t FROM STDIN",
            &[oid::INT4, oid::TEXT],
            b"1\ta\\tb\n2\t\\N\n3\t\n4\tx,\"y\"\\\\z\n\\.\nignored\n",
        )
        .expect("decodes");
        assert_eq!(out, "1,a\tb\n2,\n3,\"\"\n4,\"x,\"\"y\"\"\\z\"\n");
    }

    #[test]
    fn text_column_count_errors_name_the_line() {
        let e = decode("COPY t FROM STDIN", &[oid::INT4, oid::TEXT], b"1\ta\n2\n")
            .expect_err("missing column");
        assert_eq!(e.code, "22P04");
        assert_eq!(e.message, "missing data for column \"c1\"");
        assert_eq!(e.context.as_deref(), Some("COPY t, line 2"));
        let e = decode("COPY t FROM STDIN", &[oid::INT4], b"1\t2\n").expect_err("extra");
        assert_eq!(e.message, "extra data after last expected column");
    }

    #[test]
    fn csv_quotes_nulls_header_and_crlf() {
        let out = decode(
            "COPY t FROM STDIN (FORMAT csv, HEADER)",
            &[oid::INT4, oid::TEXT, oid::TEXT],
            b"a,b,c\r\n1,,\"\"\r\n2,\"multi\nline\",\"q\"\"q\"\r\n3,NULL,x",
        )
        .expect("decodes");
        assert_eq!(out, "1,,\"\"\n2,\"multi\nline\",\"q\"\"q\"\n3,NULL,x\n");
        let out = decode(
            "COPY t FROM STDIN (FORMAT csv, NULL 'NULL', FORCE_NOT_NULL (c1))",
            &[oid::TEXT, oid::TEXT],
            b"NULL,NULL\n",
        )
        .expect("decodes");
        assert_eq!(out, ",NULL\n");
    }

    #[test]
    fn bytea_text_becomes_engine_escapes() {
        let out = decode("COPY t FROM STDIN", &[oid::BYTEA], b"\\\\x41ff\n").expect("decodes");
        assert_eq!(out, "\"A\\xff\"\n");
    }

    #[test]
    fn binary_rows() {
        let mut input = Vec::new();
        input.extend_from_slice(BINARY_SIGNATURE);
        input.extend_from_slice(&0u32.to_be_bytes());
        input.extend_from_slice(&0u32.to_be_bytes());
        input.extend_from_slice(&2i16.to_be_bytes());
        input.extend_from_slice(&4i32.to_be_bytes());
        input.extend_from_slice(&7i32.to_be_bytes());
        input.extend_from_slice(&3i32.to_be_bytes());
        input.extend_from_slice(b"a\"b");
        input.extend_from_slice(&2i16.to_be_bytes());
        input.extend_from_slice(&(-1i32).to_be_bytes());
        input.extend_from_slice(&0i32.to_be_bytes());
        input.extend_from_slice(&(-1i16).to_be_bytes());
        let out = decode(
            "COPY t FROM STDIN (FORMAT binary)",
            &[oid::INT4, oid::TEXT],
            &input,
        )
        .expect("decodes");
        assert_eq!(out, "\"7\",\"a\"\"b\"\n,\"\"\n");
    }
}
