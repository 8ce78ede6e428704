//! A view's expressions after PostgreSQL's parse analysis: column references
//! bound to their relation, literals typed, implicit conversions made
//! explicit, `BETWEEN` and `IN` in the forms PostgreSQL stores — the tree
//! `print` writes out as `pg_get_viewdef` does.

use super::types::{self, binary_operands, cast_kind, common_type, CastKind, PgType};

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of a relation in FROM, by the name the query knows it.
    Column {
        relation: String,
        name: String,
        ty: PgType,
    },
    Const(Const),
    /// A conversion to `ty` (explicit, or one operator resolution added).
    Cast {
        arg: Box<Expr>,
        ty: PgType,
        kind: CastKind,
    },
    /// `left op right`, or `op right` when `left` is `None`.
    Op {
        op: String,
        left: Option<Box<Expr>>,
        right: Box<Expr>,
        ty: PgType,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    NullTest {
        arg: Box<Expr>,
        negated: bool,
    },
    /// `left op ANY|ALL (array)`.
    ArrayOp {
        left: Box<Expr>,
        op: String,
        any: bool,
        array: Box<Expr>,
    },
    /// `ARRAY[…]` of `element` values.
    Array {
        elements: Vec<Expr>,
        element: PgType,
    },
    Function {
        name: String,
        args: Vec<Expr>,
        /// `count(*)`.
        star: bool,
        distinct: bool,
        /// An aggregate (which `ORDER BY` and `GROUP BY` put in parentheses).
        aggregate: bool,
        ty: PgType,
    },
    Coalesce {
        args: Vec<Expr>,
        ty: PgType,
    },
    Case {
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
        ty: PgType,
    },
}

/// A literal, with the type analysis gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// The value as the type's output function writes it; `None` for NULL.
    pub text: Option<String>,
    pub ty: PgType,
}

impl Expr {
    pub fn ty(&self) -> PgType {
        match self {
            Expr::Column { ty, .. }
            | Expr::Cast { ty, .. }
            | Expr::Op { ty, .. }
            | Expr::Function { ty, .. }
            | Expr::Coalesce { ty, .. }
            | Expr::Case { ty, .. } => *ty,
            Expr::Const(c) => c.ty,
            Expr::And(_)
            | Expr::Or(_)
            | Expr::Not(_)
            | Expr::NullTest { .. }
            | Expr::ArrayOp { .. } => PgType::of(types::BOOL),
            Expr::Array { element, .. } => PgType {
                oid: array_of(element.oid),
                typmod: -1,
            },
        }
    }

    /// This expression as a value of `to`: a literal of unknown type takes
    /// the type; anything else is converted, if PostgreSQL can.
    pub fn coerce(self, to: PgType) -> Option<Expr> {
        let from = self.ty();
        if from.oid == to.oid && (from.typmod == to.typmod || to.typmod < 0) {
            return Some(self);
        }
        if let Expr::Const(c) = &self {
            if c.ty.oid == types::UNKNOWN {
                let text = match &c.text {
                    Some(t) => Some(literal_as(t, to)?),
                    None => None,
                };
                return Some(Expr::Const(Const { text, ty: to }));
            }
        }
        let kind = cast_kind(from, to)?;
        Some(Expr::Cast {
            arg: Box::new(self),
            ty: to,
            kind,
        })
    }
}

/// The array type of an element type this module knows (`int4` → `_int4`).
fn array_of(element: u32) -> u32 {
    match element {
        types::BOOL => 1000,
        types::INT2 => 1005,
        types::INT4 => 1007,
        types::TEXT => 1009,
        types::BPCHAR => 1014,
        types::VARCHAR => 1015,
        types::INT8 => 1016,
        types::FLOAT4 => 1021,
        types::FLOAT8 => 1022,
        types::DATE => 1182,
        types::TIMESTAMP => 1115,
        types::TIMESTAMPTZ => 1185,
        types::NUMERIC => 1231,
        _ => 0,
    }
}

/// The element type of an array type `array_of` gives.
pub fn element_of(array: u32) -> Option<u32> {
    [
        types::BOOL,
        types::INT2,
        types::INT4,
        types::TEXT,
        types::BPCHAR,
        types::VARCHAR,
        types::INT8,
        types::FLOAT4,
        types::FLOAT8,
        types::DATE,
        types::TIMESTAMP,
        types::TIMESTAMPTZ,
        types::NUMERIC,
    ]
    .into_iter()
    .find(|&e| array_of(e) == array)
}

/// A string literal read as a value of `ty`, written back as the type's
/// output function writes it; `None` when this module cannot (or the text is
/// no such value).
fn literal_as(text: &str, ty: PgType) -> Option<String> {
    match ty.oid {
        types::TEXT | types::VARCHAR | types::BPCHAR => Some(text.to_string()),
        types::INT2 | types::INT4 | types::INT8 => {
            let n: i64 = text.trim().parse().ok()?;
            Some(n.to_string())
        }
        types::NUMERIC => {
            let t = text.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            let ok = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
                && digits.matches('.').count() <= 1
                && digits.chars().any(|c| c.is_ascii_digit());
            ok.then(|| t.to_string())
        }
        types::BOOL => match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "y" | "on" | "1" => Some("true".into()),
            "f" | "false" | "no" | "n" | "off" | "0" => Some("false".into()),
            _ => None,
        },
        types::DATE => {
            let d = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
            Some(d.format("%Y-%m-%d").to_string())
        }
        types::TIMESTAMP => {
            let t = text.trim();
            let ts = [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S%.f",
            ]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })?;
            let mut s = ts.format("%Y-%m-%d %H:%M:%S").to_string();
            let micros = ts.and_utc().timestamp_subsec_micros();
            if micros > 0 {
                let frac = format!("{micros:06}");
                s.push('.');
                s.push_str(frac.trim_end_matches('0'));
            }
            Some(s)
        }
        _ => None,
    }
}

/// `left op right` with the conversions PostgreSQL's operator resolution
/// makes; a literal of unknown type takes the other side's type.
pub fn binary(op: &str, left: Expr, right: Expr) -> Option<Expr> {
    let (lt, rt) = (left.ty(), right.ty());
    let unknown = |t: PgType| t.oid == types::UNKNOWN;
    let (la, ra) = match (unknown(lt), unknown(rt)) {
        (true, true) => (PgType::of(types::TEXT), PgType::of(types::TEXT)),
        // Operators take their operands without a type modifier.
        (true, false) => (PgType::of(rt.oid), rt),
        (false, true) => (lt, PgType::of(lt.oid)),
        (false, false) => (lt, rt),
    };
    let (l_to, r_to, ty) = binary_operands(op, la, ra)?;
    Some(Expr::Op {
        op: op.to_string(),
        left: Some(Box::new(left.coerce(l_to)?)),
        right: Box::new(right.coerce(r_to)?),
        ty,
    })
}

/// `value [NOT] IN (list)` as PostgreSQL stores it: one comparison for one
/// item, else `= ANY (ARRAY[…])` (`<> ALL` when negated) over the common type.
pub fn in_list(value: Expr, list: Vec<Expr>, negated: bool) -> Option<Expr> {
    let op = if negated { "<>" } else { "=" };
    if list.len() == 1 {
        return binary(op, value, list.into_iter().next()?);
    }
    if !list.iter().all(|e| matches!(e, Expr::Const(_))) {
        return None;
    }
    let mut all: Vec<PgType> = list.iter().map(Expr::ty).collect();
    all.push(value.ty());
    let common = common_type(&all)?;
    let elements = list
        .into_iter()
        .map(|e| e.coerce(common))
        .collect::<Option<Vec<_>>>()?;
    let value = value.coerce(common)?;
    let array = Expr::Array {
        elements,
        element: common,
    };
    // varchar has no comparison of its own: text's applies, to both sides.
    let (left, array) = if common.oid == types::VARCHAR {
        let text = PgType::of(types::TEXT);
        let text_array = PgType {
            oid: array_of(types::TEXT),
            typmod: -1,
        };
        (
            value.coerce(text)?,
            Expr::Cast {
                arg: Box::new(array),
                ty: text_array,
                kind: CastKind::Relabel,
            },
        )
    } else {
        (value, array)
    };
    binary_operands(op, left.ty(), common)?;
    Some(Expr::ArrayOp {
        left: Box::new(left),
        op: op.to_string(),
        any: !negated,
        array: Box::new(array),
    })
}
