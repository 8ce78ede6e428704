//! Which function calls let a statement be answered from the result cache: an
//! allowlist built from the engine's own function catalog. A name is allowed
//! when every function of that name is a scalar, aggregate or window function
//! the engine declares CONSISTENT (same arguments, same answer), or a macro
//! (the engine's or one of Floe's session macros) whose definition calls only
//! allowed names; a few table functions that read only their arguments (the
//! lake's Parquet scans among them) are added. Anything else — `random()`,
//! `now()` and the other clock functions, `nextval`, a table macro, a name the
//! engine does not know — keeps a statement out of the cache. Verdicts are
//! kept per name: Floe's macros have one definition in every session.

use std::collections::HashMap;

use parking_lot::RwLock;

use floe_sql::tokens::{Tok, Token};

use crate::engine::duck::{Connection, DuckError, Value};

/// Table functions whose rows depend on their arguments alone.
const STABLE_TABLE_FUNCTIONS: &[&str] = &[
    "read_parquet",
    "parquet_scan",
    "range",
    "generate_series",
    "unnest",
];

/// Words that may stand before `(` without calling a function.
const KEYWORDS_BEFORE_PARENTHESES: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "between",
    "by",
    "case",
    "cast",
    "coalesce",
    "cube",
    "distinct",
    "else",
    "except",
    "exists",
    "extract",
    "filter",
    "from",
    "grouping",
    "having",
    "in",
    "intersect",
    "is",
    "join",
    "lateral",
    "like",
    "ilike",
    "not",
    "nullif",
    "on",
    "or",
    "over",
    "position",
    "rollup",
    "row",
    "select",
    "sets",
    "some",
    "struct",
    "substring",
    "then",
    "trim",
    "try_cast",
    "union",
    "using",
    "values",
    "when",
    "where",
    "with",
    "within",
];

/// Clock and session words that are calls without parentheses.
const UNSTABLE_BARE_WORDS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_query",
];

/// Macros inside macros are followed this deep; deeper is not allowed.
const MAX_MACRO_DEPTH: usize = 8;

/// The engine's functions of one name, as its catalog lists them.
struct Function {
    kind: String,
    stability: String,
    macro_definition: String,
}

/// The functions a cached statement may call.
#[derive(Default)]
pub struct StableCalls {
    verdicts: RwLock<HashMap<String, bool>>,
}

impl StableCalls {
    pub fn new() -> StableCalls {
        StableCalls::default()
    }

    /// The first call in `tokens` that keeps the statement out of the cache,
    /// or `None` when every call is allowed; names not judged yet are looked
    /// up through `conn`.
    pub fn first_unstable(&self, conn: &Connection, tokens: &[Token]) -> Option<String> {
        self.first_unstable_with(tokens, 0, &mut |name| lookup(conn, name))
    }

    fn first_unstable_with(
        &self,
        tokens: &[Token],
        depth: usize,
        catalog: &mut dyn FnMut(&str) -> Result<Vec<Function>, DuckError>,
    ) -> Option<String> {
        for word in words(tokens) {
            match word {
                Word::Clock(name) => return Some(name),
                Word::Call(name) if !self.allowed(&name, depth, catalog) => {
                    return Some(format!("{name}()"))
                }
                Word::Call(_) => {}
            }
        }
        None
    }

    fn allowed(
        &self,
        name: &str,
        depth: usize,
        catalog: &mut dyn FnMut(&str) -> Result<Vec<Function>, DuckError>,
    ) -> bool {
        if let Some(v) = self.verdicts.read().get(name) {
            return *v;
        }
        // Deep nesting (a macro calling itself among them) is not allowed;
        // nothing is remembered of a judgment cut short by it.
        if depth >= MAX_MACRO_DEPTH {
            return false;
        }
        let verdict = match catalog(name) {
            Ok(functions) => {
                // A table function answers only in FROM, where the policy
                // admits generators alone: it decides only for a name that is
                // nothing else.
                let others: Vec<&Function> =
                    functions.iter().filter(|f| f.kind != "table").collect();
                if others.is_empty() {
                    !functions.is_empty() && STABLE_TABLE_FUNCTIONS.contains(&name)
                } else {
                    others.iter().all(|f| self.stable(f, depth, catalog))
                }
            }
            Err(_) => false,
        };
        // A verdict reached only at the depth bound may be too strict for
        // the name on its own: only verdicts from the top are remembered.
        if depth == 0 || verdict {
            self.verdicts.write().insert(name.to_string(), verdict);
        }
        verdict
    }

    fn stable(
        &self,
        f: &Function,
        depth: usize,
        catalog: &mut dyn FnMut(&str) -> Result<Vec<Function>, DuckError>,
    ) -> bool {
        match f.kind.as_str() {
            "scalar" | "aggregate" | "window" => f.stability == "CONSISTENT",
            "macro" => {
                let tokens = floe_sql::tokens::tokenize(&f.macro_definition);
                self.first_unstable_with(&tokens, depth + 1, catalog)
                    .is_none()
            }
            _ => false,
        }
    }
}

/// A word of a statement that matters to the cache.
enum Word {
    /// A function called by name.
    Call(String),
    /// A clock word (`current_timestamp`): a call without parentheses.
    Clock(String),
}

/// The calls and clock words of `tokens`, in order.
fn words(tokens: &[Token]) -> Vec<Word> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let name = match &t.tok {
            Tok::Word(w) => w.to_lowercase(),
            Tok::QuotedIdent(w) => w.clone(),
            _ => continue,
        };
        let called = matches!(tokens.get(i + 1).map(|t| &t.tok), Some(Tok::Punct('(')));
        if !called {
            if UNSTABLE_BARE_WORDS.contains(&name.as_str()) && matches!(t.tok, Tok::Word(_)) {
                out.push(Word::Clock(name));
            }
            continue;
        }
        // A type's modifiers (`numeric(10, 2)` after `::` or AS) are no call.
        let after_cast = match i.checked_sub(1).map(|p| &tokens[p].tok) {
            Some(Tok::Punct(':')) => true,
            Some(Tok::Word(w)) => w.eq_ignore_ascii_case("as"),
            _ => false,
        };
        if after_cast
            || (matches!(t.tok, Tok::Word(_))
                && KEYWORDS_BEFORE_PARENTHESES.contains(&name.as_str()))
        {
            continue;
        }
        out.push(Word::Call(name));
    }
    out
}

/// The engine's functions named `name`.
fn lookup(conn: &Connection, name: &str) -> Result<Vec<Function>, DuckError> {
    let mut stmt = conn.prepare(
        "SELECT function_type, coalesce(stability, ''), coalesce(macro_definition, '') \
         FROM duckdb_functions() WHERE function_name = $1",
    )?;
    stmt.bind(0, &Value::varchar(name))?;
    let mut result = stmt.execute(false)?;
    let mut functions = Vec::new();
    while let Some(chunk) = result.fetch()? {
        let text = |col: usize, row: usize| -> String {
            let v = chunk.vector(col);
            if !v.is_valid(row) {
                return String::new();
            }
            // SAFETY: the three columns are VARCHAR and `row` is in the chunk.
            String::from_utf8_lossy(unsafe { v.get_bytes(row) }).into_owned()
        };
        for row in 0..chunk.len() {
            functions.push(Function {
                kind: text(0, row),
                stability: text(1, row),
                macro_definition: text(2, row),
            });
        }
    }
    Ok(functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: &str, stability: &str, def: &str) -> Function {
        Function {
            kind: kind.into(),
            stability: stability.into(),
            macro_definition: def.into(),
        }
    }

    fn catalog(name: &str) -> Result<Vec<Function>, DuckError> {
        Ok(match name {
            "sum" => vec![f("aggregate", "CONSISTENT", "")],
            "date_trunc" => vec![f("scalar", "CONSISTENT", "")],
            "repeat" => vec![f("scalar", "CONSISTENT", ""), f("table", "", "")],
            "random" => vec![f("scalar", "VOLATILE", "")],
            "now" => vec![f("scalar", "CONSISTENT_WITHIN_QUERY", "")],
            "ago" => vec![f("macro", "", "(current_timestamp - CAST(i AS INTERVAL))")],
            "floe_sum" => vec![f("macro", "", "CAST(sum(x) AS BIGINT)")],
            "floe_jitter" => vec![f("macro", "", "x + random()")],
            "floe_loop" => vec![f("macro", "", "floe_loop(x)")],
            "floe_rows" => vec![f("table_macro", "", "SELECT 1")],
            "read_parquet" | "read_csv" => vec![f("table", "", "")],
            _ => vec![],
        })
    }

    fn unstable(sql: &str) -> Option<String> {
        StableCalls::new().first_unstable_with(&floe_sql::tokens::tokenize(sql), 0, &mut catalog)
    }

    #[test]
    fn consistent_functions_pass_and_others_do_not() {
        assert_eq!(
            unstable("SELECT sum(x), date_trunc('day', t) FROM read_parquet(['a'])"),
            None
        );
        assert_eq!(
            unstable("SELECT x::numeric(10, 2), CAST(y AS varchar(3)) WHERE z IN (1)"),
            None
        );
        assert_eq!(unstable("SELECT repeat('x', 3), floe_sum(n)"), None);
        assert_eq!(unstable("SELECT random()").as_deref(), Some("random()"));
        assert_eq!(
            unstable("SELECT pg_catalog.NOW()").as_deref(),
            Some("now()")
        );
        assert_eq!(
            unstable("SELECT ago(INTERVAL 1 DAY)").as_deref(),
            Some("ago()")
        );
        assert_eq!(
            unstable("SELECT floe_jitter(1)").as_deref(),
            Some("floe_jitter()")
        );
        assert_eq!(
            unstable("SELECT floe_loop(1)").as_deref(),
            Some("floe_loop()")
        );
        assert_eq!(
            unstable("SELECT * FROM floe_rows()").as_deref(),
            Some("floe_rows()")
        );
        assert_eq!(
            unstable("SELECT * FROM read_csv('x')").as_deref(),
            Some("read_csv()")
        );
        assert_eq!(
            unstable("SELECT unknown_fn(1)").as_deref(),
            Some("unknown_fn()")
        );
        assert_eq!(unstable("SELECT \"random\"()").as_deref(), Some("random()"));
        assert_eq!(
            unstable("SELECT current_timestamp").as_deref(),
            Some("current_timestamp")
        );
        assert_eq!(unstable("SELECT 'now()', \"current_date\" FROM t"), None);
    }
}
