//! The PostgreSQL types a view's expressions take, how PostgreSQL writes
//! them (`format_type`), and the implicit coercions its operator resolution
//! applies between them — the part of PostgreSQL's parse analysis that shows
//! in a deparsed view (`(100)::numeric`, `(t.v)::text`).

/// A type OID and modifier, as in `pg_attribute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    pub typmod: i32,
}

pub use floe_protocol::types::oid::{
    BOOL, BPCHAR, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, INTERVAL, NUMERIC, TEXT, TIMESTAMP,
    TIMESTAMPTZ, UNKNOWN, VARCHAR,
};

impl PgType {
    pub const fn of(oid: u32) -> PgType {
        PgType { oid, typmod: -1 }
    }

    pub fn is_integer(self) -> bool {
        matches!(self.oid, INT2 | INT4 | INT8)
    }

    pub fn is_float(self) -> bool {
        matches!(self.oid, FLOAT4 | FLOAT8)
    }

    pub fn is_number(self) -> bool {
        self.is_integer() || self.is_float() || self.oid == NUMERIC
    }

    pub fn is_string(self) -> bool {
        matches!(self.oid, TEXT | VARCHAR | BPCHAR)
    }
}

/// The name `format_type(oid, typmod)` gives; `None` for a type this module
/// does not know.
pub fn format_type(t: PgType) -> Option<String> {
    let with_length = |name: &str, bare: &str| {
        if t.typmod >= 4 {
            format!("{name}({})", t.typmod - 4)
        } else {
            bare.to_string()
        }
    };
    Some(match t.oid {
        BOOL => "boolean".into(),
        INT2 => "smallint".into(),
        INT4 => "integer".into(),
        INT8 => "bigint".into(),
        TEXT => "text".into(),
        FLOAT4 => "real".into(),
        FLOAT8 => "double precision".into(),
        BPCHAR => with_length("character", "bpchar"),
        VARCHAR => with_length("character varying", "character varying"),
        DATE => "date".into(),
        TIMESTAMP => "timestamp without time zone".into(),
        TIMESTAMPTZ => "timestamp with time zone".into(),
        INTERVAL => "interval".into(),
        NUMERIC if t.typmod >= 4 => {
            let m = t.typmod - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        NUMERIC => "numeric".into(),
        _ => return None,
    })
}

/// How PostgreSQL converts one type to another, which decides how the
/// conversion prints inside other expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastKind {
    /// A cast function (`int4` → `numeric`): reads as a function call.
    Function,
    /// Binary-compatible or through text (`varchar` → `text`, `int4` →
    /// `text`): as simple as what it converts.
    Relabel,
}

/// How `from` converts to `to`; `None` when PostgreSQL has no such cast (or
/// this module does not know it).
pub fn cast_kind(from: PgType, to: PgType) -> Option<CastKind> {
    if from.is_number() && to.is_number() {
        return Some(CastKind::Function);
    }
    if (from.oid == VARCHAR && to.oid == TEXT) || (from.oid == TEXT && to.oid == VARCHAR) {
        return Some(CastKind::Relabel);
    }
    if from.oid == BPCHAR && matches!(to.oid, TEXT | VARCHAR) {
        return Some(CastKind::Function);
    }
    if from.is_string() || to.is_string() {
        return Some(CastKind::Relabel);
    }
    if matches!(
        (from.oid, to.oid),
        (DATE, TIMESTAMP)
            | (DATE, TIMESTAMPTZ)
            | (TIMESTAMP, TIMESTAMPTZ)
            | (TIMESTAMPTZ, TIMESTAMP)
            | (TIMESTAMP, DATE)
            | (TIMESTAMPTZ, DATE)
    ) {
        return Some(CastKind::Function);
    }
    None
}

/// Rank of a numeric type in PostgreSQL's implicit casts (int2 → int4 → int8
/// → numeric → float4 → float8).
fn number_rank(t: PgType) -> u8 {
    match t.oid {
        INT2 => 0,
        INT4 => 1,
        INT8 => 2,
        NUMERIC => 3,
        FLOAT4 => 4,
        _ => 5,
    }
}

/// The types the two operands of a binary operator are converted to, and the
/// operator's result type, as PostgreSQL resolves `left op right` when both
/// are typed; `None` for pairs this module does not resolve.
pub fn binary_operands(op: &str, left: PgType, right: PgType) -> Option<(PgType, PgType, PgType)> {
    let comparison = matches!(op, "=" | "<>" | "<" | ">" | "<=" | ">=");
    let arithmetic = matches!(op, "+" | "-" | "*" | "/");
    let result = |t: PgType| if comparison { PgType::of(BOOL) } else { t };
    if left.is_number() && right.is_number() {
        if !(comparison || arithmetic || op == "%") {
            return None;
        }
        let wider = if number_rank(left) >= number_rank(right) {
            left
        } else {
            right
        };
        let wider = PgType::of(wider.oid);
        // Cross-type operators exist among the integers (int48lt, int24pl, …)
        // and between float4 and float8 (float48lt, …): no conversion.
        if (left.is_integer() && right.is_integer() && op != "%")
            || (left.is_float() && right.is_float())
        {
            return Some((left, right, result(wider)));
        }
        if left.is_integer() && right.is_integer() {
            return Some((wider, wider, result(wider)));
        }
        // float4 against numeric: the numeric side becomes float8 and the
        // float48 operators apply.
        if left.oid == FLOAT4 && right.oid == NUMERIC {
            return Some((left, PgType::of(FLOAT8), result(PgType::of(FLOAT8))));
        }
        if left.oid == NUMERIC && right.oid == FLOAT4 {
            return Some((PgType::of(FLOAT8), right, result(PgType::of(FLOAT8))));
        }
        // An integer against float4 becomes float8 (float48 operators again).
        if left.is_integer() && right.oid == FLOAT4 {
            return Some((PgType::of(FLOAT8), right, result(PgType::of(FLOAT8))));
        }
        if left.oid == FLOAT4 && right.is_integer() {
            return Some((left, PgType::of(FLOAT8), result(PgType::of(FLOAT8))));
        }
        let convert = |t: PgType| if t.oid == wider.oid { t } else { wider };
        return Some((convert(left), convert(right), result(wider)));
    }
    if left.is_string() && right.is_string() {
        let text = PgType::of(TEXT);
        if op == "||" {
            let to_text = |t: PgType| if t.oid == BPCHAR { t } else { text };
            return Some((to_text(left), to_text(right), text));
        }
        if !(comparison || matches!(op, "~~" | "!~~" | "~~*" | "!~~*")) {
            return None;
        }
        if left.oid == BPCHAR && right.oid == BPCHAR && comparison {
            return Some((left, right, PgType::of(BOOL)));
        }
        return Some((text, text, PgType::of(BOOL)));
    }
    if comparison && left.oid == right.oid {
        return Some((left, right, PgType::of(BOOL)));
    }
    if comparison
        && matches!(left.oid, DATE | TIMESTAMP | TIMESTAMPTZ)
        && matches!(right.oid, DATE | TIMESTAMP | TIMESTAMPTZ)
    {
        // date_lt_timestamp and friends compare across the three.
        return Some((left, right, PgType::of(BOOL)));
    }
    None
}

/// The type several values (COALESCE's arguments, CASE's results, an IN
/// list) are converted to; unknown-typed literals take it; `None` when the
/// types do not unify here.
pub fn common_type(types: &[PgType]) -> Option<PgType> {
    let known: Vec<PgType> = types.iter().copied().filter(|t| t.oid != UNKNOWN).collect();
    let Some(&first) = known.first() else {
        return Some(PgType::of(TEXT));
    };
    if known.iter().all(|t| t.oid == first.oid) {
        return Some(PgType::of(first.oid));
    }
    if known.iter().all(|t| t.is_number()) {
        let widest = known.iter().copied().max_by_key(|t| number_rank(*t))?;
        return Some(PgType::of(widest.oid));
    }
    if known.iter().all(|t| t.is_string()) {
        return Some(PgType::of(TEXT));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_named_as_format_type_names_them() {
        assert_eq!(
            format_type(PgType {
                oid: NUMERIC,
                typmod: (10 << 16 | 2) + 4
            })
            .as_deref(),
            Some("numeric(10,2)")
        );
        assert_eq!(
            format_type(PgType {
                oid: VARCHAR,
                typmod: 24
            })
            .as_deref(),
            Some("character varying(20)")
        );
        assert_eq!(format_type(PgType::of(BPCHAR)).as_deref(), Some("bpchar"));
    }

    #[test]
    fn operands_convert_as_postgres_resolves_them() {
        let t = PgType::of;
        // (operator, left, right) → (left converted, right converted, result)
        let resolved = [
            (">", NUMERIC, INT4, NUMERIC, NUMERIC, BOOL),
            ("+", INT8, INT4, INT8, INT4, INT8),
            ("<", FLOAT4, NUMERIC, FLOAT4, FLOAT8, BOOL),
            ("=", VARCHAR, TEXT, TEXT, TEXT, BOOL),
            ("=", BPCHAR, BPCHAR, BPCHAR, BPCHAR, BOOL),
        ];
        for (op, left, right, left_as, right_as, result) in resolved {
            let want = (t(left_as), t(right_as), t(result));
            assert_eq!(binary_operands(op, t(left), t(right)), Some(want), "{op}");
        }
        assert_eq!(
            common_type(&[t(INT4), t(UNKNOWN), t(NUMERIC)]),
            Some(t(NUMERIC))
        );
    }
}
