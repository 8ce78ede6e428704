//! Postgres text and binary renderings of scalar values.
//!
//! Text output must be byte-for-byte what PostgreSQL 15 prints with its default
//! settings (`DateStyle ISO`, `IntervalStyle postgres`, `extra_float_digits 1`,
//! `bytea_output hex`), because clients compare and parse these strings. These are
//! pure functions over plain numbers so that each rule can be tested on its own.

use bytes::{BufMut, BytesMut};
use chrono::{Offset, TimeZone};

/// Days from 1970-01-01 to 2000-01-01, the Postgres epoch.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// DuckDB's encodings of date and timestamp infinities.
pub const DATE_INFINITY: i32 = i32::MAX;
pub const DATE_NEG_INFINITY: i32 = -i32::MAX;
pub const TS_INFINITY: i64 = i64::MAX;
pub const TS_NEG_INFINITY: i64 = -i64::MAX;

/// A session time zone: how `timestamptz` values are shown.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionTz {
    /// Seconds east of UTC.
    Fixed(i32),
    Named(chrono_tz::Tz),
}

impl SessionTz {
    /// Parses a Postgres `TimeZone` value: an IANA name, `UTC`/`GMT`/`Z`, or a
    /// numeric offset such as `+05:30` or `-8` (ISO sign convention, east positive).
    pub fn parse(s: &str) -> Option<SessionTz> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc")
            || t.eq_ignore_ascii_case("gmt")
            || t == "Z"
            || t.eq_ignore_ascii_case("zulu")
        {
            return Some(SessionTz::Fixed(0));
        }
        if let Some(off) = parse_offset(t) {
            return Some(SessionTz::Fixed(off));
        }
        // IANA names are case-insensitive in Postgres.
        if let Ok(tz) = t.parse::<chrono_tz::Tz>() {
            return Some(SessionTz::Named(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(t))
            .map(|tz| SessionTz::Named(*tz))
    }

    /// The zone this machine keeps, named as PostgreSQL's `initdb` names it
    /// in the configuration it writes (and as a server without a configured
    /// `TimeZone` therefore starts): `TZ` when it names a zone, else the zone
    /// `/etc/localtime` links to, else `/etc/timezone`; `UTC` when none does.
    pub fn host_zone_name() -> String {
        let from_env = std::env::var("TZ")
            .ok()
            .map(|tz| tz.trim_start_matches(':').to_string());
        let from_link = || {
            std::fs::read_link("/etc/localtime")
                .ok()
                .and_then(|target| {
                    let target = target.to_string_lossy().into_owned();
                    target
                        .split_once("zoneinfo/")
                        .map(|(_, name)| name.to_string())
                })
        };
        let from_file = || {
            std::fs::read_to_string("/etc/timezone")
                .ok()
                .map(|s| s.trim().to_string())
        };
        let known = |name: &String| !name.is_empty() && SessionTz::parse(name).is_some();
        from_env
            .filter(known)
            .or_else(|| from_link().filter(known))
            .or_else(|| from_file().filter(known))
            .unwrap_or_else(|| "UTC".to_string())
    }

    /// Offset east of UTC, in seconds, at the given instant.
    pub fn offset_at(&self, utc_micros: i64) -> i32 {
        match self {
            SessionTz::Fixed(o) => *o,
            SessionTz::Named(tz) => {
                let secs = utc_micros.div_euclid(1_000_000);
                match chrono::DateTime::from_timestamp(secs, 0) {
                    Some(dt) => tz
                        .offset_from_utc_datetime(&dt.naive_utc())
                        .fix()
                        .local_minus_utc(),
                    None => 0,
                }
            }
        }
    }

    /// The instant (UTC microseconds) the wall-clock time `local_micros`
    /// names in this zone: the offset at that instant, found from a first
    /// guess (a time in a spring-forward gap takes the offset before it).
    pub fn utc_of_local(&self, local_micros: i64) -> i64 {
        let offset = |utc: i64| i64::from(self.offset_at(utc)) * 1_000_000;
        let first = local_micros.saturating_sub(offset(local_micros));
        local_micros.saturating_sub(offset(first))
    }
}

fn parse_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        b'0'..=b'9' => (1, t),
        _ => return None,
    };
    let mut parts = rest.split(':');
    let h: i32 = parts.next()?.parse().ok()?;
    let m: i32 = match parts.next() {
        Some(m) => m.parse().ok()?,
        None => 0,
    };
    let s: i32 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || h > 15 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + s))
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a (year, month, day).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u64;
    let mp = if m > 2 { m - 3 } else { m + 9 } as u64;
    let doy = (153 * mp + 2) / 5 + d as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

fn put_int(out: &mut BytesMut, v: i64) {
    let mut b = itoa::Buffer::new();
    out.put_slice(b.format(v).as_bytes());
}

fn put_2digits(out: &mut BytesMut, v: u32) {
    out.put_u8(b'0' + (v / 10 % 10) as u8);
    out.put_u8(b'0' + (v % 10) as u8);
}

fn put_year(out: &mut BytesMut, y: i64) {
    // Postgres shows at least four digits, and years before 1 AD as "… BC".
    let shown = if y <= 0 { 1 - y } else { y };
    if shown < 1000 {
        let s = format!("{shown:04}");
        out.put_slice(s.as_bytes());
    } else {
        put_int(out, shown);
    }
}

fn put_ymd(out: &mut BytesMut, days: i64) -> bool {
    let (y, m, d) = civil_from_days(days);
    put_year(out, y);
    out.put_u8(b'-');
    put_2digits(out, m);
    out.put_u8(b'-');
    put_2digits(out, d);
    y <= 0
}

/// Writes fractional seconds (`.ffffff` with trailing zeros trimmed), if any.
fn put_fraction(out: &mut BytesMut, micros: u32) {
    if micros == 0 {
        return;
    }
    let mut digits = [b'0'; 6];
    let mut v = micros;
    for i in (0..6).rev() {
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut len = 6;
    while len > 0 && digits[len - 1] == b'0' {
        len -= 1;
    }
    out.put_u8(b'.');
    out.put_slice(&digits[..len]);
}

fn put_hms(out: &mut BytesMut, micros_of_day: i64) {
    let secs = micros_of_day / 1_000_000;
    let frac = (micros_of_day % 1_000_000) as u32;
    put_2digits_wide(out, (secs / 3600) as u64);
    out.put_u8(b':');
    put_2digits(out, ((secs / 60) % 60) as u32);
    out.put_u8(b':');
    put_2digits(out, (secs % 60) as u32);
    put_fraction(out, frac);
}

fn put_2digits_wide(out: &mut BytesMut, v: u64) {
    if v < 100 {
        put_2digits(out, v as u32);
    } else {
        put_int(out, v as i64);
    }
}

/// `date` text: `YYYY-MM-DD`, `infinity`, or with ` BC`.
pub fn date_text(out: &mut BytesMut, days: i32) {
    match days {
        DATE_INFINITY => out.put_slice(b"infinity"),
        DATE_NEG_INFINITY => out.put_slice(b"-infinity"),
        _ => {
            if put_ymd(out, i64::from(days)) {
                out.put_slice(b" BC");
            }
        }
    }
}

/// `time` text: `HH:MM:SS[.ffffff]`.
pub fn time_text(out: &mut BytesMut, micros: i64) {
    put_hms(out, micros);
}

fn put_offset(out: &mut BytesMut, offset_secs: i32) {
    out.put_u8(if offset_secs < 0 { b'-' } else { b'+' });
    let a = offset_secs.unsigned_abs();
    put_2digits(out, a / 3600);
    let (m, s) = ((a / 60) % 60, a % 60);
    if m != 0 || s != 0 {
        out.put_u8(b':');
        put_2digits(out, m);
        if s != 0 {
            out.put_u8(b':');
            put_2digits(out, s);
        }
    }
}

/// `timetz` text: `HH:MM:SS[.ffffff]+HH[:MM]`.
pub fn timetz_text(out: &mut BytesMut, micros: i64, offset_secs: i32) {
    put_hms(out, micros);
    put_offset(out, offset_secs);
}

/// `timestamp` text from microseconds since the Unix epoch.
pub fn timestamp_text(out: &mut BytesMut, micros: i64) {
    match micros {
        TS_INFINITY => out.put_slice(b"infinity"),
        TS_NEG_INFINITY => out.put_slice(b"-infinity"),
        _ => {
            let days = micros.div_euclid(MICROS_PER_DAY);
            let bc = put_ymd(out, days);
            out.put_u8(b' ');
            put_hms(out, micros.rem_euclid(MICROS_PER_DAY));
            if bc {
                out.put_slice(b" BC");
            }
        }
    }
}

/// `timestamptz` text in the session time zone, with its offset.
pub fn timestamptz_text(out: &mut BytesMut, utc_micros: i64, tz: &SessionTz) {
    match utc_micros {
        TS_INFINITY => out.put_slice(b"infinity"),
        TS_NEG_INFINITY => out.put_slice(b"-infinity"),
        _ => {
            let offset = tz.offset_at(utc_micros);
            let local = utc_micros.saturating_add(i64::from(offset) * 1_000_000);
            let days = local.div_euclid(MICROS_PER_DAY);
            let bc = put_ymd(out, days);
            out.put_u8(b' ');
            put_hms(out, local.rem_euclid(MICROS_PER_DAY));
            put_offset(out, offset);
            if bc {
                out.put_slice(b" BC");
            }
        }
    }
}

/// `interval` text in the `postgres` IntervalStyle.
pub fn interval_text(out: &mut BytesMut, months: i32, days: i32, micros: i64) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |out: &mut BytesMut, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.put_u8(b' ');
        }
        if is_before && value > 0 {
            out.put_u8(b'+');
        }
        put_int(out, value);
        out.put_u8(b' ');
        out.put_slice(unit.as_bytes());
        if value != 1 {
            out.put_u8(b's');
        }
        is_before = value < 0;
        is_zero = false;
    };
    part(out, i64::from(months / 12), "year");
    part(out, i64::from(months % 12), "mon");
    part(out, i64::from(days), "day");
    if is_zero || micros != 0 {
        if !is_zero {
            out.put_u8(b' ');
        }
        if micros < 0 {
            out.put_u8(b'-');
        } else if is_before {
            out.put_u8(b'+');
        }
        let a = micros.unsigned_abs();
        let secs = a / 1_000_000;
        put_2digits_wide(out, secs / 3600);
        out.put_u8(b':');
        put_2digits(out, ((secs / 60) % 60) as u32);
        out.put_u8(b':');
        put_2digits(out, (secs % 60) as u32);
        put_fraction(out, (a % 1_000_000) as u32);
    }
}

/// `bytea` text in hex format: `\x…`.
pub fn bytea_hex(out: &mut BytesMut, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.put_slice(b"\\x");
    for b in bytes {
        out.put_u8(HEX[(b >> 4) as usize]);
        out.put_u8(HEX[(b & 15) as usize]);
    }
}

/// `uuid` text from its 16 bytes.
pub fn uuid_text(out: &mut BytesMut, bytes: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.put_u8(b'-');
        }
        out.put_u8(HEX[(b >> 4) as usize]);
        out.put_u8(HEX[(b & 15) as usize]);
    }
}

/// An exact decimal from the sign and magnitude of its unscaled integer and its
/// scale: `-12.30` for (true, 1230, 2).
pub fn decimal_text(out: &mut BytesMut, negative: bool, magnitude: u128, scale: u8) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(magnitude);
    if negative && magnitude != 0 {
        out.put_u8(b'-');
    }
    let scale = scale as usize;
    if scale == 0 {
        out.put_slice(digits.as_bytes());
    } else if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        out.put_slice(i.as_bytes());
        out.put_u8(b'.');
        out.put_slice(f.as_bytes());
    } else {
        out.put_slice(b"0.");
        for _ in digits.len()..scale {
            out.put_u8(b'0');
        }
        out.put_slice(digits.as_bytes());
    }
}

/// `numeric` binary form: ndigits, weight, sign, dscale, then base-10000 digits.
pub fn numeric_binary(out: &mut BytesMut, negative: bool, magnitude: u128, scale: u8) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(magnitude).as_bytes();
    let scale = scale as usize;
    // Split into integer and fraction digit strings, padded to groups of four.
    let (int_part, frac_part): (Vec<u8>, Vec<u8>) = if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        (i.to_vec(), f.to_vec())
    } else {
        let mut f = vec![b'0'; scale - digits.len()];
        f.extend_from_slice(digits);
        (Vec::new(), f)
    };
    let int_pad = (4 - int_part.len() % 4) % 4;
    let mut int_digits = vec![b'0'; int_pad];
    int_digits.extend_from_slice(&int_part);
    let mut frac_digits = frac_part;
    while frac_digits.len() % 4 != 0 {
        frac_digits.push(b'0');
    }
    let group = |g: &[u8]| g.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'));
    let mut groups: Vec<i16> = int_digits.chunks(4).map(group).collect();
    let int_groups = groups.len() as i32;
    groups.extend(frac_digits.chunks(4).map(group));
    let mut weight = int_groups - 1;
    // Strip leading zero groups (each one lowers the weight) and trailing ones.
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_i16(scale as i16);
    for g in groups {
        out.put_i16(g);
    }
}

/// Significant digits of a float rendering (at most 17 for a double; 40 covers any
/// `%.*e` precision Postgres allows).
struct Digits {
    buf: [u8; 40],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Splits a rendering ("1.5e-7", "123.0", "1e20") into its significant digits and
/// the decimal exponent of the first digit, without allocating.
fn decompose(rendered: &str) -> (Digits, i32) {
    let (mantissa, exp) = match rendered.find(['e', 'E']) {
        Some(i) => (
            &rendered[..i],
            rendered[i + 1..].parse::<i32>().unwrap_or(0),
        ),
        None => (rendered, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut d = Digits {
        buf: [0; 40],
        len: 0,
    };
    let mut point = int_part.len() as i32 + exp; // digits before the decimal point
    let mut leading = true;
    for c in int_part.bytes().chain(frac_part.bytes()) {
        if leading && c == b'0' {
            point -= 1;
            continue;
        }
        leading = false;
        if d.len < d.buf.len() {
            d.buf[d.len] = c;
            d.len += 1;
        }
    }
    while d.len > 0 && d.buf[d.len - 1] == b'0' {
        d.len -= 1;
    }
    if d.len == 0 {
        d.buf[0] = b'0';
        d.len = 1;
        return (d, 0);
    }
    (d, point - 1)
}

/// Renders digits with exponent `exp` (of the first digit) in `%g` style: fixed
/// notation when `-4 <= exp < threshold`, else `d.ddde±XX`.
fn put_general(out: &mut BytesMut, negative: bool, digits: &[u8], exp: i32, threshold: i32) {
    if negative {
        out.put_u8(b'-');
    }
    if exp < -4 || exp >= threshold {
        out.put_u8(digits[0]);
        if digits.len() > 1 {
            out.put_u8(b'.');
            out.put_slice(&digits[1..]);
        }
        out.put_u8(b'e');
        out.put_u8(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.put_u8(b'0');
        }
        put_int(out, i64::from(a));
    } else if exp < 0 {
        out.put_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.put_slice(digits);
            for _ in digits.len()..int_len {
                out.put_u8(b'0');
            }
        } else {
            out.put_slice(&digits[..int_len]);
            out.put_u8(b'.');
            out.put_slice(&digits[int_len..]);
        }
    }
}

fn special_float(out: &mut BytesMut, v: f64) -> bool {
    if v.is_nan() {
        out.put_slice(b"NaN");
    } else if v.is_infinite() {
        out.put_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        return false;
    }
    true
}

/// `float8` text. With `extra_float_digits > 0` (the default) Postgres prints the
/// shortest string that reads back exactly; otherwise `%.{15+efd}g`.
pub fn float8_text(out: &mut BytesMut, v: f64, extra_float_digits: i32) {
    float_text(out, v, extra_float_digits, 15, |b| b.format_finite(v.abs()));
}

/// `float4` text, as `float8_text` with `FLT_DIG` = 6 and the shortest string that
/// reads back as the same `float4`.
pub fn float4_text(out: &mut BytesMut, v: f32, extra_float_digits: i32) {
    float_text(out, f64::from(v), extra_float_digits, 6, |b| {
        b.format_finite(v.abs())
    });
}

/// Shared rules of `float4out`/`float8out`: `dig` is `FLT_DIG` or `DBL_DIG`, and
/// `shortest` renders the value's magnitude in its own width.
fn float_text(
    out: &mut BytesMut,
    v: f64,
    extra_float_digits: i32,
    dig: i32,
    shortest: impl for<'a> FnOnce(&'a mut ryu::Buffer) -> &'a str,
) {
    if special_float(out, v) {
        return;
    }
    if v == 0.0 {
        out.put_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    if extra_float_digits > 0 {
        let mut b = ryu::Buffer::new();
        let (digits, exp) = decompose(shortest(&mut b));
        put_general(out, v < 0.0, digits.as_slice(), exp, dig);
    } else {
        let precision = (dig + extra_float_digits).max(1) as usize;
        let (digits, exp) = decompose(&format!("{:.*e}", precision - 1, v.abs()));
        put_general(out, v < 0.0, digits.as_slice(), exp, precision as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut BytesMut)) -> String {
        let mut b = BytesMut::new();
        f(&mut b);
        String::from_utf8(b.to_vec()).expect("utf8")
    }

    #[test]
    fn floats_match_postgres() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.1"),
            (100.0, "100"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5e-10, "-2.5e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (-0.0, "-0"),
            (3.25159, "3.25159"),
        ];
        for (v, want) in cases {
            assert_eq!(s(|b| float8_text(b, *v, 1)), *want, "{v}");
        }
        assert_eq!(s(|b| float4_text(b, 1e6, 1)), "1e+06");
        assert_eq!(s(|b| float4_text(b, 123456.0, 1)), "123456");
        assert_eq!(s(|b| float4_text(b, 0.1, 1)), "0.1");
        // extra_float_digits = 0 uses %.15g.
        assert_eq!(s(|b| float8_text(b, 0.1 + 0.2, 0)), "0.3");
        assert_eq!(s(|b| float8_text(b, 0.1 + 0.2, 1)), "0.30000000000000004");
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(s(|b| date_text(b, 0)), "1970-01-01");
        assert_eq!(s(|b| date_text(b, 19_723)), "2024-01-01");
        assert_eq!(s(|b| date_text(b, DATE_INFINITY)), "infinity");
        assert_eq!(s(|b| date_text(b, DATE_NEG_INFINITY)), "-infinity");
        let bc = days_from_civil(0, 3, 15) as i32; // 1 BC
        assert_eq!(s(|b| date_text(b, bc)), "0001-03-15 BC");
        assert_eq!(
            s(|b| timestamp_text(b, 1_700_000_000_123_450)),
            "2023-11-14 22:13:20.12345"
        );
        assert_eq!(s(|b| timestamp_text(b, -1)), "1969-12-31 23:59:59.999999");
        assert_eq!(
            s(|b| timestamptz_text(b, 1_700_000_000_000_000, &SessionTz::Fixed(0))),
            "2023-11-14 22:13:20+00"
        );
        assert_eq!(
            s(|b| timestamptz_text(b, 1_700_000_000_000_000, &SessionTz::Fixed(19_800))),
            "2023-11-15 03:43:20+05:30"
        );
        let ny = SessionTz::parse("America/New_York").expect("tz");
        assert_eq!(
            s(|b| timestamptz_text(b, 1_700_000_000_000_000, &ny)),
            "2023-11-14 17:13:20-05"
        );
        assert_eq!(s(|b| time_text(b, 3_723_000_001)), "01:02:03.000001");
        assert_eq!(
            s(|b| timetz_text(b, 3_723_000_000, -3600 * 8)),
            "01:02:03-08"
        );
    }

    #[test]
    fn civil_round_trips() {
        for d in [-800_000i64, -1, 0, 1, 59, 10_957, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn intervals_match_postgres() {
        assert_eq!(s(|b| interval_text(b, 0, 0, 0)), "00:00:00");
        assert_eq!(
            s(|b| interval_text(b, 14, 3, 14_706_789_000)),
            "1 year 2 mons 3 days 04:05:06.789"
        );
        assert_eq!(s(|b| interval_text(b, 1, 1, 0)), "1 mon 1 day");
        assert_eq!(
            s(|b| interval_text(b, -14, 3, -3_600_000_000)),
            "-1 years -2 mons +3 days -01:00:00"
        );
        assert_eq!(
            s(|b| interval_text(b, 0, -1, 3_600_000_000)),
            "-1 days +01:00:00"
        );
        assert_eq!(
            s(|b| interval_text(b, 0, 0, 100 * 3_600_000_000)),
            "100:00:00"
        );
    }

    #[test]
    fn decimals_and_numeric_binary() {
        assert_eq!(s(|b| decimal_text(b, true, 1230, 2)), "-12.30");
        assert_eq!(s(|b| decimal_text(b, false, 5, 3)), "0.005");
        assert_eq!(s(|b| decimal_text(b, false, 42, 0)), "42");
        let mut b = BytesMut::new();
        numeric_binary(&mut b, false, 123_456_789, 2); // 1234567.89
        assert_eq!(
            &b[..],
            &[0, 3, 0, 1, 0, 0, 0, 2, 0, 123, 0x11, 0xD7, 0x22, 0xC4]
        );
        let mut z = BytesMut::new();
        numeric_binary(&mut z, false, 0, 2);
        assert_eq!(&z[..], &[0, 0, 0, 0, 0, 0, 0, 2]);
        let mut f = BytesMut::new();
        numeric_binary(&mut f, true, 5, 4); // -0.0005
        assert_eq!(&f[..], &[0, 1, 0xFF, 0xFF, 0x40, 0, 0, 4, 0, 5]);
    }

    #[test]
    fn bytes_and_uuid() {
        assert_eq!(s(|b| bytea_hex(b, &[0xde, 0xad, 0x01])), "\\xdead01");
        let u = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
            0xde, 0xf0,
        ];
        assert_eq!(
            s(|b| uuid_text(b, &u)),
            "12345678-9abc-def0-1234-56789abcdef0"
        );
    }

    #[test]
    fn time_zones_parse() {
        assert_eq!(SessionTz::parse("UTC"), Some(SessionTz::Fixed(0)));
        assert_eq!(SessionTz::parse("+05:30"), Some(SessionTz::Fixed(19_800)));
        assert_eq!(SessionTz::parse("-8"), Some(SessionTz::Fixed(-28_800)));
        assert!(matches!(
            SessionTz::parse("europe/berlin"),
            Some(SessionTz::Named(_))
        ));
        assert_eq!(SessionTz::parse("Mars/Olympus"), None);
    }
}
