//! Cursors: `DECLARE … CURSOR`, `FETCH`, `MOVE`, `CLOSE` and `pg_cursors`, as
//! PostgreSQL runs them (psql's `FETCH_COUNT`, psycopg's named cursors,
//! Tableau and ODBC drivers use them). DECLARE runs the query once and keeps
//! its rows, in order, in a temporary engine table of the session; every FETCH
//! and MOVE then reads a range of row positions from it. So every direction
//! PostgreSQL allows works on every cursor (`NEXT`, `PRIOR`, `FIRST`, `LAST`,
//! `ABSOLUTE`, `RELATIVE`, `FORWARD`/`BACKWARD` n or ALL), and a `WITH HOLD`
//! cursor outlives its transaction with the rows of its snapshot, as
//! PostgreSQL's held cursors do once materialised. A cursor declared
//! `NO SCROLL` refuses to move backward, as in PostgreSQL.
//!
//! Cursors end as PostgreSQL ends them: at COMMIT unless held, at ROLLBACK if
//! declared in the transaction, at ROLLBACK TO if declared after the savepoint,
//! at CLOSE, CLOSE ALL, DISCARD ALL and the end of the session.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::SystemTime;

use super::{DuckStatement, Portal, SResult, Session, Statement, StatementKind, Tag, TxnState};
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use crate::wire::{self, Field};
use floe_sql::quote::literal;
use floe_sql::tokens::{Tok, Token};

/// Open cursors a session may hold at once (each keeps its rows).
const MAX_CURSORS: usize = 256;

/// Where a FETCH or MOVE goes, relative to the cursor's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Motion {
    /// `n` rows forward (negative: backward); `i64::MAX` is ALL; 0 is the
    /// current row again.
    Step(i64),
    /// To row `n` (negative: from the end; 0: before the first row).
    Absolute(i64),
    /// To the row `n` away from the current one.
    Relative(i64),
}

/// A cursor statement, parsed.
pub(super) enum CursorCommand {
    Declare(Declare),
    Fetch {
        motion: Motion,
        name: String,
        /// MOVE: position only, no rows.
        only_move: bool,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close(Option<String>),
}

pub(super) struct Declare {
    name: String,
    binary: bool,
    /// `SCROLL` (true), `NO SCROLL` (false), or neither.
    scroll: Option<bool>,
    hold: bool,
    /// The cursor's query, prepared like any statement (lake tables planned).
    query: Rc<Statement>,
}

/// An open cursor.
pub(super) struct Cursor {
    /// The session table holding its rows (`floe_pos` 1..=rows, then the
    /// columns `c1`…`cn`).
    table: String,
    fields: Vec<Field>,
    rows: u64,
    /// 0 before the first row, 1..=rows on a row, rows + 1 after the last.
    pos: u64,
    binary: bool,
    scroll: Option<bool>,
    hold: bool,
    /// The DECLARE statement, as `pg_cursors.statement` shows it.
    statement: String,
    created: SystemTime,
    /// Declared in the open transaction (a ROLLBACK closes it).
    in_open_txn: bool,
    /// Savepoints open when it was declared (a ROLLBACK TO an earlier one
    /// closes it).
    savepoint_depth: usize,
}

/// The session's open cursors and the counter naming their tables.
#[derive(Default)]
pub(super) struct Cursors {
    open: HashMap<String, Cursor>,
    next_table: u64,
}

impl Cursors {
    pub(super) fn any_open(&self) -> bool {
        !self.open.is_empty()
    }

    pub(super) fn fields(&self, name: &str) -> Option<Vec<Field>> {
        self.open.get(name).map(|c| c.fields.clone())
    }

    /// A cursor's columns and whether it sends them in binary.
    pub(super) fn description(&self, name: &str) -> Option<(Vec<Field>, bool)> {
        self.open.get(name).map(|c| (c.fields.clone(), c.binary))
    }
}

fn syntax_error(near: &str) -> PgError {
    PgError::new(
        sqlstate::SYNTAX_ERROR,
        format!("syntax error at or near \"{near}\""),
    )
}

fn no_such_cursor(name: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

fn token_text(t: &Token, sql: &str) -> String {
    sql.get(t.span.clone()).unwrap_or_default().to_string()
}

/// Whether `tokens` start a cursor statement (DECLARE, FETCH, MOVE, CLOSE).
pub(super) fn is_cursor_statement(tokens: &[Token]) -> bool {
    tokens.first().is_some_and(|t| {
        ["DECLARE", "FETCH", "MOVE", "CLOSE"]
            .iter()
            .any(|w| t.is_word(w))
    })
}

/// The cursor name ending a FETCH, MOVE or CLOSE.
fn cursor_name(t: &Token, sql: &str) -> Result<String, PgError> {
    floe_sql::tokens::identifier(t).ok_or_else(|| syntax_error(&token_text(t, sql)))
}

/// A possibly signed integer count at `tokens[i..]`; returns it and the
/// tokens it took.
fn count_at(tokens: &[Token], i: usize, sql: &str) -> Option<Result<(i64, usize), PgError>> {
    let (negative, at) = match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Punct('-')) => (true, i + 1),
        Some(Tok::Punct('+')) => (false, i + 1),
        _ => (false, i),
    };
    let t = tokens.get(at)?;
    let Tok::Number(digits) = &t.tok else {
        return (at > i).then(|| Err(syntax_error(&token_text(t, sql))));
    };
    let parsed = digits
        .parse::<i64>()
        .map_err(|_| syntax_error(&token_text(t, sql)));
    Some(parsed.map(|n| (if negative { -n } else { n }, at + 1 - i)))
}

/// Parses `[direction] [FROM | IN] name` after FETCH or MOVE.
fn parse_fetch(tokens: &[Token], sql: &str) -> Result<(Motion, String), PgError> {
    let end_of = || syntax_error("end of input");
    let name_token = tokens.last().ok_or_else(end_of)?;
    let name = cursor_name(name_token, sql)?;
    let mut body = &tokens[..tokens.len() - 1];
    if let Some(last) = body.last() {
        if last.is_word("FROM") || last.is_word("IN") {
            body = &body[..body.len() - 1];
        }
    }
    let word = |i: usize| {
        body.get(i).and_then(|t| match &t.tok {
            Tok::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
    };
    let count = |i: usize| -> Result<(i64, usize), PgError> {
        count_at(body, i, sql).unwrap_or_else(|| {
            Err(body
                .get(i)
                .map(|t| syntax_error(&token_text(t, sql)))
                .unwrap_or_else(|| syntax_error(&name)))
        })
    };
    let (motion, used) = match word(0).as_deref() {
        None if body.is_empty() => (Motion::Step(1), 0),
        Some("NEXT") => (Motion::Step(1), 1),
        Some("PRIOR") => (Motion::Step(-1), 1),
        Some("FIRST") => (Motion::Absolute(1), 1),
        Some("LAST") => (Motion::Absolute(-1), 1),
        Some("ALL") => (Motion::Step(i64::MAX), 1),
        Some("ABSOLUTE") => {
            let (n, k) = count(1)?;
            (Motion::Absolute(n), 1 + k)
        }
        Some("RELATIVE") => {
            let (n, k) = count(1)?;
            (Motion::Relative(n), 1 + k)
        }
        Some(dir @ ("FORWARD" | "BACKWARD")) => {
            let sign = if dir == "FORWARD" { 1 } else { -1 };
            match word(1).as_deref() {
                Some("ALL") => (Motion::Step(sign * i64::MAX), 2),
                _ if body.len() == 1 => (Motion::Step(sign), 1),
                _ => {
                    let (n, k) = count(1)?;
                    (Motion::Step(sign * n), 1 + k)
                }
            }
        }
        _ => {
            let (n, k) = count(0)?;
            (Motion::Step(n), k)
        }
    };
    if let Some(extra) = body.get(used) {
        return Err(syntax_error(&token_text(extra, sql)));
    }
    Ok((motion, name))
}

/// The options between `DECLARE name` and `FOR`, and where the query starts.
struct DeclareHead {
    name: String,
    binary: bool,
    scroll: Option<bool>,
    hold: bool,
    query_start: usize,
}

fn parse_declare_head(tokens: &[Token], sql: &str) -> Result<DeclareHead, PgError> {
    let name = cursor_name(
        tokens.get(1).ok_or_else(|| syntax_error("end of input"))?,
        sql,
    )?;
    let mut head = DeclareHead {
        name,
        binary: false,
        scroll: None,
        hold: false,
        query_start: sql.len(),
    };
    let mut i = 2;
    let mut seen_cursor = false;
    while let Some(t) = tokens.get(i) {
        let upper = match &t.tok {
            Tok::Word(w) => w.to_ascii_uppercase(),
            _ => return Err(syntax_error(&token_text(t, sql))),
        };
        match upper.as_str() {
            "BINARY" if !seen_cursor => head.binary = true,
            "ASENSITIVE" | "INSENSITIVE" if !seen_cursor => {}
            "SCROLL" if !seen_cursor => head.scroll = Some(true),
            "NO" if !seen_cursor && tokens.get(i + 1).is_some_and(|t| t.is_word("SCROLL")) => {
                head.scroll = Some(false);
                i += 1;
            }
            "CURSOR" if !seen_cursor => seen_cursor = true,
            "WITH" | "WITHOUT"
                if seen_cursor && tokens.get(i + 1).is_some_and(|t| t.is_word("HOLD")) =>
            {
                head.hold = upper == "WITH";
                i += 1;
            }
            "FOR" if seen_cursor => {
                head.query_start = tokens
                    .get(i + 1)
                    .map(|q| q.span.start)
                    .ok_or_else(|| syntax_error("end of input"))?;
                return Ok(head);
            }
            _ => return Err(syntax_error(&token_text(t, sql))),
        }
        i += 1;
    }
    Err(syntax_error("end of input"))
}

/// Prepares a DECLARE's query from its text and tokens.
type PrepareQuery<'a> = dyn FnMut(&str, &[Token]) -> SResult<Rc<Statement>> + 'a;

/// Reads a DECLARE, FETCH, MOVE or CLOSE statement; a DECLARE's query is
/// prepared by `prepare_query`.
pub(super) fn parse(
    sql: &str,
    tokens: &[Token],
    prepare_query: &mut PrepareQuery<'_>,
) -> SResult<CursorCommand> {
    let tokens: Vec<Token> = tokens
        .iter()
        .filter(|t| t.tok != Tok::Punct(';'))
        .cloned()
        .collect();
    let first = tokens.first().map(|t| t.is_word("DECLARE"));
    if first == Some(true) {
        let head = parse_declare_head(&tokens, sql)?;
        let text = sql[head.query_start..].trim_end().trim_end_matches(';');
        let query_tokens = floe_sql::tokens::tokenize(text);
        // DECLARE takes a SELECT (or VALUES, TABLE, WITH … SELECT) only.
        let opens_query = query_tokens.first().is_some_and(|t| {
            ["SELECT", "VALUES", "WITH", "TABLE"]
                .iter()
                .any(|w| t.is_word(w))
                || t.tok == Tok::Punct('(')
        });
        if !opens_query {
            let near = query_tokens
                .first()
                .map(|t| token_text(t, text))
                .unwrap_or_else(|| "end of input".into());
            return Err(syntax_error(&near).into());
        }
        let query = prepare_query(text, &query_tokens)?;
        let is_select = matches!(
            &query.kind,
            StatementKind::Duck(d) if d.returns_rows && !d.modifies && d.lake_commit.is_none()
                && matches!(d.tag, Tag::Select)
        );
        if !is_select || query.fields.is_none() {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "DECLARE CURSOR must not contain data-modifying statements",
            )
            .into());
        }
        return Ok(CursorCommand::Declare(Declare {
            name: head.name,
            binary: head.binary,
            scroll: head.scroll,
            hold: head.hold,
            query,
        }));
    }
    let rest = &tokens[1..];
    if tokens[0].is_word("CLOSE") {
        return match rest {
            [all] if all.is_word("ALL") => Ok(CursorCommand::Close(None)),
            [name] => Ok(CursorCommand::Close(Some(cursor_name(name, sql)?))),
            [] => Err(syntax_error("end of input").into()),
            [_, extra, ..] => Err(syntax_error(&token_text(extra, sql)).into()),
        };
    }
    let (motion, name) = parse_fetch(rest, sql)?;
    Ok(CursorCommand::Fetch {
        motion,
        name,
        only_move: tokens[0].is_word("MOVE"),
    })
}

/// The rows a motion reads and where it leaves the cursor.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// First and last row positions read, in reading order (first > last
    /// reads backward); `None` when no row is read.
    rows: Option<(u64, u64)>,
    count: u64,
    pos: u64,
}

/// Plans `motion` on a cursor of `total` rows at `pos`.
fn plan(motion: Motion, pos: u64, total: u64) -> Plan {
    let after = total + 1;
    let land = |target: i128| -> Plan {
        if target < 1 {
            Plan {
                rows: None,
                count: 0,
                pos: 0,
            }
        } else if target > total as i128 {
            Plan {
                rows: None,
                count: 0,
                pos: after,
            }
        } else {
            let t = target as u64;
            Plan {
                rows: Some((t, t)),
                count: 1,
                pos: t,
            }
        }
    };
    match motion {
        Motion::Step(0) | Motion::Relative(0) => {
            if pos >= 1 && pos <= total {
                Plan {
                    rows: Some((pos, pos)),
                    count: 1,
                    pos,
                }
            } else {
                Plan {
                    rows: None,
                    count: 0,
                    pos,
                }
            }
        }
        Motion::Step(n) if n > 0 => {
            let want = n as u64;
            let first = pos + 1;
            if first > total {
                return Plan {
                    rows: None,
                    count: 0,
                    pos: after,
                };
            }
            let last = pos.saturating_add(want).min(total);
            let count = last - first + 1;
            let pos = if count < want { after } else { pos + want };
            Plan {
                rows: Some((first, last)),
                count,
                pos,
            }
        }
        Motion::Step(n) => {
            let want = n.unsigned_abs();
            if pos <= 1 {
                return Plan {
                    rows: None,
                    count: 0,
                    pos: 0,
                };
            }
            let first = (pos - 1).min(total);
            let last = pos.saturating_sub(want).max(1);
            let count = first - last + 1;
            let pos = if count < want { 0 } else { pos - want };
            Plan {
                rows: Some((first, last)),
                count,
                pos,
            }
        }
        Motion::Absolute(n) => land(if n >= 0 {
            n as i128
        } else {
            after as i128 + n as i128
        }),
        Motion::Relative(n) => land(pos as i128 + n as i128),
    }
}

/// Whether `motion` needs to read backward from `pos`.
fn goes_backward(motion: Motion, pos: u64, total: u64) -> bool {
    match motion {
        Motion::Step(n) => n < 0 || (n == 0 && pos >= 1),
        Motion::Relative(n) => n < 0 || (n == 0 && pos >= 1),
        Motion::Absolute(_) => {
            let p = plan(motion, pos, total);
            p.pos < pos || (p.pos == pos && p.count > 0)
        }
    }
}

impl Session {
    /// The statement for a cursor command: a FETCH is described by its cursor
    /// when that is open.
    pub(super) fn prepare_cursor_command(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        let types = client_types.to_vec();
        let cmd = parse(sql, tokens, &mut |text, toks| {
            self.prepare_statement_once(text, toks, &types)
        })?;
        let (fields, param_types) = match &cmd {
            CursorCommand::Declare(d) => (None, d.query.param_types.clone()),
            CursorCommand::Fetch {
                name,
                only_move: false,
                ..
            } => (self.cursors.fields(name), client_types.to_vec()),
            _ => (None, client_types.to_vec()),
        };
        Ok(Rc::new(Statement {
            sql: sql.to_string(),
            kind: StatementKind::Cursor(cmd),
            param_types,
            fields,
            client_types: client_types.to_vec(),
            lake_snapshots: Vec::new(),
            _lake_pins: Vec::new(),
        }))
    }

    pub(super) fn run_cursor_command(
        &mut self,
        portal: &mut Portal,
        cmd: &CursorCommand,
    ) -> SResult<()> {
        match cmd {
            CursorCommand::Declare(d) => self.declare_cursor(portal, d),
            CursorCommand::Fetch {
                motion,
                name,
                only_move,
            } => self.fetch_cursor(portal, *motion, name, *only_move),
            CursorCommand::Close(name) => {
                let tag = match name {
                    Some(name) => {
                        let cursor = self.cursors.open.remove(name);
                        let cursor = cursor.ok_or_else(|| no_such_cursor(name))?;
                        self.drop_cursor_table(&cursor);
                        "CLOSE CURSOR"
                    }
                    None => {
                        self.close_cursors(|_| true);
                        "CLOSE CURSOR ALL"
                    }
                };
                self.publish_cursor_list();
                wire::command_complete(&mut self.out, tag);
                Ok(())
            }
        }
    }

    fn declare_cursor(&mut self, portal: &Portal, d: &Declare) -> SResult<()> {
        if self.cursors.open.contains_key(&d.name) {
            return Err(PgError::new(
                sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{}\" already exists", d.name),
            )
            .into());
        }
        if !d.hold && self.txn == TxnState::Idle {
            return Err(PgError::new(
                sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            )
            .into());
        }
        if self.cursors.open.len() >= MAX_CURSORS {
            return Err(PgError::new(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("a session may hold at most {MAX_CURSORS} open cursors"),
            )
            .into());
        }
        let (StatementKind::Duck(query), Some(fields)) = (&d.query.kind, &d.query.fields) else {
            return Err(
                PgError::new(sqlstate::INTERNAL_ERROR, "cursor query is not a query").into(),
            );
        };
        self.cursors.next_table += 1;
        let table = format!("floe_cursor_{}", self.cursors.next_table);
        let columns: Vec<String> = (1..=fields.len()).map(|i| format!("c{i}")).collect();
        // Each row keeps its position in the query's order: the engine
        // numbers rows of an unordered window as they stream, in order.
        let ctas = format!(
            "CREATE TEMP TABLE {table} AS SELECT row_number() OVER () AS floe_pos, * \
             FROM ({}\n) AS floe_cursor_rows({})",
            query.engine_sql,
            columns.join(", ")
        );
        let mut created = self.run_engine_statement(&ctas, &portal.params)?;
        let rows = super::count_from_result(&mut created)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        drop(created);
        self.cursors.open.insert(
            d.name.clone(),
            Cursor {
                table,
                fields: fields.clone(),
                rows,
                pos: 0,
                binary: d.binary,
                scroll: d.scroll,
                hold: d.hold,
                statement: portal.stmt.sql.clone(),
                created: SystemTime::now(),
                in_open_txn: self.txn != TxnState::Idle || self.implicit_open,
                savepoint_depth: self.savepoints.len(),
            },
        );
        self.publish_cursor_list();
        wire::command_complete(&mut self.out, "DECLARE CURSOR");
        Ok(())
    }

    /// Runs one statement of the session's own making (a cursor's rows, an
    /// EXPLAIN) with `params` bound, under the statement timeout and cancel.
    pub(super) fn run_engine_statement(
        &mut self,
        sql: &str,
        params: &[crate::engine::duck::Value],
    ) -> SResult<crate::engine::duck::QueryResult> {
        self.close_all_streams();
        let mut prepared = self
            .conn
            .prepare(sql)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        for (i, v) in params.iter().enumerate() {
            prepared
                .bind(i, v)
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        let seq = self.control.begin();
        self.arm_timeout(seq);
        let exec = prepared.execute(false);
        let reason = self.control.end();
        exec.map_err(|e| self.engine_error(&e.message, sql, reason).into())
    }

    fn fetch_cursor(
        &mut self,
        portal: &mut Portal,
        motion: Motion,
        name: &str,
        only_move: bool,
    ) -> SResult<()> {
        let cursor = self
            .cursors
            .open
            .get_mut(name)
            .ok_or_else(|| no_such_cursor(name))?;
        if cursor.scroll == Some(false) && goes_backward(motion, cursor.pos, cursor.rows) {
            return Err(PgError::new(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "cursor can only scan forward",
            )
            .with_hint("Declare it with SCROLL option to enable backward scan.")
            .into());
        }
        let planned = plan(motion, cursor.pos, cursor.rows);
        cursor.pos = planned.pos;
        if only_move {
            wire::command_complete(&mut self.out, &format!("MOVE {}", planned.count));
            return Ok(());
        }
        let (lo, hi, order) = match planned.rows {
            Some((a, b)) if a <= b => (a, b, "ASC"),
            Some((a, b)) => (b, a, "DESC"),
            // No row: an empty range still describes the columns.
            None => (1, 0, "ASC"),
        };
        let columns: Vec<String> = (1..=cursor.fields.len()).map(|i| format!("c{i}")).collect();
        let select = format!(
            "SELECT {} FROM temp.main.{} WHERE floe_pos BETWEEN {lo} AND {hi} ORDER BY floe_pos {order}",
            columns.join(", "),
            cursor.table,
        );
        let fields = cursor.fields.clone();
        let binary = if portal.binary.is_empty() && cursor.binary {
            vec![true; fields.len()]
        } else {
            portal.binary.clone()
        };
        self.close_all_streams();
        let prepared = self
            .conn
            .prepare(&select)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let rows = Rc::new(Statement {
            sql: portal.stmt.sql.clone(),
            kind: StatementKind::Duck(DuckStatement {
                prepared: std::cell::RefCell::new(prepared),
                engine_sql: select,
                tag: Tag::Select,
                returns_rows: true,
                modifies: false,
                changes_schema: false,
                lake_commit: None,
                returning_sql: None,
                cacheable: Err("a cursor's rows are read from its own result".into()),
            }),
            param_types: Vec::new(),
            fields: Some(fields),
            client_types: Vec::new(),
            lake_snapshots: Vec::new(),
            _lake_pins: Vec::new(),
        });
        let mut reading = Portal::unbound(rows, portal.settings.clone(), portal.describe);
        reading.binary = binary;
        reading.command_tag = Some(Tag::Fetch);
        self.run_portal(&mut reading, 0)
    }

    fn drop_cursor_table(&mut self, cursor: &Cursor) {
        self.close_all_streams();
        let drop = format!("DROP TABLE IF EXISTS temp.main.{}", cursor.table);
        if let Err(e) = self.conn.execute_batch(&drop) {
            tracing::debug!(error = %e.message, "dropping a cursor's rows failed");
        }
    }

    /// Closes the cursors `which` picks.
    fn close_cursors(&mut self, which: impl Fn(&Cursor) -> bool) {
        let names: Vec<String> = self
            .cursors
            .open
            .iter()
            .filter(|(_, c)| which(c))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            if let Some(cursor) = self.cursors.open.remove(&name) {
                self.drop_cursor_table(&cursor);
            }
        }
    }

    /// The transaction committed: cursors without HOLD end, held ones stay.
    pub(super) fn cursors_at_commit(&mut self) {
        if self.cursors.open.is_empty() {
            return;
        }
        self.close_cursors(|c| !c.hold);
        for c in self.cursors.open.values_mut() {
            c.in_open_txn = false;
        }
        self.publish_cursor_list();
    }

    /// The transaction rolled back: every cursor it declared ends.
    pub(super) fn cursors_at_rollback(&mut self) {
        if self.cursors.open.is_empty() {
            return;
        }
        self.close_cursors(|c| c.in_open_txn || !c.hold);
        self.publish_cursor_list();
    }

    /// ROLLBACK TO the savepoint at index `at`: cursors declared after it end.
    pub(super) fn cursors_at_rollback_to(&mut self, at: usize) {
        if self.cursors.open.is_empty() {
            return;
        }
        self.close_cursors(|c| c.in_open_txn && c.savepoint_depth > at);
        self.publish_cursor_list();
    }

    /// Every cursor ends (DISCARD ALL, the session handed to a new client).
    pub(super) fn close_all_cursors(&mut self) {
        if self.cursors.open.is_empty() {
            return;
        }
        self.close_cursors(|_| true);
        self.publish_cursor_list();
    }

    /// Publishes the open cursors to `pg_cursors` (the session macro
    /// `floe_cursors()` the catalog relation reads).
    fn publish_cursor_list(&mut self) {
        let mut rows: Vec<String> = self
            .cursors
            .open
            .iter()
            .map(|(name, c)| {
                let created: chrono::DateTime<chrono::Utc> = c.created.into();
                format!(
                    "({}, {}, {}, {}, {}, TIMESTAMPTZ {})",
                    literal(name),
                    literal(&c.statement),
                    c.hold,
                    c.binary,
                    c.scroll != Some(false),
                    literal(&created.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
                )
            })
            .collect();
        rows.sort();
        let body = if rows.is_empty() {
            crate::compat::macros::EMPTY_CURSOR_LIST.to_string()
        } else {
            format!(
                "SELECT * FROM (VALUES {}) AS c(name, statement, is_holdable, is_binary, \
                 is_scrollable, creation_time)",
                rows.join(", ")
            )
        };
        self.close_all_streams();
        // Statements reading `pg_cursors` bound the macro's old body.
        self.statement_cache
            .retain(|(sql, _), _| !sql.contains("floe_cursors()"));
        let sql = format!("CREATE OR REPLACE TEMP MACRO floe_cursors() AS TABLE {body}");
        if let Err(e) = self.conn.execute_batch(&sql) {
            tracing::debug!(error = %e.message, "publishing the cursor list failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(sql: &str) -> Result<(Motion, String), PgError> {
        let tokens = floe_sql::tokens::tokenize(sql);
        parse_fetch(&tokens[1..], sql)
    }

    #[test]
    fn fetch_directions_read_as_postgres_reads_them() {
        let cases = [
            ("FETCH c", Motion::Step(1)),
            ("FETCH NEXT FROM c", Motion::Step(1)),
            ("FETCH PRIOR IN c", Motion::Step(-1)),
            ("FETCH FIRST c", Motion::Absolute(1)),
            ("FETCH LAST FROM c", Motion::Absolute(-1)),
            ("FETCH 5 FROM c", Motion::Step(5)),
            ("FETCH -2 FROM c", Motion::Step(-2)),
            ("FETCH ALL FROM c", Motion::Step(i64::MAX)),
            ("FETCH FORWARD FROM c", Motion::Step(1)),
            ("FETCH FORWARD 3 FROM c", Motion::Step(3)),
            ("FETCH FORWARD ALL c", Motion::Step(i64::MAX)),
            ("FETCH BACKWARD c", Motion::Step(-1)),
            ("FETCH BACKWARD 2 IN c", Motion::Step(-2)),
            ("FETCH BACKWARD ALL FROM c", Motion::Step(-i64::MAX)),
            ("FETCH ABSOLUTE -1 FROM c", Motion::Absolute(-1)),
            ("FETCH RELATIVE +2 FROM c", Motion::Relative(2)),
            ("MOVE 0 IN c", Motion::Step(0)),
        ];
        for (sql, motion) in cases {
            let (m, name) = fetch(sql).unwrap_or_else(|e| panic!("{sql}: {}", e.message));
            assert_eq!((m, name.as_str()), (motion, "c"), "{sql}");
        }
        assert_eq!(fetch("FETCH \"My Cur\"").unwrap().1, "My Cur");
        for bad in [
            "FETCH",
            "FETCH 1.5 FROM c",
            "FETCH ABSOLUTE FROM c",
            "FETCH NEXT 2 FROM c",
            "FETCH 99999999999999999999 FROM c",
            "FETCH 'x' FROM c",
        ] {
            assert!(fetch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn motions_move_as_in_postgres() {
        // (motion, position, rows in the cursor) → (rows read, count, new position).
        let cases = [
            (Motion::Step(3), 0, 10, Some((1, 3)), 3, 3),
            (Motion::Step(20), 8, 10, Some((9, 10)), 2, 11),
            (Motion::Step(1), 11, 10, None, 0, 11),
            (Motion::Step(-2), 11, 10, Some((10, 9)), 2, 9),
            (Motion::Step(-5), 3, 10, Some((2, 1)), 2, 0),
            (Motion::Step(0), 4, 10, Some((4, 4)), 1, 4),
            (Motion::Step(0), 0, 10, None, 0, 0),
            (Motion::Absolute(-1), 0, 10, Some((10, 10)), 1, 10),
            (Motion::Absolute(0), 5, 10, None, 0, 0),
            (Motion::Absolute(12), 5, 10, None, 0, 11),
            (Motion::Absolute(-12), 5, 10, None, 0, 0),
            (Motion::Relative(-2), 5, 10, Some((3, 3)), 1, 3),
            (Motion::Step(i64::MAX), 2, 10, Some((3, 10)), 8, 11),
            (Motion::Step(-i64::MAX), 11, 10, Some((10, 1)), 10, 0),
            (Motion::Step(1), 0, 0, None, 0, 1),
        ];
        for (motion, pos, total, rows, count, new_pos) in cases {
            let want = Plan {
                rows,
                count,
                pos: new_pos,
            };
            assert_eq!(
                plan(motion, pos, total),
                want,
                "{motion:?} at {pos} of {total}"
            );
        }
        assert!(goes_backward(Motion::Absolute(1), 3, 10));
        assert!(!goes_backward(Motion::Absolute(5), 3, 10));
        assert!(!goes_backward(Motion::Step(2), 3, 10));
    }
}
