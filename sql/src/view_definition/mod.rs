//! A view's definition as PostgreSQL 15 gives it back (`pg_get_viewdef`,
//! `pg_views.definition`, `information_schema.views`): PostgreSQL stores a
//! view as its analysed query and deparses it on demand, so a client reads
//! `SELECT orders.id, … FROM fx.orders WHERE (orders.amount > (100)::numeric);`
//! whatever the view's author wrote. This module analyses the query as
//! PostgreSQL would — binding columns to relations, typing literals, making
//! implicit conversions explicit — and writes it out in both of
//! `pg_get_viewdef`'s forms. It covers the queries views are mostly made of
//! (one SELECT over relations and joins, with filters, grouping, ordering and
//! the common operators and functions); for anything else it answers `None`
//! and the caller keeps the text as written.

mod expr;
mod print;
pub mod types;

use sqlparser::ast::{
    BinaryOperator, DataType, Distinct, Expr as Ast, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, LimitClause, ObjectName,
    OrderByKind, Query as AstQuery, Select, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, UnaryOperator, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use expr::{binary, in_list, Const, Expr};
use types::PgType;

/// The relation of `(view_oid, definition, pretty_definition)` of lake views that
/// `pg_get_viewdef` reads (no PostgreSQL catalog: named only by Floe's
/// rewrite of that function, in `pg_catalog`).
pub const VIEW_DEFINITIONS_RELATION: &str = "floe_view_definitions";

/// The catalog relation of lake constraints' definitions (`constraint_oid`,
/// `definition`, `pretty_definition`; not `oid`, which would hide the
/// caller's column of that name), which `pg_get_constraintdef` reads for them.
pub const CONSTRAINT_DEFINITIONS_RELATION: &str = "floe_constraint_definitions";

/// The catalog relation of the definitions of the indexes behind lake
/// primary keys and UNIQUE constraints (`index_oid`, `key_number`, `definition`:
/// key 0 the whole index, key n its n-th column), which `pg_get_indexdef` reads.
pub const INDEX_DEFINITIONS_RELATION: &str = "floe_index_definitions";

/// What the analysis needs to know about the relations a view reads.
pub trait ViewCatalog {
    /// The schema and columns (name, type) of the relation `schema.name`, or
    /// of `name` on the schema path when `schema` is `None`.
    fn relation(&self, schema: Option<&str>, name: &str)
        -> Option<(String, Vec<(String, PgType)>)>;
    /// How a relation is written in FROM (schema-qualified unless visible).
    fn relation_name(&self, schema: &str, name: &str) -> String;
    /// An identifier quoted as PostgreSQL's `quote_ident` quotes it.
    fn quote_ident(&self, name: &str) -> String;
}

/// The two forms of a definition: `pg_get_viewdef(v)` and
/// `pg_get_viewdef(v, true)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definitions {
    pub plain: String,
    pub pretty: String,
}

/// `sql` (a view's query) as PostgreSQL deparses it, its output columns named
/// `columns` (the view's own names, which `CREATE VIEW v (a, b)` may have
/// given; empty to keep the query's); `None` when the query uses what this
/// module does not analyse.
pub fn view_definitions(
    sql: &str,
    columns: &[&str],
    catalog: &dyn ViewCatalog,
) -> Option<Definitions> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    let mut q = Analysis { catalog }.query(query)?;
    if !columns.is_empty() {
        if columns.len() != q.targets.len() {
            return None;
        }
        for (t, name) in q.targets.iter_mut().zip(columns) {
            t.name = name.to_string();
        }
    }
    let quote = |s: &str| catalog.quote_ident(s);
    let plain = print::Printer {
        pretty: false,
        quote: &quote,
    }
    .query(&q);
    let pretty = print::Printer {
        pretty: true,
        quote: &quote,
    }
    .query(&q);
    Some(Definitions { plain, pretty })
}

/// A relation in FROM.
struct Relation {
    /// As FROM writes it.
    written: String,
    alias: Option<String>,
    /// The name columns are qualified with.
    refname: String,
    columns: Vec<(String, PgType)>,
}

enum FromTree {
    Relation(usize),
    Join {
        left: Box<FromTree>,
        right: Box<FromTree>,
        kind: &'static str,
        on: Option<Expr>,
    },
}

struct Target {
    expr: Expr,
    name: String,
}

/// A GROUP BY or ORDER BY item.
struct SortItem {
    expr: Expr,
    /// The target it names, if any.
    target: Option<usize>,
    desc: bool,
    nulls_first: Option<bool>,
}

struct Query {
    distinct: bool,
    relations: Vec<Relation>,
    targets: Vec<Target>,
    from: Vec<FromTree>,
    filter: Option<Expr>,
    group: Vec<SortItem>,
    having: Option<Expr>,
    order: Vec<SortItem>,
    limit: Option<String>,
    offset: Option<String>,
}

struct Analysis<'a> {
    catalog: &'a dyn ViewCatalog,
}

/// An identifier as PostgreSQL folds it.
fn folded(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn name_parts(n: &ObjectName) -> Option<Vec<String>> {
    n.0.iter()
        .map(|p| p.as_ident().map(folded))
        .collect::<Option<Vec<_>>>()
}

impl Analysis<'_> {
    fn query(&self, q: &AstQuery) -> Option<Query> {
        if q.with.is_some() || q.fetch.is_some() || !q.locks.is_empty() {
            return None;
        }
        let SetExpr::Select(select) = q.body.as_ref() else {
            return None;
        };
        let mut out = self.select(select)?;
        if let Some(order) = &q.order_by {
            let OrderByKind::Expressions(items) = &order.kind else {
                return None;
            };
            for item in items {
                let mut s = self.sort_item(&out, &item.expr, true)?;
                s.desc = item.options.asc == Some(false);
                s.nulls_first = item.options.nulls_first;
                out.order.push(s);
            }
        }
        match &q.limit_clause {
            None => {}
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) if limit_by.is_empty() => {
                out.limit = match limit {
                    Some(e) => Some(count_literal(e)?),
                    None => None,
                };
                out.offset = match offset {
                    Some(o) => Some(count_literal(&o.value)?),
                    None => None,
                };
            }
            Some(_) => return None,
        }
        Some(out)
    }

    fn select(&self, s: &Select) -> Option<Query> {
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || s.qualify.is_some()
            || !s.named_window.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.connect_by.is_some()
            || s.exclude.is_some()
        {
            return None;
        }
        let distinct = match &s.distinct {
            None => false,
            Some(Distinct::Distinct) => true,
            Some(_) => return None,
        };
        let mut q = Query {
            distinct,
            relations: Vec::new(),
            targets: Vec::new(),
            from: Vec::new(),
            filter: None,
            group: Vec::new(),
            having: None,
            order: Vec::new(),
            limit: None,
            offset: None,
        };
        for item in &s.from {
            let tree = self.range_item(&mut q, item)?;
            q.from.push(tree);
        }
        let mut names: Vec<&str> = q.relations.iter().map(|r| r.refname.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(opts) => {
                    if opts.opt_exclude.is_some()
                        || opts.opt_except.is_some()
                        || opts.opt_replace.is_some()
                        || opts.opt_rename.is_some()
                        || opts.opt_ilike.is_some()
                    {
                        return None;
                    }
                    let order = from_order(&q.from);
                    for i in order {
                        push_columns(&mut q.targets, &q.relations[i]);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let text = kind.to_string();
                    let name = text.strip_suffix(".*")?;
                    let r = q
                        .relations
                        .iter()
                        .find(|r| r.refname == name.to_lowercase())?;
                    let mut targets = std::mem::take(&mut q.targets);
                    push_columns(&mut targets, r);
                    q.targets = targets;
                }
                SelectItem::UnnamedExpr(e) => {
                    let expr = self.target_expr(&q, e)?;
                    q.targets.push(Target {
                        expr,
                        name: crate::pg_names::item_name(item)?,
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let e = self.target_expr(&q, expr)?;
                    q.targets.push(Target {
                        expr: e,
                        name: folded(alias),
                    });
                }
            }
        }
        if let Some(w) = &s.selection {
            q.filter = Some(self.boolean(&q, w)?);
        }
        match &s.group_by {
            GroupByExpr::Expressions(items, modifiers) if modifiers.is_empty() => {
                for e in items {
                    let g = self.sort_item(&q, e, false)?;
                    q.group.push(g);
                }
            }
            _ => return None,
        }
        if let Some(h) = &s.having {
            q.having = Some(self.boolean(&q, h)?);
        }
        Some(q)
    }

    fn range_item(&self, q: &mut Query, item: &TableWithJoins) -> Option<FromTree> {
        let mut tree = self.relation(q, &item.relation)?;
        for join in &item.joins {
            let right = self.relation(q, &join.relation)?;
            let (kind, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => ("JOIN", Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("LEFT JOIN", Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => ("RIGHT JOIN", Some(c)),
                JoinOperator::FullOuter(c) => ("FULL JOIN", Some(c)),
                JoinOperator::CrossJoin(JoinConstraint::None) => ("CROSS JOIN", None),
                _ => return None,
            };
            let on = match constraint {
                None => None,
                Some(JoinConstraint::On(e)) => Some(self.boolean(q, e)?),
                Some(_) => return None,
            };
            tree = FromTree::Join {
                left: Box::new(tree),
                right: Box::new(right),
                kind,
                on,
            };
        }
        Some(tree)
    }

    fn relation(&self, q: &mut Query, factor: &TableFactor) -> Option<FromTree> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            with_hints,
            version: None,
            with_ordinality: false,
            partitions,
            json_path: None,
            sample: None,
            index_hints,
        } = factor
        else {
            return None;
        };
        if !with_hints.is_empty() || !partitions.is_empty() || !index_hints.is_empty() {
            return None;
        }
        let parts = name_parts(name)?;
        let (schema, table) = match parts.as_slice() {
            [t] => (None, t.clone()),
            [s, t] => (Some(s.as_str()), t.clone()),
            _ => return None,
        };
        let (schema, columns) = self.catalog.relation(schema, &table)?;
        let alias_name = match alias {
            Some(a) if a.columns.is_empty() => Some(folded(&a.name)),
            Some(_) => return None,
            None => None,
        };
        q.relations.push(Relation {
            written: self.catalog.relation_name(&schema, &table),
            refname: alias_name.clone().unwrap_or_else(|| table.clone()),
            alias: alias_name,
            columns,
        });
        Some(FromTree::Relation(q.relations.len() - 1))
    }

    /// A target's expression: CASE is allowed here (its layout is the
    /// target list's).
    fn target_expr(&self, q: &Query, e: &Ast) -> Option<Expr> {
        let e = strip_nested(e);
        if let Ast::Case {
            operand: None,
            conditions,
            else_result,
            ..
        } = e
        {
            let mut whens = Vec::new();
            for c in conditions {
                whens.push((self.boolean(q, &c.condition)?, self.expr(q, &c.result)?));
            }
            let otherwise = match else_result {
                Some(x) => Some(self.expr(q, x)?),
                None => None,
            };
            let mut all: Vec<PgType> = whens.iter().map(|(_, r)| r.ty()).collect();
            all.extend(otherwise.iter().map(Expr::ty));
            let ty = types::common_type(&all)?;
            let whens = whens
                .into_iter()
                .map(|(w, r)| Some((w, r.coerce(ty)?)))
                .collect::<Option<Vec<_>>>()?;
            let otherwise = match otherwise {
                Some(o) => Some(Box::new(o.coerce(ty)?)),
                None => None,
            };
            return Some(Expr::Case {
                whens,
                otherwise,
                ty,
            });
        }
        let expr = self.expr(q, e)?;
        // A literal of unknown type in the output becomes text.
        if expr.ty().oid == types::UNKNOWN {
            return expr.coerce(PgType::of(types::TEXT));
        }
        Some(expr)
    }

    fn boolean(&self, q: &Query, e: &Ast) -> Option<Expr> {
        let x = self.expr(q, e)?;
        (x.ty().oid == types::BOOL).then_some(x)
    }

    /// A GROUP BY or ORDER BY item: a target's position, a target's name
    /// (ORDER BY only), or an expression.
    fn sort_item(&self, q: &Query, e: &Ast, by_name: bool) -> Option<SortItem> {
        let item = |i: usize| SortItem {
            expr: q.targets[i].expr.clone(),
            target: Some(i),
            desc: false,
            nulls_first: None,
        };
        if let Ast::Value(v) = e {
            if let Value::Number(n, _) = &v.value {
                let i: usize = n.parse().ok()?;
                return (1..=q.targets.len()).contains(&i).then(|| item(i - 1));
            }
        }
        if let (true, Ast::Identifier(id)) = (by_name, e) {
            let name = folded(id);
            if let Some(i) = q.targets.iter().position(|t| t.name == name) {
                return Some(item(i));
            }
        }
        let expr = self.expr(q, e)?;
        let target = q.targets.iter().position(|t| t.expr == expr);
        Some(SortItem {
            expr,
            target,
            desc: false,
            nulls_first: None,
        })
    }

    fn column(&self, q: &Query, relation: Option<&str>, name: &str) -> Option<Expr> {
        let mut found = q
            .relations
            .iter()
            .filter(|r| relation.is_none_or(|n| r.refname == n))
            .filter_map(|r| {
                r.columns
                    .iter()
                    .find(|(c, _)| c == name)
                    .map(|(c, ty)| Expr::Column {
                        relation: r.refname.clone(),
                        name: c.clone(),
                        ty: *ty,
                    })
            });
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    fn expr(&self, q: &Query, e: &Ast) -> Option<Expr> {
        match e {
            Ast::Nested(inner) => self.expr(q, inner),
            Ast::Identifier(id) => self.column(q, None, &folded(id)),
            Ast::CompoundIdentifier(parts) => match parts.as_slice() {
                [r, c] => self.column(q, Some(&folded(r)), &folded(c)),
                _ => None,
            },
            Ast::Value(v) => literal(&v.value, false),
            Ast::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => {
                if let Ast::Value(v) = expr.as_ref() {
                    return literal(&v.value, true);
                }
                let arg = self.expr(q, expr)?;
                let ty = arg.ty();
                ty.is_number().then(|| Expr::Op {
                    op: "-".into(),
                    left: None,
                    right: Box::new(arg),
                    ty,
                })
            }
            Ast::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => Some(Expr::Not(Box::new(self.boolean(q, expr)?))),
            Ast::BinaryOp { left, op, right } => match op {
                BinaryOperator::And => Some(Expr::And(self.connective(q, e, true)?)),
                BinaryOperator::Or => Some(Expr::Or(self.connective(q, e, false)?)),
                _ => {
                    let op = match op {
                        BinaryOperator::Eq => "=",
                        BinaryOperator::NotEq => "<>",
                        BinaryOperator::Lt => "<",
                        BinaryOperator::Gt => ">",
                        BinaryOperator::LtEq => "<=",
                        BinaryOperator::GtEq => ">=",
                        BinaryOperator::Plus => "+",
                        BinaryOperator::Minus => "-",
                        BinaryOperator::Multiply => "*",
                        BinaryOperator::Divide => "/",
                        BinaryOperator::Modulo => "%",
                        BinaryOperator::StringConcat => "||",
                        _ => return None,
                    };
                    binary(op, self.expr(q, left)?, self.expr(q, right)?)
                }
            },
            Ast::IsNull(x) | Ast::IsNotNull(x) => Some(Expr::NullTest {
                arg: Box::new(self.expr(q, x)?),
                negated: matches!(e, Ast::IsNotNull(_)),
            }),
            Ast::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.expr(q, expr)?;
                let (lo, hi) = (self.expr(q, low)?, self.expr(q, high)?);
                Some(if *negated {
                    Expr::Or(vec![binary("<", x.clone(), lo)?, binary(">", x, hi)?])
                } else {
                    Expr::And(vec![binary(">=", x.clone(), lo)?, binary("<=", x, hi)?])
                })
            }
            Ast::InList {
                expr,
                list,
                negated,
            } => {
                let items = list
                    .iter()
                    .map(|i| self.expr(q, i))
                    .collect::<Option<Vec<_>>>()?;
                in_list(self.expr(q, expr)?, items, *negated)
            }
            Ast::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            }
            | Ast::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => {
                let op = match (matches!(e, Ast::ILike { .. }), negated) {
                    (false, false) => "~~",
                    (false, true) => "!~~",
                    (true, false) => "~~*",
                    (true, true) => "!~~*",
                };
                binary(op, self.expr(q, expr)?, self.expr(q, pattern)?)
            }
            Ast::Cast {
                expr,
                data_type,
                format: None,
                ..
            } => {
                let to = cast_type(data_type)?;
                let arg = self.expr(q, expr)?;
                if arg.ty() == to {
                    return Some(arg);
                }
                arg.coerce(to)
            }
            Ast::Function(f) => self.function(q, f),
            _ => None,
        }
    }

    /// The operands of a chain of ANDs (or ORs), flattened on the left as
    /// PostgreSQL's grammar flattens them.
    fn connective(&self, q: &Query, e: &Ast, and: bool) -> Option<Vec<Expr>> {
        let wanted = if and {
            BinaryOperator::And
        } else {
            BinaryOperator::Or
        };
        let Ast::BinaryOp { left, op, right } = e else {
            return Some(vec![self.boolean(q, e)?]);
        };
        if *op != wanted {
            return Some(vec![self.boolean(q, e)?]);
        }
        let mut args = match strip_nested(left) {
            l @ Ast::BinaryOp { op, .. } if *op == wanted => self.connective(q, l, and)?,
            l => vec![self.boolean(q, l)?],
        };
        args.push(self.boolean(q, right)?);
        Some(args)
    }

    fn function(&self, q: &Query, f: &sqlparser::ast::Function) -> Option<Expr> {
        if f.filter.is_some()
            || f.over.is_some()
            || f.null_treatment.is_some()
            || !f.within_group.is_empty()
        {
            return None;
        }
        let [name] = name_parts(&f.name)?.try_into().ok()?;
        // The router's stand-ins (`floe_sum`) are PostgreSQL's functions.
        let name = crate::stand_ins::pg_name_of(&name).map_or(name, str::to_string);
        let FunctionArguments::List(list) = &f.args else {
            return None;
        };
        if !list.clauses.is_empty() {
            return None;
        }
        let distinct = matches!(
            list.duplicate_treatment,
            Some(sqlparser::ast::DuplicateTreatment::Distinct)
        );
        if name == "count"
            && matches!(
                list.args.as_slice(),
                [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
            )
        {
            return Some(Expr::Function {
                name,
                args: Vec::new(),
                star: true,
                distinct: false,
                aggregate: true,
                ty: PgType::of(types::INT8),
            });
        }
        let args = list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => self.expr(q, x),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        if name == "coalesce" {
            let ty = types::common_type(&args.iter().map(Expr::ty).collect::<Vec<_>>())?;
            let args = args
                .into_iter()
                .map(|a| a.coerce(ty))
                .collect::<Option<Vec<_>>>()?;
            return Some(Expr::Coalesce { args, ty });
        }
        if distinct && name != "count" {
            return None;
        }
        // The router's stand-ins for casts between zoned and zone-less types
        // (a view's stored query went through the router).
        let cast_to = match name.as_str() {
            "floe_as_date" => Some(types::DATE),
            "floe_as_timestamp" => Some(types::TIMESTAMP),
            "floe_as_timestamptz" => Some(types::TIMESTAMPTZ),
            "floe_as_text" => Some(types::TEXT),
            "floe_as_varchar" => Some(types::VARCHAR),
            _ => None,
        };
        if let Some(oid) = cast_to {
            let [arg] = <[Expr; 1]>::try_from(args).ok()?;
            let to = PgType::of(oid);
            return if arg.ty() == to {
                Some(arg)
            } else {
                arg.coerce(to)
            };
        }
        let call = |args: Vec<Expr>, ty: u32, aggregate: bool| Expr::Function {
            name: name.clone(),
            args,
            star: false,
            distinct,
            aggregate,
            ty: PgType::of(ty),
        };
        let [arg] = <[Expr; 1]>::try_from(args).ok()?;
        let t = arg.ty();
        let text = PgType::of(types::TEXT);
        Some(match name.as_str() {
            "count" => call(vec![arg], types::INT8, true),
            "sum" => {
                let ty = match t.oid {
                    types::INT2 | types::INT4 => types::INT8,
                    types::INT8 | types::NUMERIC => types::NUMERIC,
                    types::FLOAT4 | types::FLOAT8 => t.oid,
                    _ => return None,
                };
                call(vec![arg], ty, true)
            }
            "avg" => {
                let ty = match t.oid {
                    types::INT2 | types::INT4 | types::INT8 | types::NUMERIC => types::NUMERIC,
                    types::FLOAT4 | types::FLOAT8 => types::FLOAT8,
                    _ => return None,
                };
                call(vec![arg], ty, true)
            }
            "min" | "max" => {
                let arg = if t.oid == types::VARCHAR {
                    arg.coerce(text)?
                } else {
                    arg
                };
                let ty = arg.ty().oid;
                if ty == types::UNKNOWN {
                    return None;
                }
                call(vec![arg], ty, true)
            }
            "lower" | "upper" | "btrim" | "ltrim" | "rtrim" | "initcap" | "md5" => {
                call(vec![arg.coerce(text)?], types::TEXT, false)
            }
            "length" | "char_length" | "character_length" => {
                call(vec![arg.coerce(text)?], types::INT4, false)
            }
            "abs" if t.is_number() => call(vec![arg], t.oid, false),
            _ => return None,
        })
    }
}

fn strip_nested(e: &Ast) -> &Ast {
    match e {
        Ast::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// The relations of a FROM tree in the order `*` lists their columns.
fn from_order(from: &[FromTree]) -> Vec<usize> {
    fn walk(t: &FromTree, out: &mut Vec<usize>) {
        match t {
            FromTree::Relation(i) => out.push(*i),
            FromTree::Join { left, right, .. } => {
                walk(left, out);
                walk(right, out);
            }
        }
    }
    let mut out = Vec::new();
    for t in from {
        walk(t, &mut out);
    }
    out
}

fn push_columns(targets: &mut Vec<Target>, r: &Relation) {
    for (name, ty) in &r.columns {
        targets.push(Target {
            expr: Expr::Column {
                relation: r.refname.clone(),
                name: name.clone(),
                ty: *ty,
            },
            name: name.clone(),
        });
    }
}

/// A literal's constant; `negative` for one written after a minus sign.
fn literal(v: &Value, negative: bool) -> Option<Expr> {
    let c = |text: Option<String>, oid: u32| {
        Some(Expr::Const(Const {
            text,
            ty: PgType::of(oid),
        }))
    };
    match v {
        Value::Number(n, _) => {
            if n.contains(['e', 'E']) {
                return None;
            }
            let text = if negative { format!("-{n}") } else { n.clone() };
            if n.contains('.') {
                return c(Some(text), types::NUMERIC);
            }
            if let Ok(i) = text.parse::<i64>() {
                let oid = if i32::try_from(i).is_ok() {
                    types::INT4
                } else {
                    types::INT8
                };
                return c(Some(i.to_string()), oid);
            }
            c(Some(text), types::NUMERIC)
        }
        _ if negative => None,
        Value::SingleQuotedString(s) => c(Some(s.clone()), types::UNKNOWN),
        Value::Boolean(b) => c(Some(b.to_string()), types::BOOL),
        Value::Null => c(None, types::UNKNOWN),
        _ => None,
    }
}

/// LIMIT's and OFFSET's count, as written (a whole number).
fn count_literal(e: &Ast) -> Option<String> {
    match e {
        Ast::Value(v) => match &v.value {
            Value::Number(n, _) if n.chars().all(|c| c.is_ascii_digit()) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The type a cast names.
fn cast_type(t: &DataType) -> Option<PgType> {
    use sqlparser::ast::{CharacterLength, ExactNumberInfo, TimezoneInfo};
    let length = |l: &Option<CharacterLength>| match l {
        None => Some(-1),
        Some(CharacterLength::IntegerLength { length, unit: None }) => {
            i32::try_from(*length).ok().map(|n| n + 4)
        }
        Some(_) => None,
    };
    let of = |oid| Some(PgType::of(oid));
    match t {
        DataType::Int(None) | DataType::Integer(None) | DataType::Int4(None) => of(types::INT4),
        DataType::BigInt(None) | DataType::Int8(None) => of(types::INT8),
        DataType::SmallInt(None) | DataType::Int2(None) => of(types::INT2),
        DataType::Text => of(types::TEXT),
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::CharVarying(l) => {
            Some(PgType {
                oid: types::VARCHAR,
                typmod: length(l)?,
            })
        }
        DataType::Char(l) | DataType::Character(l) => {
            let typmod = length(l)?;
            Some(PgType {
                oid: types::BPCHAR,
                typmod: if typmod < 0 { 5 } else { typmod },
            })
        }
        DataType::Numeric(info) | DataType::Decimal(info) => match info {
            ExactNumberInfo::None => of(types::NUMERIC),
            ExactNumberInfo::Precision(p) => Some(PgType {
                oid: types::NUMERIC,
                typmod: (i32::try_from(*p).ok()? << 16) + 4,
            }),
            ExactNumberInfo::PrecisionAndScale(p, s) => Some(PgType {
                oid: types::NUMERIC,
                typmod: ((i32::try_from(*p).ok()? << 16) | i32::try_from(*s).ok()?) + 4,
            }),
        },
        DataType::Real | DataType::Float4 => of(types::FLOAT4),
        DataType::DoublePrecision | DataType::Float8 => of(types::FLOAT8),
        DataType::Bool | DataType::Boolean => of(types::BOOL),
        DataType::Date => of(types::DATE),
        DataType::Timestamp(None, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            of(types::TIMESTAMP)
        }
        DataType::Timestamp(None, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            of(types::TIMESTAMPTZ)
        }
        DataType::Custom(name, mods) if mods.is_empty() => {
            let [n] = name_parts(name)?.try_into().ok()?;
            match n.as_str() {
                "int4" => of(types::INT4),
                "int8" => of(types::INT8),
                "int2" => of(types::INT2),
                "float8" => of(types::FLOAT8),
                "float4" => of(types::FLOAT4),
                "timestamptz" => of(types::TIMESTAMPTZ),
                "bpchar" => of(types::BPCHAR),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
