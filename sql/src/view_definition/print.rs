//! Writes an analysed view query out as `pg_get_viewdef` does: one target
//! per line, the clause keywords right-aligned, joins nested, and
//! expressions either fully parenthesized (`pg_get_viewdef(v)`) or with only
//! the parentheses precedence needs (`pg_get_viewdef(v, true)`).

use super::expr::{element_of, Const, Expr};
use super::types::{self, format_type, CastKind, PgType};
use super::{FromTree, Query, SortItem};

pub struct Printer<'a> {
    pub pretty: bool,
    pub quote: &'a dyn Fn(&str) -> String,
}

/// The node kinds PostgreSQL's `isSimpleNode` tells apart, as a parent.
#[derive(Clone, Copy)]
enum Parent<'e> {
    Op(&'e str, bool),
    Bool(BoolKind),
    Cast,
    NullTest,
    ArrayOp,
}

#[derive(Clone, Copy, PartialEq)]
enum BoolKind {
    And,
    Or,
    Not,
}

fn type_name(t: PgType) -> String {
    match element_of(t.oid) {
        Some(e) => format!("{}[]", format_type(PgType::of(e)).unwrap_or_default()),
        None => format_type(t).unwrap_or_default(),
    }
}

impl Printer<'_> {
    pub fn query(&self, q: &Query) -> String {
        let mut out = String::from(" SELECT ");
        if q.distinct {
            out.push_str("DISTINCT ");
        }
        for (i, t) in q.targets.iter().enumerate() {
            let mut text = self.expr(&t.expr);
            let same_name = matches!(&t.expr, Expr::Column { name, .. } if *name == t.name);
            if !same_name {
                text.push_str(" AS ");
                text.push_str(&(self.quote)(&t.name));
            }
            if i > 0 {
                out.push(',');
                if !text.starts_with('\n') {
                    out.push_str("\n    ");
                }
            } else if text.starts_with('\n') {
                out.truncate(out.trim_end_matches(' ').len());
            }
            out.push_str(&text);
        }
        if !q.from.is_empty() {
            out.push_str("\n   FROM ");
            let items: Vec<String> = q.from.iter().map(|f| self.range_item(q, f)).collect();
            out.push_str(&items.join(",\n    "));
        }
        if let Some(f) = &q.filter {
            out.push_str("\n  WHERE ");
            out.push_str(&self.expr(f));
        }
        if !q.group.is_empty() {
            out.push_str("\n  GROUP BY ");
            let items: Vec<String> = q.group.iter().map(|g| self.sort_key(g)).collect();
            out.push_str(&items.join(", "));
        }
        if let Some(h) = &q.having {
            out.push_str("\n HAVING ");
            out.push_str(&self.expr(h));
        }
        if !q.order.is_empty() {
            out.push_str("\n  ORDER BY ");
            let items: Vec<String> = q
                .order
                .iter()
                .map(|s| {
                    let mut t = self.sort_key(s);
                    if s.desc {
                        t.push_str(" DESC");
                    }
                    match (s.desc, s.nulls_first) {
                        (false, Some(true)) => t.push_str(" NULLS FIRST"),
                        (true, Some(false)) => t.push_str(" NULLS LAST"),
                        _ => {}
                    }
                    t
                })
                .collect();
            out.push_str(&items.join(", "));
        }
        if let Some(o) = &q.offset {
            out.push_str("\n OFFSET ");
            out.push_str(o);
        }
        if let Some(l) = &q.limit {
            out.push_str("\n LIMIT ");
            out.push_str(l);
        }
        out.push(';');
        out
    }

    fn range_item(&self, q: &Query, f: &FromTree) -> String {
        match f {
            FromTree::Relation(i) => {
                let r = &q.relations[*i];
                match &r.alias {
                    Some(a) => format!("{} {}", r.written, (self.quote)(a)),
                    None => r.written.clone(),
                }
            }
            FromTree::Join {
                left,
                right,
                kind,
                on,
            } => {
                let mut s = String::new();
                if !self.pretty {
                    s.push('(');
                }
                s.push_str(&self.range_item(q, left));
                s.push_str("\n     ");
                s.push_str(kind);
                s.push(' ');
                s.push_str(&self.range_item(q, right));
                if let Some(on) = on {
                    s.push_str(" ON ");
                    if self.pretty {
                        s.push_str(&self.expr(on));
                    } else {
                        s.push('(');
                        s.push_str(&self.expr(on));
                        s.push(')');
                    }
                }
                if !self.pretty {
                    s.push(')');
                }
                s
            }
        }
    }

    /// A GROUP BY or ORDER BY item: a column as it is, a constant by its
    /// target's position, anything else in parentheses when it reads like a
    /// function (or always, pretty).
    fn sort_key(&self, s: &SortItem) -> String {
        let e = &s.expr;
        match e {
            Expr::Column { .. } => self.expr(e),
            Expr::Const(_) => s
                .target
                .map(|t| (t + 1).to_string())
                .unwrap_or_else(|| self.expr(e)),
            _ => {
                let function_like = matches!(
                    e,
                    Expr::Function { .. }
                        | Expr::Cast {
                            kind: CastKind::Function,
                            ..
                        }
                );
                if self.pretty || function_like {
                    format!("({})", self.expr(e))
                } else {
                    self.expr(e)
                }
            }
        }
    }

    pub fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Column { relation, name, .. } => {
                format!("{}.{}", (self.quote)(relation), (self.quote)(name))
            }
            Expr::Const(c) => constant(c),
            Expr::Cast { arg, ty, .. } => {
                if let Expr::Const(c) = arg.as_ref() {
                    if c.ty == *ty {
                        return constant(c);
                    }
                }
                let inner = if self.pretty {
                    self.child(arg, Parent::Cast)
                } else {
                    format!("({})", self.expr(arg))
                };
                format!("{inner}::{}", type_name(*ty))
            }
            Expr::Op {
                op, left, right, ..
            } => {
                let text = match left {
                    Some(l) => format!(
                        "{} {op} {}",
                        self.child(l, Parent::Op(op, true)),
                        self.child(right, Parent::Op(op, false))
                    ),
                    None => format!("{op} {}", self.child(right, Parent::Op(op, false))),
                };
                self.wrap(text)
            }
            Expr::And(args) | Expr::Or(args) => {
                let (kind, word) = if matches!(e, Expr::And(_)) {
                    (BoolKind::And, " AND ")
                } else {
                    (BoolKind::Or, " OR ")
                };
                let parts: Vec<String> = args
                    .iter()
                    .map(|a| self.child(a, Parent::Bool(kind)))
                    .collect();
                self.wrap(parts.join(word))
            }
            Expr::Not(arg) => self.wrap(format!(
                "NOT {}",
                self.child(arg, Parent::Bool(BoolKind::Not))
            )),
            Expr::NullTest { arg, negated } => self.wrap(format!(
                "{} IS {}NULL",
                self.child(arg, Parent::NullTest),
                if *negated { "NOT " } else { "" }
            )),
            Expr::ArrayOp {
                left,
                op,
                any,
                array,
            } => self.wrap(format!(
                "{} {op} {} ({})",
                self.child(left, Parent::ArrayOp),
                if *any { "ANY" } else { "ALL" },
                self.child(array, Parent::ArrayOp)
            )),
            Expr::Array { elements, .. } => {
                let parts: Vec<String> = elements.iter().map(|x| self.expr(x)).collect();
                format!("ARRAY[{}]", parts.join(", "))
            }
            Expr::Function {
                name,
                args,
                star,
                distinct,
                ..
            } => {
                let parts: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                let body = if *star {
                    "*".to_string()
                } else if *distinct {
                    format!("DISTINCT {}", parts.join(", "))
                } else {
                    parts.join(", ")
                };
                format!("{name}({body})")
            }
            Expr::Coalesce { args, .. } => {
                let parts: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                format!("COALESCE({})", parts.join(", "))
            }
            Expr::Case {
                whens, otherwise, ..
            } => {
                let mut s = String::from("\n        CASE");
                for (w, t) in whens {
                    s.push_str(&format!(
                        "\n            WHEN {} THEN {}",
                        self.expr(w),
                        self.expr(t)
                    ));
                }
                if let Some(o) = otherwise {
                    if !matches!(o.as_ref(), Expr::Const(Const { text: None, .. })) {
                        s.push_str(&format!("\n            ELSE {}", self.expr(o)));
                    }
                }
                s.push_str("\n        END");
                s
            }
        }
    }

    /// An operator's or connective's text: in parentheses unless pretty (then
    /// the parent decides).
    fn wrap(&self, text: String) -> String {
        if self.pretty {
            text
        } else {
            format!("({text})")
        }
    }

    /// `e` inside `parent`: pretty printing adds the parentheses precedence
    /// needs (PostgreSQL's `get_rule_expr_paren`).
    fn child(&self, e: &Expr, parent: Parent<'_>) -> String {
        let text = self.expr(e);
        if self.pretty && !is_simple(e, parent) {
            format!("({text})")
        } else {
            text
        }
    }
}

/// Whether `e` needs no parentheses as a child of `parent` (PostgreSQL's
/// `isSimpleNode` for pretty printing).
fn is_simple(e: &Expr, parent: Parent<'_>) -> bool {
    match e {
        Expr::Column { .. }
        | Expr::Const(_)
        | Expr::Function { .. }
        | Expr::Coalesce { .. }
        | Expr::Array { .. }
        | Expr::Case { .. } => true,
        Expr::Cast { arg, kind, .. } => match kind {
            CastKind::Function => true,
            // A relabeling is as simple as what it relabels, seen from it.
            CastKind::Relabel => is_simple(arg, Parent::Cast),
        },
        Expr::Op { op, left, .. } => {
            if let (Parent::Op(parent_op, is_left), true) = (parent, left.is_some()) {
                let low = |o: &str| matches!(o, "+" | "-");
                let high = |o: &str| matches!(o, "*" | "/" | "%");
                if !(low(op) || high(op)) || !(low(parent_op) || high(parent_op)) {
                    return false;
                }
                if high(op) && low(parent_op) {
                    return true;
                }
                if low(op) && high(parent_op) {
                    return false;
                }
                return is_left;
            }
            simple_under(parent)
        }
        Expr::NullTest { .. } => simple_under(parent),
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) => match parent {
            Parent::Bool(p) => {
                let kind = match e {
                    Expr::And(_) => BoolKind::And,
                    Expr::Or(_) => BoolKind::Or,
                    _ => BoolKind::Not,
                };
                match kind {
                    BoolKind::Not | BoolKind::And => matches!(p, BoolKind::And | BoolKind::Or),
                    BoolKind::Or => p == BoolKind::Or,
                }
            }
            _ => false,
        },
        Expr::ArrayOp { .. } => false,
    }
}

/// An operator or test under `parent` keeps no parentheses when the parent
/// is a connective (which binds less tightly).
fn simple_under(parent: Parent<'_>) -> bool {
    matches!(parent, Parent::Bool(_))
}

/// A constant as `get_const_expr` writes it: numbers bare where they read
/// back as the same type, everything else quoted with its type.
fn constant(c: &Const) -> String {
    let Some(text) = &c.text else {
        return match c.ty.oid {
            types::UNKNOWN => "NULL".to_string(),
            _ => format!("NULL::{}", type_name(c.ty)),
        };
    };
    let quoted = || format!("'{}'", text.replace('\'', "''"));
    match c.ty.oid {
        types::BOOL => text.clone(),
        types::INT4 if !text.starts_with('-') => text.clone(),
        types::NUMERIC
            if text.starts_with(|ch: char| ch.is_ascii_digit())
                && text.contains('.')
                && c.ty.typmod < 0 =>
        {
            text.clone()
        }
        types::UNKNOWN => quoted(),
        _ => format!("{}::{}", quoted(), type_name(c.ty)),
    }
}
