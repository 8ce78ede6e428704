//! One client session: the Postgres protocol state machine over one DuckDB connection.
//!
//! A session runs on its own thread, because DuckDB calls block. It receives decoded
//! frontend messages in order and writes backend messages into a buffer that is
//! handed to the connection's writer in pieces; the bounded hand-off is what makes a
//! slow client slow down DuckDB instead of filling memory. It owns prepared
//! statements, portals (which may hold a suspended streaming result), session
//! parameters and the transaction state Postgres clients expect.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pgwire::messages::extendedquery::{Bind, Close, Describe, Execute, Parse};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::PgWireFrontendMessage;
use tokio::sync::mpsc;

use crate::copy_command::CopyCommand;
use crate::duck::{
    statement_type as st, Connection, DataChunk, InterruptHandle, LogicalType, Prepared,
    QueryResult, Value,
};
use crate::file_cache::FilePin;
use crate::lake::{LakeReader, LakeSnapshot, NameContext};
use crate::lake_write::{LakeCommit, LakeDdl, WritePlan};
use crate::params;
use crate::pg_compat;
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use crate::row_encoder::{encode_rows, ColumnEncoder, OutputSettings};
use crate::settings::{is_session_parameter, SessionParams};
use crate::socket_writer::SocketWriter;
use crate::sql_text::{self, SessionCommand, SettingCall, SettingValue, Tok, Token};
use crate::types::{oid, IntWidth, ValueKind};
use crate::wire::{self, Field};
use floe_catalog::LakeTxn;
use floe_protocol::control::Control;
use floe_sql::policy::{PolicyContext, Refusal};

/// Output is handed to the writer once this much is buffered.
const FLUSH_BYTES: usize = 128 * 1024;
/// Prepared statements a session keeps for reuse.
const STATEMENT_CACHE_SIZE: usize = 256;
/// Queries slower than this are logged.
const SLOW_QUERY: Duration = Duration::from_secs(1);

/// Why a running query was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    User,
    Timeout,
    ClientGone,
}

#[derive(Default)]
struct ControlState {
    running: Option<u64>,
    reason: Option<CancelReason>,
}

/// The part of a session other threads may touch: cancel requests, statement
/// timeouts and client disconnects interrupt the running query through it.
pub struct QueryControl {
    interrupt: InterruptHandle,
    state: Mutex<ControlState>,
    seq: AtomicU64,
}

impl QueryControl {
    pub fn new(interrupt: InterruptHandle) -> QueryControl {
        QueryControl {
            interrupt,
            state: Mutex::new(ControlState::default()),
            seq: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ControlState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Interrupts the running query, if any (a cancel between queries is a no-op, as
    /// in Postgres).
    pub fn cancel(&self, reason: CancelReason) {
        let mut g = self.lock();
        if g.running.is_some() {
            g.reason = Some(reason);
            self.interrupt.interrupt();
        }
    }

    fn cancel_if_running(&self, seq: u64, reason: CancelReason) {
        let mut g = self.lock();
        if g.running == Some(seq) {
            g.reason = Some(reason);
            self.interrupt.interrupt();
        }
    }

    fn begin(&self) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut g = self.lock();
        g.running = Some(seq);
        g.reason = None;
        seq
    }

    fn end(&self) -> Option<CancelReason> {
        let mut g = self.lock();
        g.running = None;
        g.reason.take()
    }
}

/// What the connection hands a session: the next frontend message, or a fatal
/// error (bad message, shutdown) that ends the session after it is sent.
pub enum SessionInput {
    Message(PgWireFrontendMessage),
    /// A typed control message from the router (session hand-over, reset,
    /// stats, a refused message).
    Control(Control),
    Fatal(PgError),
}

/// What a session needs from the worker that started it.
pub struct SessionInit {
    pub user: String,
    pub database: String,
    pub startup_params: Vec<(String, String)>,
    pub default_params: Vec<(&'static str, String)>,
    pub pid: i32,
    pub secret: i32,
    /// Whether the connection starts as a superuser (the router's own
    /// connection does, until it hands the session to a client).
    pub superuser: bool,
    /// The client's address, for the session log line.
    pub client: String,
    pub runtime: tokio::runtime::Handle,
    /// The lakehouse, when the worker has one.
    pub lake: Option<Arc<LakeReader>>,
}

enum SessionError {
    Pg(PgError),
    /// The client went away; the session ends without further output.
    ClientGone,
}

impl From<PgError> for SessionError {
    fn from(e: PgError) -> Self {
        SessionError::Pg(e)
    }
}

type SResult<T> = Result<T, SessionError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    Idle,
    InBlock,
    Failed,
}

/// What kind of completion tag a DuckDB statement produces.
#[derive(Debug, Clone)]
enum Tag {
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    CreateTableAs,
    Copy,
    Fetch,
    Fixed(String),
}

struct DuckStatement {
    prepared: std::cell::RefCell<Prepared>,
    /// The text the engine prepared (lake tables planned, placeholders typed).
    engine_sql: String,
    tag: Tag,
    returns_rows: bool,
    /// Statement types that run inside an implicit transaction in extended protocol.
    modifies: bool,
    /// DDL and other statements after which cached statements may be stale.
    changes_schema: bool,
    /// For an INSERT, UPDATE or DELETE on a lake table: the statement writes
    /// staged files, which are committed once it ran.
    lake_commit: Option<LakeCommit>,
}

enum StatementKind {
    Empty,
    Session(SessionCommand),
    Duck(DuckStatement),
    /// A lake statement that changes the catalog (CREATE/DROP TABLE, CTAS).
    LakeDdl(LakeDdl),
    /// COPY FROM STDIN or TO STDOUT.
    Copy(CopyCommand),
    /// DECLARE, FETCH, MOVE or CLOSE of a cursor.
    Cursor(cursors::CursorCommand),
    /// EXPLAIN [ANALYZE] of a statement.
    Explain(explain::Explain),
}

struct Statement {
    sql: String,
    kind: StatementKind,
    param_types: Vec<u32>,
    /// `None` when the statement returns no rows (NoData).
    fields: Option<Vec<Field>>,
    /// The parameter types the client declared at Parse.
    client_types: Vec<u32>,
    /// The lake tables read at their current snapshot, and the snapshot planned:
    /// a newer snapshot re-plans the statement before it runs again.
    lake_snapshots: Vec<LakeSnapshot>,
    /// The cached files the statement reads stay on disk while it exists.
    _lake_pins: Vec<FilePin>,
}

/// A DuckDB result being streamed to the client.
struct ActiveQuery {
    result: QueryResult,
    encoders: Vec<ColumnEncoder>,
    chunk: Option<DataChunk>,
    pos: usize,
}

enum PortalState {
    NotStarted,
    Streaming(Box<ActiveQuery>),
    /// Rows drained from DuckDB (encoded) because another statement needed the
    /// connection while this portal was suspended.
    Buffered {
        rows: std::collections::VecDeque<Bytes>,
    },
    Done,
}

struct Portal {
    stmt: Rc<Statement>,
    params: Vec<Value>,
    binary: Vec<bool>,
    state: PortalState,
    settings: OutputSettings,
    /// Send RowDescription from the result itself when it starts (simple query).
    describe: bool,
    /// The completion tag when it is not the statement's own (`COPY n` for the
    /// INSERT that loads COPY data).
    command_tag: Option<Tag>,
}

impl Portal {
    /// A portal of a statement without parameters, in text format.
    fn unbound(stmt: Rc<Statement>, settings: OutputSettings, describe: bool) -> Portal {
        Portal {
            stmt,
            params: Vec::new(),
            binary: Vec::new(),
            state: PortalState::NotStarted,
            settings,
            describe,
            command_tag: None,
        }
    }

    fn is_binary(&self, i: usize) -> bool {
        self.binary.get(i).copied().unwrap_or(false)
    }
}

pub struct Session {
    writer: SocketWriter,
    rx: mpsc::Receiver<SessionInput>,
    out: BytesMut,
    params: SessionParams,
    /// Parameters as they were when the explicit transaction began.
    params_at_begin: Option<SessionParams>,
    /// Session-level values set inside the transaction (SET without LOCAL).
    params_after_commit: Option<SessionParams>,
    txn: TxnState,
    /// A DuckDB transaction Floe opened for a batch of extended-protocol messages or
    /// a multi-statement query, committed at Sync (or the end of the query).
    implicit_open: bool,
    /// Whether extended-protocol messages are being processed (statements that
    /// modify data then run in an implicit transaction until Sync).
    in_extended_batch: bool,
    ignore_till_sync: bool,
    statements: HashMap<String, Rc<Statement>>,
    /// Prepared statements by (text, declared parameter types), reused across
    /// simple queries and unnamed Parse messages.
    statement_cache: HashMap<(String, Vec<u32>), Rc<Statement>>,
    /// The `TimeZone` the engine's native functions know for this session.
    zone_registered: Option<String>,
    /// Which of `pg_compat::ON_DEMAND_MACROS` this session has created
    /// outside a transaction block (one inside may be rolled back).
    on_demand_created: Vec<bool>,
    portals: HashMap<String, Portal>,
    control: Arc<QueryControl>,
    runtime: tokio::runtime::Handle,
    lake: Option<Arc<LakeReader>>,
    /// The lake changes of the open transaction (explicit or implicit), staged
    /// until it commits.
    lake_txn: Option<LakeTxn>,
    /// The open transaction's savepoints, oldest first.
    savepoints: Vec<savepoints::Savepoint>,
    /// Cursors opened by DECLARE.
    cursors: cursors::Cursors,
    /// The schema path `current_schema` and `current_schemas` last answered.
    schema_path: Option<Vec<String>>,
    /// Engine-local (non-lake) writes in the open transaction: a savepoint
    /// cannot undo those.
    local_writes: u64,
    user: String,
    database: String,
    pid: i32,
    secret: i32,
    /// Whether the session's user is a superuser (from the router's hand-over).
    superuser: bool,
    client: String,
    /// Parameter defaults from the worker's configuration.
    default_params: Vec<(&'static str, String)>,
    // Dropped last: everything above may hold DuckDB objects of this connection.
    conn: Connection,
}

impl Session {
    /// Creates the session on the thread that will run it; `control` is shared with
    /// the cancel registry.
    pub fn new(
        conn: Connection,
        control: Arc<QueryControl>,
        init: SessionInit,
        writer: SocketWriter,
        rx: mpsc::Receiver<SessionInput>,
    ) -> Session {
        let mut params = SessionParams::new(&init.user, &init.default_params, &init.startup_params);
        params.set_server_value("is_superuser", if init.superuser { "on" } else { "off" });
        let default_params = init.default_params.clone();
        Session {
            writer,
            rx,
            out: BytesMut::with_capacity(FLUSH_BYTES + 16 * 1024),
            params,
            params_at_begin: None,
            params_after_commit: None,
            txn: TxnState::Idle,
            implicit_open: false,
            in_extended_batch: false,
            ignore_till_sync: false,
            statements: HashMap::new(),
            statement_cache: HashMap::new(),
            zone_registered: None,
            on_demand_created: vec![false; pg_compat::ON_DEMAND_MACROS.len()],
            schema_path: None,
            portals: HashMap::new(),
            control,
            runtime: init.runtime,
            lake: init.lake,
            lake_txn: None,
            savepoints: Vec::new(),
            cursors: cursors::Cursors::default(),
            local_writes: 0,
            user: init.user,
            database: init.database,
            pid: init.pid,
            secret: init.secret,
            client: init.client,
            superuser: init.superuser,
            default_params,
            conn,
        }
    }

    /// Fresh session parameters for this session's user, with `startup` applied
    /// and `is_superuser` as authentication decided.
    fn fresh_params(
        &self,
        defaults: &[(&str, String)],
        startup: &[(String, String)],
    ) -> SessionParams {
        let mut p = SessionParams::new(&self.user, defaults, startup);
        p.set_server_value("is_superuser", if self.superuser { "on" } else { "off" });
        p
    }

    /// Carries out a control message from the router; `false` ends the session.
    fn control(&mut self, c: Control) -> bool {
        let cmd = match c {
            Control::Refuse {
                replaces,
                sqlstate: code,
                message,
            } => {
                let e = PgError::new(Refusal::code_of(&code), message);
                if replaces == b'P' {
                    let _ = self.extended(|_| Err(e.into()));
                } else {
                    self.report(Err(e.into()));
                    self.ready_for_query();
                }
                return true;
            }
            Control::Reset => SessionCommand::PoolReset,
            Control::Stats => SessionCommand::PoolStats,
            Control::BeginSession {
                user,
                database,
                superuser,
                params,
            } => SessionCommand::PoolSession {
                user,
                database,
                superuser,
                params,
            },
        };
        let r = self.run_session_command(&cmd);
        self.report(r);
        self.ready_for_query();
        true
    }

    /// Runs the session until the client terminates or disconnects.
    pub fn run(mut self) {
        let started = Instant::now();
        let mut queries = 0u64;
        if self.startup().is_ok() {
            loop {
                let input = match self.rx.try_recv() {
                    Ok(m) => m,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if self.flush().is_err() {
                            break;
                        }
                        match self.rx.blocking_recv() {
                            Some(m) => m,
                            None => break,
                        }
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                };
                let msg = match input {
                    SessionInput::Message(m) => m,
                    SessionInput::Control(c) => {
                        if self.control(c) {
                            continue;
                        }
                        break;
                    }
                    SessionInput::Fatal(e) => {
                        wire::error_or_notice(&mut self.out, &e);
                        break;
                    }
                };
                if matches!(
                    msg,
                    PgWireFrontendMessage::Query(_) | PgWireFrontendMessage::Execute(_)
                ) {
                    queries += 1;
                }
                match self.handle(msg) {
                    Ok(true) => {}
                    Ok(false) | Err(()) => break,
                }
            }
        }
        let _ = self.flush();
        // Close results before rolling back, so DuckDB sees no open result.
        self.portals.clear();
        if self.txn != TxnState::Idle || self.implicit_open {
            self.rollback_engine();
        }
        self.discard_lake_txn();
        // One line per session, written when it ends.
        tracing::info!(
            pid = self.pid,
            user = %self.user,
            database = %self.database,
            client = %self.client,
            application_name = self.params.get("application_name").unwrap_or(""),
            queries,
            duration_ms = started.elapsed().as_millis() as u64,
            "session ended"
        );
    }

    fn startup(&mut self) -> Result<(), ()> {
        let identity = pg_compat::identity_setup(&self.user, &self.database);
        // One transaction for the whole setup (costly macros wait until a
        // statement uses them: `pg_compat::ON_DEMAND_MACROS`).
        let statements = pg_compat::SESSION_SETUP
            .iter()
            .chain(crate::integer_aggregates::MACROS)
            .copied()
            .chain(identity.iter().map(String::as_str));
        let setup = std::iter::once("BEGIN")
            .chain(statements)
            .chain(std::iter::once("COMMIT"))
            .try_for_each(|sql| self.conn.execute_batch(sql));
        if let Err(e) = setup {
            tracing::warn!(error = %e.message, "session setup failed");
            let _ = self.conn.execute_batch("ROLLBACK");
            let e = PgError::from_duckdb(&e.message, None).fatal();
            wire::error_or_notice(&mut self.out, &e);
            let _ = self.flush();
            return Err(());
        }
        wire::authentication_ok(&mut self.out);
        for (k, v) in self.params.reported() {
            wire::parameter_status(&mut self.out, k, &v);
        }
        wire::backend_key_data(&mut self.out, self.pid, self.secret);
        self.ready_for_query();
        self.flush().map_err(|_| ())
    }

    /// Handles one message; `Ok(false)` ends the session.
    fn handle(&mut self, msg: PgWireFrontendMessage) -> Result<bool, ()> {
        use PgWireFrontendMessage as M;
        let result = match msg {
            M::Query(q) => {
                let r = self.simple_query(&q.query);
                self.report(r);
                self.ready_for_query();
                Ok(())
            }
            M::Sync(_) => {
                self.ignore_till_sync = false;
                let r = self.sync();
                self.report(r);
                self.ready_for_query();
                Ok(())
            }
            M::Flush(_) => self.flush(),
            M::Terminate(_) => return Ok(false),
            M::Parse(m) => self.extended(|s| s.parse(m)),
            M::Bind(m) => self.extended(|s| s.bind(m)),
            M::Describe(m) => self.extended(|s| s.describe(m)),
            M::Execute(m) => self.extended(|s| s.execute(m)),
            M::Close(m) => self.extended(|s| s.close(m)),
            // COPY data outside a COPY is ignored, as Postgres does.
            M::CopyData(_) | M::CopyDone(_) | M::CopyFail(_) => Ok(()),
            other => {
                let e = PgError::new(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("unexpected message {other:?}"),
                );
                wire::error_or_notice(&mut self.out, &e.fatal());
                return Ok(false);
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(SessionError::ClientGone) => Err(()),
            Err(SessionError::Pg(_)) => Ok(true),
        }
    }

    /// Runs an extended-protocol message, skipping it after an earlier error until
    /// Sync, and turning its error into ErrorResponse.
    fn extended(&mut self, f: impl FnOnce(&mut Session) -> SResult<()>) -> SResult<()> {
        if self.ignore_till_sync {
            return Ok(());
        }
        self.in_extended_batch = true;
        let r = f(self);
        self.in_extended_batch = false;
        if let Err(SessionError::Pg(_)) = &r {
            self.ignore_till_sync = true;
        }
        self.report(r);
        Ok(())
    }

    /// Sends a statement-level error and updates the transaction state.
    fn report(&mut self, r: SResult<()>) {
        if let Err(SessionError::Pg(e)) = r {
            wire::error_or_notice(&mut self.out, &e);
            self.on_error();
        }
    }

    fn on_error(&mut self) {
        if self.implicit_open {
            self.close_all_streams();
            self.rollback_engine();
            self.implicit_open = false;
            if self.txn == TxnState::Idle {
                self.discard_lake_txn();
            }
        }
        if self.txn == TxnState::InBlock {
            self.txn = TxnState::Failed;
        }
    }

    fn ready_for_query(&mut self) {
        let status = match self.txn {
            TxnState::Idle => TransactionStatus::Idle,
            TxnState::InBlock => TransactionStatus::Transaction,
            TxnState::Failed => TransactionStatus::Error,
        };
        wire::ready_for_query(&mut self.out, status);
    }

    fn flush(&mut self) -> SResult<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.writer.write_all(&self.out);
        self.out.clear();
        r.map_err(|_| {
            self.control.cancel(CancelReason::ClientGone);
            SessionError::ClientGone
        })
    }

    fn maybe_flush(&mut self) -> SResult<()> {
        if self.out.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn notice(&mut self, e: PgError) {
        wire::error_or_notice(&mut self.out, &e);
    }

    // ---- simple query ----------------------------------------------------------

    fn simple_query(&mut self, sql: &str) -> SResult<()> {
        // A simple query discards the unnamed statement and portal.
        self.portals.remove("");
        self.statements.remove("");
        let tokens = sql_text::tokenize(sql);
        let pieces = split_statements(sql, &tokens);
        if pieces.is_empty() {
            wire::empty_query(&mut self.out);
            return Ok(());
        }
        // The policy, on exactly the statements this session will run, before
        // any of them runs.
        self.check_policy(sql)?;
        if pieces.len() > 1 {
            for p in &pieces {
                self.check_policy(p.text)?;
            }
        }
        if pieces.len() > 1 {
            self.check_syntax(sql, &pieces)?;
        }
        let has_txn_control = pieces.iter().any(|p| {
            matches!(
                sql_text::session_command(&p.tokens),
                Some(SessionCommand::Begin | SessionCommand::Commit | SessionCommand::Rollback)
            )
        });
        // Several statements in one query run as one transaction, as in Postgres.
        let wrap = pieces.len() > 1
            && self.txn == TxnState::Idle
            && !has_txn_control
            && !self.implicit_open;
        if wrap {
            self.begin_implicit()?;
        }
        for piece in &pieces {
            if self.txn == TxnState::Failed && !is_txn_end_command(&piece.tokens) {
                return Err(PgError::in_failed_transaction().into());
            }
            let stmt = self
                .prepare_statement(piece.text, &piece.tokens, &[])
                .map_err(|e| match e {
                    SessionError::Pg(p) => SessionError::Pg(shift_position(p, sql, piece.offset)),
                    other => other,
                })?;
            let mut portal = Portal::unbound(stmt.clone(), self.params.output_settings(), true);
            // DuckDB results describe themselves when they run; session commands
            // (SHOW) are described here.
            if let (StatementKind::Session(_), Some(fields)) = (&stmt.kind, &stmt.fields) {
                wire::row_description(&mut self.out, fields, &|_| false);
            }
            self.run_portal(&mut portal, 0).map_err(|e| match e {
                SessionError::Pg(p) => SessionError::Pg(shift_position(p, sql, piece.offset)),
                other => other,
            })?;
        }
        if wrap && self.implicit_open {
            self.commit_implicit()?;
        }
        Ok(())
    }

    /// Applies the SQL policy (`floe_sql::policy`) to one statement's text, as
    /// the router did: a worker reached without the router is just as closed.
    fn check_policy(&self, text: &str) -> SResult<()> {
        let ctx = PolicyContext::for_database(&self.database);
        floe_sql::policy::analyze(text, &ctx)
            .map_err(|r| SessionError::Pg(PgError::new(Refusal::code_of(r.sqlstate), r.message)))?;
        Ok(())
    }

    /// Parses every statement of a multi-statement query before running any, so a
    /// syntax error anywhere runs nothing (as in Postgres).
    fn check_syntax(&mut self, sql: &str, pieces: &[Piece<'_>]) -> SResult<()> {
        for p in pieces {
            if sql_text::session_command(&p.tokens).is_some() {
                continue;
            }
            self.close_all_streams();
            if let Err(e) = self.conn.check_syntax(p.text) {
                return Err(shift_position(
                    PgError::from_duckdb(&e.message, Some(p.text)),
                    sql,
                    p.offset,
                )
                .into());
            }
        }
        Ok(())
    }

    // ---- extended query --------------------------------------------------------

    fn parse(&mut self, m: Parse) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if !name.is_empty() && self.statements.contains_key(&name) {
            return Err(PgError::new(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            )
            .into());
        }
        let tokens = sql_text::tokenize(&m.query);
        let pieces = split_statements(&m.query, &tokens);
        if pieces.len() > 1 {
            return Err(PgError::new(
                sqlstate::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            )
            .into());
        }
        self.check_policy(&m.query)?;
        if self.txn == TxnState::Failed
            && !pieces
                .first()
                .is_some_and(|p| is_txn_end_command(&p.tokens))
        {
            return Err(PgError::in_failed_transaction().into());
        }
        let stmt = match pieces.first() {
            None => Rc::new(Statement {
                sql: m.query.clone(),
                kind: StatementKind::Empty,
                param_types: m.type_oids.clone(),
                fields: None,
                client_types: m.type_oids.clone(),
                lake_snapshots: Vec::new(),
                _lake_pins: Vec::new(),
            }),
            Some(p) => {
                let text = p.text.to_string();
                self.prepare_statement(&text, &p.tokens, &m.type_oids)?
            }
        };
        self.statements.insert(name, stmt);
        wire::parse_complete(&mut self.out);
        Ok(())
    }

    fn bind(&mut self, m: Bind) -> SResult<()> {
        let stmt_name = m.statement_name.unwrap_or_default();
        let stmt = self.statements.get(&stmt_name).cloned().ok_or_else(|| {
            PgError::new(
                sqlstate::INVALID_SQL_STATEMENT_NAME,
                format!("prepared statement \"{stmt_name}\" does not exist"),
            )
        })?;
        if self.txn == TxnState::Failed && !is_txn_end(&stmt) {
            return Err(PgError::in_failed_transaction().into());
        }
        let stmt = self.replan_if_stale(&stmt_name, stmt)?;
        let stmt = set_config_params::bind_values(&stmt, &m.parameters)?;
        let portal_name = m.portal_name.unwrap_or_default();
        if !portal_name.is_empty() && self.portals.contains_key(&portal_name) {
            return Err(
                PgError::new("42P03", format!("cursor \"{portal_name}\" already exists")).into(),
            );
        }
        let n = stmt.param_types.len();
        if m.parameters.len() != n {
            return Err(PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                    m.parameters.len(),
                    stmt_name,
                    n
                ),
            )
            .into());
        }
        let fmt = |codes: &[i16], i: usize| -> SResult<bool> {
            let c = match codes.len() {
                0 => 0,
                1 => codes[0],
                _ => codes.get(i).copied().unwrap_or(0),
            };
            match c {
                0 => Ok(false),
                1 => Ok(true),
                other => Err(PgError::new(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("unsupported format code: {other}"),
                )
                .into()),
            }
        };
        if m.parameter_format_codes.len() > 1 && m.parameter_format_codes.len() != n {
            return Err(PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {} parameter formats but {} parameters",
                    m.parameter_format_codes.len(),
                    n
                ),
            )
            .into());
        }
        let mut values = Vec::with_capacity(n);
        for (i, raw) in m.parameters.iter().enumerate() {
            let ty = stmt.param_types[i];
            let v = match raw {
                None => Value::null(),
                Some(bytes) => {
                    if fmt(&m.parameter_format_codes, i)? {
                        params::decode_binary(ty, bytes)?
                    } else if let Some(instant) = (ty == oid::TIMESTAMPTZ)
                        .then(|| std::str::from_utf8(bytes).ok())
                        .flatten()
                        .and_then(|t| {
                            zoned_literals::utc_instant(t, &self.params.output_settings().tz)
                        })
                    {
                        // A zone-less timestamptz names an instant in the session's zone.
                        params::decode_text(ty, instant.as_bytes())?
                    } else {
                        params::decode_text(ty, bytes)?
                    }
                }
            };
            values.push(v);
        }
        let ncols = stmt.fields.as_ref().map_or(0, Vec::len);
        let mut binary = Vec::with_capacity(ncols);
        for i in 0..ncols {
            binary.push(fmt(&m.result_column_format_codes, i)?);
        }
        self.portals.remove(&portal_name);
        self.portals.insert(
            portal_name,
            Portal {
                stmt,
                params: values,
                binary,
                state: PortalState::NotStarted,
                settings: self.params.output_settings(),
                describe: false,
                command_tag: None,
            },
        );
        wire::bind_complete(&mut self.out);
        Ok(())
    }

    fn describe(&mut self, m: Describe) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if m.target_type == b'S' {
            let stmt = self.statements.get(&name).cloned().ok_or_else(|| {
                PgError::new(
                    sqlstate::INVALID_SQL_STATEMENT_NAME,
                    format!("prepared statement \"{name}\" does not exist"),
                )
            })?;
            wire::parameter_description(&mut self.out, &stmt.param_types);
            match &stmt.fields {
                Some(f) => wire::row_description(&mut self.out, f, &|_| false),
                None => wire::no_data(&mut self.out),
            }
        } else {
            // A cursor DECLARE opened is a portal too (psycopg describes it).
            if !self.portals.contains_key(&name) {
                if let Some((fields, binary)) = self.cursors.description(&name) {
                    wire::row_description(&mut self.out, &fields, &|_| binary);
                    return Ok(());
                }
            }
            let portal = self.portals.get(&name).ok_or_else(|| {
                PgError::new(
                    sqlstate::INVALID_CURSOR_NAME,
                    format!("portal \"{name}\" does not exist"),
                )
            })?;
            match &portal.stmt.fields {
                Some(f) => {
                    let binary = portal.binary.clone();
                    wire::row_description(&mut self.out, f, &|i| {
                        binary.get(i).copied().unwrap_or(false)
                    })
                }
                None => wire::no_data(&mut self.out),
            }
        }
        Ok(())
    }

    fn close(&mut self, m: Close) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        if m.target_type == b'S' {
            self.statements.remove(&name);
        } else {
            self.portals.remove(&name);
        }
        wire::close_complete(&mut self.out);
        Ok(())
    }

    fn execute(&mut self, m: Execute) -> SResult<()> {
        let name = m.name.unwrap_or_default();
        let mut portal = self.portals.remove(&name).ok_or_else(|| {
            PgError::new(
                sqlstate::INVALID_CURSOR_NAME,
                format!("portal \"{name}\" does not exist"),
            )
        })?;
        if self.txn == TxnState::Failed && !is_txn_end(&portal.stmt) {
            return Err(PgError::in_failed_transaction().into());
        }
        let max_rows = if m.max_rows > 0 { m.max_rows as u64 } else { 0 };
        let r = self.run_portal(&mut portal, max_rows);
        // A portal that ended with an error is gone; one that finished or suspended
        // stays until closed or the transaction ends.
        if r.is_ok() {
            self.portals.insert(name, portal);
        }
        r
    }

    fn sync(&mut self) -> SResult<()> {
        if self.implicit_open {
            self.commit_implicit()?;
        }
        if self.txn == TxnState::Idle {
            // Portals live until the end of the transaction; outside one, that is now.
            self.portals.clear();
        }
        Ok(())
    }

    // ---- statements --------------------------------------------------------------

    /// Builds a statement from one piece of SQL: a session command the session
    /// handles, or a DuckDB prepared statement.
    /// A prepared statement over lake tables that have new snapshots is planned
    /// again (as Postgres re-plans after DDL); its result shape must not change.
    fn replan_if_stale(&mut self, name: &str, stmt: Rc<Statement>) -> SResult<Rc<Statement>> {
        let Some(lake) = &self.lake else {
            return Ok(stmt);
        };
        if stmt.lake_snapshots.is_empty()
            || lake.is_current(&stmt.lake_snapshots, self.lake_txn.as_ref(), &self.runtime)
        {
            return Ok(stmt);
        }
        let tokens = sql_text::tokenize(&stmt.sql);
        let fresh = self.prepare_statement(&stmt.sql, &tokens, &stmt.client_types)?;
        if fresh.fields != stmt.fields || fresh.param_types != stmt.param_types {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "cached plan must not change result type DEBUG replan {:?} {:?} {:?} {:?}",
                    fresh.fields, stmt.fields, fresh.param_types, stmt.param_types
                ),
            )
            .into());
        }
        self.statements.insert(name.to_string(), fresh.clone());
        Ok(fresh)
    }

    fn prepare_statement(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        match self.prepare_statement_once(sql, tokens, client_types) {
            // Another session, perhaps on another worker, may have just made the
            // relation: list the catalog again before saying it does not exist.
            Err(SessionError::Pg(e)) if e.code == sqlstate::UNDEFINED_TABLE => {
                let Some(lake) = self.lake.clone() else {
                    return Err(e.into());
                };
                lake.lakehouse().forget_listing();
                lake.forget_virtual_schema();
                self.statement_cache.clear();
                self.prepare_statement_once(sql, tokens, client_types)
            }
            other => other,
        }
    }

    fn prepare_statement_once(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        if tokens.first().is_some_and(|t| t.is_word("EXPLAIN")) {
            return self.prepare_explain(sql, tokens, client_types);
        }
        if cursors::is_cursor_statement(tokens) {
            return self.prepare_cursor_command(sql, tokens, client_types);
        }
        let command = sql_text::session_command(tokens);
        if let Some(cmd) = command.clone() {
            if owned_by_session(&cmd) {
                let fields = session_fields(&cmd, &self.params);
                return Ok(Rc::new(Statement {
                    sql: sql.to_string(),
                    param_types: set_config_params::parameter_types(&cmd, client_types),
                    kind: StatementKind::Session(cmd),
                    fields,
                    client_types: client_types.to_vec(),
                    lake_snapshots: Vec::new(),
                    _lake_pins: Vec::new(),
                }));
            }
        }
        if let Some(copy) = crate::copy_command::parse(sql, tokens) {
            return Ok(Rc::new(Statement {
                sql: sql.to_string(),
                kind: StatementKind::Copy(copy?),
                param_types: client_types.to_vec(),
                fields: None,
                client_types: client_types.to_vec(),
                lake_snapshots: Vec::new(),
                _lake_pins: Vec::new(),
            }));
        }
        let inlined = if tokens.iter().any(|t| t.is_word("current_setting")) {
            current_settings::inline_current_settings(sql, tokens, &self.params)?
        } else {
            None
        };
        let inlined_tokens;
        let (sql, tokens) = match &inlined {
            Some(text) => {
                inlined_tokens = sql_text::tokenize(text);
                (text.as_str(), &inlined_tokens[..])
            }
            None => (sql, tokens),
        };
        // timestamptz literals without a zone name an instant in the session's;
        // literals with an era name the astronomical year.
        let zoned = if tokens
            .iter()
            .any(|t| t.is_word("timestamptz") || t.is_word("zone"))
            || zoned_literals::mentions_an_era(tokens)
        {
            zoned_literals::inline_zoned_literals(sql, tokens, &self.params.output_settings().tz)
        } else {
            None
        };
        let zoned_tokens;
        let (sql, tokens) = match &zoned {
            Some(text) => {
                zoned_tokens = sql_text::tokenize(text);
                (text.as_str(), &zoned_tokens[..])
            }
            None => (sql, tokens),
        };
        if schema_path::mentions_schema_path(tokens) {
            self.sync_schema_path()?;
        }
        // Lake tables become scans of this statement's snapshot files. Writes to
        // lake tables: catalog changes run as they are; INSERT, UPDATE and DELETE
        // run as a COPY to staged files, committed after it ran.
        let (resolved, lake_commit, copy_sql) = match &self.lake {
            None => (None, None, None),
            Some(lake) => {
                let names = NameContext {
                    search_path: self.params.get("search_path").unwrap_or("public"),
                    user: &self.user,
                    database: &self.database,
                    txn: self.lake_txn.as_ref(),
                };
                match lake.plan_write(sql, tokens, &self.conn, &self.runtime, &names)? {
                    Some(WritePlan::Ddl(ddl)) => {
                        return Ok(Rc::new(Statement {
                            sql: sql.to_string(),
                            kind: StatementKind::LakeDdl(ddl),
                            param_types: client_types.to_vec(),
                            fields: None,
                            client_types: client_types.to_vec(),
                            lake_snapshots: Vec::new(),
                            _lake_pins: Vec::new(),
                        }));
                    }
                    Some(WritePlan::Staged {
                        commit,
                        copy_sql,
                        rewritten,
                    }) => (rewritten, Some(commit), Some(copy_sql)),
                    None => (
                        lake.rewrite(sql, tokens, &self.runtime, &names)?,
                        None,
                        None,
                    ),
                }
            }
        };
        if let Some(r) = &resolved {
            self.params.set_internal("floe.lake_scan", r.scans.clone());
        }
        let client_sql = sql;
        let sql = copy_sql
            .as_deref()
            .or(resolved.as_ref().map(|r| r.sql.as_str()))
            .unwrap_or(sql);
        // Repeated statements reuse their DuckDB preparation: planning costs more
        // than running a small query.
        if settings_view::reads_settings(sql) {
            self.publish_settings();
        }
        self.create_macros_used_by(sql)?;
        self.sync_zone();
        let cache_key = (sql.to_string(), client_types.to_vec());
        if let (Some(hit), None) = (self.statement_cache.get(&cache_key), &lake_commit) {
            return Ok(hit.clone());
        }
        if let Some(SessionCommand::Set { name, .. } | SessionCommand::Reset(Some(name))) = command
        {
            // What reaches here is no Postgres parameter: the engine's settings
            // and variables are not the client's to change.
            if tokens.get(1).is_some_and(|t| t.is_word("VARIABLE")) {
                return Err(PgError::new(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "SET VARIABLE is not allowed",
                )
                .into());
            }
            if self.is_engine_setting(&name)? {
                return Err(PgError::new(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("changing the engine setting \"{name}\" is not allowed"),
                )
                .into());
            }
            return Err(PgError::new(
                sqlstate::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )
            .into());
        }
        // Typed placeholders: let DuckDB know the types the client declared.
        let casts: Vec<Option<&'static str>> =
            client_types.iter().map(|t| duckdb_type_name(*t)).collect();
        let text = if casts.iter().any(Option::is_some) {
            sql_text::cast_placeholders(sql, &casts)
        } else {
            sql.to_string()
        };
        self.close_all_streams();
        let prepared = self
            .conn
            .prepare(&text)
            .map_err(|e| PgError::from_duckdb(&e.message, Some(&text)))?;
        let stype = prepared.statement_type();
        let nparams = prepared.param_count().max(client_types.len());
        let late_bound = late_bound::is_late_bound(&prepared)
            .then(|| late_bound::late_bound_shape(&self.conn, &text, client_types, nparams));
        let param_types = match &late_bound {
            Some((_, types)) => types.clone(),
            None => (0..nparams)
                .map(|i| match client_types.get(i).copied().unwrap_or(0) {
                    0 => prepared
                        .param_type(i)
                        .map(|t| parameter_type(ValueKind::from_logical(&t)))
                        .unwrap_or(oid::TEXT),
                    declared => declared,
                })
                .collect(),
        };
        let words = sql_text::leading_words(tokens, 6);
        let returning = sql_text::has_top_level_word(tokens, "RETURNING");
        let returns_rows = match stype {
            st::INSERT | st::UPDATE | st::DELETE | st::MERGE_INTO => returning,
            st::CREATE | st::ALTER | st::DROP | st::CREATE_FUNC => false,
            st::COPY => false,
            _ => prepared.column_count() > 0 && !is_status_only(stype),
        };
        let fields = match (returns_rows, late_bound) {
            (false, _) => None,
            (true, Some((shape, _))) => shape,
            (true, None) => Some(late_bound::prepared_fields(&prepared)),
        };
        // Column names as PostgreSQL gives them (`count`, not `count_star()`).
        let mut fields = fields;
        if let Some(fields) = fields.as_mut() {
            let width = fields.len();
            // The client's query, parsed once for the names and the types.
            let query = floe_sql::pg_names::parse_query(client_sql);
            let names = query
                .as_ref()
                .and_then(floe_sql::pg_names::query_column_names)
                .filter(|n| n.len() == width);
            for (field, name) in fields.iter_mut().zip(names.into_iter().flatten()) {
                field.name = name;
            }
            // Catalog columns of type name, "char" and oid, casts to name and
            // OID-alias types (`floe_name`, `floe_regclass`, as the router writes
            // them) and functions returning name, as PostgreSQL types them.
            let types = query
                .as_ref()
                .and_then(crate::pg_result_types::query_result_types)
                .filter(|t| t.len() == width);
            for (field, pg_type) in fields.iter_mut().zip(types.into_iter().flatten()) {
                if let Some(t) = pg_type {
                    field.type_oid = catalog_type(field.type_oid, t);
                }
            }
        }
        let tag = match &lake_commit {
            Some(LakeCommit::Insert(_)) => Tag::Insert,
            Some(LakeCommit::Delete(_)) => Tag::Delete,
            Some(LakeCommit::Update(_)) => Tag::Update,
            None => command_tag(stype, &words, tokens),
        };
        let modifies = matches!(
            stype,
            st::INSERT
                | st::UPDATE
                | st::DELETE
                | st::MERGE_INTO
                | st::CREATE
                | st::ALTER
                | st::DROP
        );
        let is_lake_write = lake_commit.is_some();
        let changes_schema = !is_lake_write
            && !matches!(
                stype,
                st::SELECT | st::INSERT | st::UPDATE | st::DELETE | st::MERGE_INTO | st::EXPLAIN
            );
        let stmt = Rc::new(Statement {
            sql: client_sql.to_string(),
            kind: StatementKind::Duck(DuckStatement {
                prepared: std::cell::RefCell::new(prepared),
                engine_sql: text,
                tag,
                returns_rows,
                modifies,
                changes_schema,
                lake_commit,
            }),
            param_types,
            fields,
            client_types: client_types.to_vec(),
            lake_snapshots: resolved
                .as_ref()
                .map(|r| r.snapshots.clone())
                .unwrap_or_default(),
            _lake_pins: resolved.map(|r| r.pins).unwrap_or_default(),
        });
        if changes_schema {
            // Cached descriptions may be stale once the schema changes.
            self.statement_cache.clear();
        } else if !is_lake_write {
            if self.statement_cache.len() >= STATEMENT_CACHE_SIZE {
                self.statement_cache.clear();
            }
            self.statement_cache.insert(cache_key, stmt.clone());
        }
        Ok(stmt)
    }

    /// Drops the temporary tables and views a client created, so a pooled session
    /// carries nothing to the next client (Floe's own temporary macros stay).
    fn drop_temporary_objects(&mut self) -> SResult<()> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT 'DROP TABLE IF EXISTS temp.\"' || replace(table_name, '\"', '\"\"') || '\"' \
                 FROM duckdb_tables() WHERE temporary \
                 UNION ALL SELECT 'DROP VIEW IF EXISTS temp.\"' || replace(view_name, '\"', '\"\"') || '\"' \
                 FROM duckdb_views() WHERE temporary AND NOT internal",
            )
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut result = stmt
            .execute(false)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut drops = Vec::new();
        while let Some(chunk) = result
            .fetch()
            .map_err(|e| PgError::from_duckdb(&e.message, None))?
        {
            let v = chunk.vector(0);
            for row in 0..chunk.len() {
                if v.is_valid(row) {
                    // SAFETY: the column is VARCHAR and `row` is within the chunk.
                    drops.push(String::from_utf8_lossy(unsafe { v.get_bytes(row) }).into_owned());
                }
            }
        }
        drop(result);
        for sql in drops {
            self.conn
                .execute_batch(&sql)
                .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        }
        Ok(())
    }

    /// Whether DuckDB has a setting of this name (a SET of it is then DuckDB's to
    /// accept or refuse; the locked configuration refuses engine settings).
    fn is_engine_setting(&mut self, name: &str) -> SResult<bool> {
        self.close_all_streams();
        let mut stmt = self
            .conn
            .prepare("SELECT count(*) FROM duckdb_settings() WHERE lower(name) = lower($1)")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        stmt.bind(0, &Value::varchar(name.trim_matches('"')))
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut result = stmt
            .execute(false)
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        let mut found = false;
        while let Some(chunk) = result
            .fetch()
            .map_err(|e| PgError::from_duckdb(&e.message, None))?
        {
            if !chunk.is_empty() {
                // SAFETY: count(*) is a BIGINT column and the chunk has a row.
                found = unsafe { chunk.vector(0).get::<i64>(0) } > 0;
            }
        }
        Ok(found)
    }

    /// Runs (or resumes) a portal, sending at most `max_rows` rows (0 = all).
    fn run_portal(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
        let stmt = portal.stmt.clone();
        match &stmt.kind {
            StatementKind::Empty => {
                wire::empty_query(&mut self.out);
                Ok(())
            }
            StatementKind::Session(cmd) => self.run_session_command(cmd),
            StatementKind::Duck(d) => self.run_duck(portal, d, max_rows),
            StatementKind::Copy(cmd) => self.run_copy(portal, cmd),
            StatementKind::Cursor(cmd) => self.run_cursor_command(portal, cmd),
            StatementKind::Explain(e) => self.run_explain(portal, e),
            StatementKind::LakeDdl(ddl) => {
                let lake = self.lake_for_write()?;
                let started = Instant::now();
                let txn = if self.in_transaction() {
                    Some(self.lake_txn.get_or_insert_with(LakeTxn::new))
                } else {
                    None
                };
                let tag = lake.run_ddl(ddl, &self.conn, &self.runtime, txn)?;
                self.statement_cache.clear();
                log_if_slow(self.pid, &stmt.sql, started);
                wire::command_complete(&mut self.out, &tag);
                portal.state = PortalState::Done;
                Ok(())
            }
        }
    }

    fn run_duck(&mut self, portal: &mut Portal, d: &DuckStatement, max_rows: u64) -> SResult<()> {
        if matches!(portal.state, PortalState::NotStarted) {
            let lake = match d.lake_commit {
                Some(_) => Some(self.lake_for_write()?),
                None => None,
            };
            if d.changes_schema {
                self.statement_cache.clear();
            }
            if d.modifies && d.lake_commit.is_none() && self.txn != TxnState::Idle {
                self.local_writes += 1;
            }
            if d.modifies
                && self.in_extended_batch
                && self.txn == TxnState::Idle
                && !self.implicit_open
            {
                self.begin_implicit()?;
            }
            self.close_all_streams();
            let started = Instant::now();
            let seq = self.control.begin();
            self.arm_timeout(seq);
            let exec = {
                let mut prepared = d.prepared.borrow_mut();
                prepared.clear_bindings();
                let mut bind_err = None;
                for (i, v) in portal.params.iter().enumerate() {
                    if let Err(e) = prepared.bind(i, v) {
                        bind_err = Some(e);
                        break;
                    }
                }
                match bind_err {
                    Some(e) => Err(e),
                    None => prepared.execute(d.returns_rows),
                }
            };
            let reason = if d.returns_rows {
                None
            } else {
                self.control.end()
            };
            let mut result = match exec {
                Ok(r) => r,
                Err(e) => {
                    if let Some(commit) = &d.lake_commit {
                        commit.discard();
                    }
                    let reason = reason.or_else(|| self.control.end());
                    return Err(self
                        .engine_error(&e.message, &portal.stmt.sql, reason)
                        .into());
                }
            };
            if !d.returns_rows {
                let count = count_from_result(&mut result).map_err(|e| {
                    SessionError::Pg(PgError::from_duckdb(&e.message, Some(&portal.stmt.sql)))
                })?;
                drop(result);
                let in_transaction = self.in_transaction();
                let count = match (&d.lake_commit, lake) {
                    (Some(commit), Some(lake)) => {
                        let txn = if in_transaction {
                            Some(self.lake_txn.get_or_insert_with(LakeTxn::new))
                        } else {
                            None
                        };
                        lake.commit_write(commit, &self.conn, &self.runtime, txn)?
                    }
                    _ => count,
                };
                log_if_slow(self.pid, &portal.stmt.sql, started);
                let tag = format_tag(portal.command_tag.as_ref().unwrap_or(&d.tag), count);
                wire::command_complete(&mut self.out, &tag);
                portal.state = PortalState::Done;
                return Ok(());
            }
            let described;
            let fields: &[Field] = if portal.describe {
                described = {
                    let mut fields = result_fields(&mut result);
                    if let Some(names) = portal
                        .stmt
                        .fields
                        .as_ref()
                        .filter(|f| f.len() == fields.len())
                    {
                        for (field, named) in fields.iter_mut().zip(names) {
                            field.name = named.name.clone();
                            field.type_oid = catalog_type(field.type_oid, named.type_oid);
                        }
                    }
                    fields
                };
                wire::row_description(&mut self.out, &described, &|_| false);
                &described
            } else {
                portal.stmt.fields.as_deref().unwrap_or(&[])
            };
            let ncols = result.column_count();
            if ncols != fields.len() {
                self.control.end();
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cached plan must not change result type DEBUG exec {} vs {}",
                        ncols,
                        fields.len()
                    ),
                )
                .into());
            }
            let mut encoders = Vec::with_capacity(ncols);
            // OID-alias columns print names: the lake's as this statement sees them.
            let reg_names = match fields
                .iter()
                .any(|f| crate::reg_names::prints_names(f.type_oid))
            {
                true => Some(self.reg_names()?),
                false => None,
            };
            for (i, field) in fields.iter().enumerate() {
                let kind = result
                    .column_type(i)
                    .map(|t| ValueKind::from_logical(&t))
                    .unwrap_or(ValueKind::Text);
                let mut enc = ColumnEncoder::new(kind, field.type_oid, portal.is_binary(i));
                if let Some(names) = &reg_names {
                    enc = enc.with_names(field.type_oid, names);
                }
                if let Some(name) = enc.unsupported_type() {
                    self.control.end();
                    return Err(PgError::new(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("result column \"{}\" has type {name}, which Floe cannot send; cast it to VARCHAR", field.name),
                    )
                    .into());
                }
                encoders.push(enc);
            }
            portal.state = PortalState::Streaming(Box::new(ActiveQuery {
                result,
                encoders,
                chunk: None,
                pos: 0,
            }));
            let r = self.stream(portal, max_rows);
            log_if_slow(self.pid, &portal.stmt.sql, started);
            return r;
        }
        let seq = self.control.begin();
        self.arm_timeout(seq);
        self.stream(portal, max_rows)
    }

    /// Sends rows of a started portal; ends the query control started by the caller.
    fn stream(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
        let r = self.stream_inner(portal, max_rows);
        let reason = self.control.end();
        match r {
            Err(SessionError::Pg(mut e))
                if e.code == sqlstate::QUERY_CANCELED || reason.is_some() =>
            {
                if let Some(CancelReason::Timeout) = reason {
                    e = PgError::new(
                        sqlstate::QUERY_CANCELED,
                        "canceling statement due to statement timeout",
                    );
                } else if reason.is_some() {
                    e = PgError::canceled();
                }
                portal.state = PortalState::Done;
                Err(e.into())
            }
            other => other,
        }
    }

    fn stream_inner(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
        let limit = if max_rows == 0 { u64::MAX } else { max_rows };
        let mut sent = 0u64;
        match &mut portal.state {
            PortalState::Buffered { rows } => {
                while sent < limit {
                    match rows.pop_front() {
                        Some(r) => {
                            self.out.extend_from_slice(&r);
                            sent += 1;
                            self.maybe_flush()?;
                        }
                        None => break,
                    }
                }
                if rows.is_empty() && sent < limit {
                    let tag = format_tag(portal.command_tag.as_ref().unwrap_or(&Tag::Select), sent);
                    portal.state = PortalState::Done;
                    wire::command_complete(&mut self.out, &tag);
                } else {
                    wire::portal_suspended(&mut self.out);
                }
                return Ok(());
            }
            PortalState::Done => {
                let tag = format_tag(portal.command_tag.as_ref().unwrap_or(&Tag::Select), 0);
                wire::command_complete(&mut self.out, &tag);
                return Ok(());
            }
            PortalState::NotStarted => return Ok(()),
            PortalState::Streaming(_) => {}
        }
        let settings = portal.settings.clone();
        let PortalState::Streaming(active) = &mut portal.state else {
            return Ok(());
        };
        loop {
            if sent >= limit {
                wire::portal_suspended(&mut self.out);
                return Ok(());
            }
            if let Some(chunk) = &active.chunk {
                let available = chunk.len() - active.pos;
                let take = (available as u64).min(limit - sent) as usize;
                encode_rows(
                    &active.encoders,
                    chunk,
                    active.pos..active.pos + take,
                    &settings,
                    &mut self.out,
                );
                active.pos += take;
                sent += take as u64;
                if active.pos >= chunk.len() {
                    active.chunk = None;
                }
                self.maybe_flush()?;
                continue;
            }
            match active.result.fetch() {
                Ok(Some(chunk)) => {
                    active.pos = 0;
                    if !chunk.is_empty() {
                        active.chunk = Some(chunk);
                    }
                }
                Ok(None) => {
                    let tag = format_tag(portal.command_tag.as_ref().unwrap_or(&Tag::Select), sent);
                    portal.state = PortalState::Done;
                    wire::command_complete(&mut self.out, &tag);
                    return Ok(());
                }
                Err(e) => {
                    let sql = portal.stmt.sql.clone();
                    portal.state = PortalState::Done;
                    return Err(PgError::from_duckdb(&e.message, Some(&sql)).into());
                }
            }
        }
    }

    /// Drains every suspended streaming portal into memory: DuckDB allows one open
    /// result per connection, and another statement is about to run.
    fn close_all_streams(&mut self) {
        let names: Vec<String> = self
            .portals
            .iter()
            .filter(|(_, p)| matches!(p.state, PortalState::Streaming(_)))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(portal) = self.portals.get_mut(&name) else {
                continue;
            };
            let settings = portal.settings.clone();
            let PortalState::Streaming(active) =
                std::mem::replace(&mut portal.state, PortalState::Done)
            else {
                continue;
            };
            let mut active = *active;
            let mut rows = std::collections::VecDeque::new();
            let mut push_chunk = |chunk: &DataChunk, from: usize, encoders: &[ColumnEncoder]| {
                for r in from..chunk.len() {
                    let mut b = BytesMut::new();
                    encode_rows(encoders, chunk, r..r + 1, &settings, &mut b);
                    rows.push_back(b.freeze());
                }
            };
            if let Some(chunk) = active.chunk.take() {
                push_chunk(&chunk, active.pos, &active.encoders);
            }
            let mut failed = false;
            loop {
                match active.result.fetch() {
                    Ok(Some(chunk)) => push_chunk(&chunk, 0, &active.encoders),
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            portal.state = if failed {
                PortalState::Done
            } else {
                PortalState::Buffered { rows }
            };
        }
    }

    fn arm_timeout(&self, seq: u64) {
        let ms = self.params.statement_timeout_ms();
        if ms == 0 {
            return;
        }
        let control = self.control.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            control.cancel_if_running(seq, CancelReason::Timeout);
        });
    }

    fn engine_error(&self, message: &str, sql: &str, reason: Option<CancelReason>) -> PgError {
        match reason {
            Some(CancelReason::Timeout) => PgError::new(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ),
            Some(_) => PgError::canceled(),
            None => PgError::from_duckdb(message, Some(sql)),
        }
    }

    // ---- transactions --------------------------------------------------------------

    fn begin_implicit(&mut self) -> SResult<()> {
        self.close_all_streams();
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        self.implicit_open = true;
        Ok(())
    }

    fn commit_implicit(&mut self) -> SResult<()> {
        self.implicit_open = false;
        self.close_all_streams();
        if let Err(e) = self.publish_lake_txn() {
            self.rollback_engine();
            return Err(e);
        }
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
        self.cursors_at_commit();
        Ok(())
    }

    /// Whether a lake write now joins a transaction (a block, or the implicit
    /// one of a multi-statement query) instead of committing at once.
    fn in_transaction(&self) -> bool {
        self.txn != TxnState::Idle || self.implicit_open
    }

    /// Publishes the transaction's lake changes, all or none; called before the
    /// engine's own COMMIT, which is rolled back when this fails.
    fn publish_lake_txn(&mut self) -> SResult<()> {
        let (Some(txn), Some(lake)) = (self.lake_txn.take(), self.lake.clone()) else {
            return Ok(());
        };
        let published = self.runtime.block_on(txn.commit(lake.lakehouse()));
        lake.forget_virtual_schema();
        self.statement_cache.clear();
        published.map_err(|e| PgError::new(e.sqlstate(), e.to_string()).into())
    }

    /// Forgets the transaction's lake changes (ROLLBACK, an aborted implicit
    /// transaction, the end of the session).
    fn discard_lake_txn(&mut self) {
        let (Some(txn), Some(lake)) = (self.lake_txn.take(), self.lake.clone()) else {
            return;
        };
        self.runtime.block_on(txn.rollback(lake.lakehouse()));
        lake.forget_virtual_schema();
        self.statement_cache.clear();
    }

    /// The lakehouse, for a lake write.
    fn lake_for_write(&self) -> SResult<Arc<LakeReader>> {
        let Some(lake) = self.lake.clone() else {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this worker has no lakehouse",
            )
            .into());
        };
        Ok(lake)
    }

    fn run_session_command(&mut self, cmd: &SessionCommand) -> SResult<()> {
        match cmd {
            SessionCommand::Begin => {
                if self.txn != TxnState::Idle {
                    self.notice(PgError::warning(
                        "there is already a transaction in progress",
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                    ));
                } else {
                    if !self.implicit_open {
                        self.close_all_streams();
                        self.conn
                            .execute_batch("BEGIN TRANSACTION")
                            .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                    }
                    self.implicit_open = false;
                    self.txn = TxnState::InBlock;
                    self.params_at_begin = Some(self.params.clone());
                    self.params_after_commit = Some(self.params.clone());
                }
                wire::command_complete(&mut self.out, "BEGIN");
            }
            SessionCommand::Commit => match self.txn {
                TxnState::Idle => {
                    self.notice(PgError::warning(
                        "there is no transaction in progress",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                    if self.implicit_open {
                        self.commit_implicit()?;
                    }
                    wire::command_complete(&mut self.out, "COMMIT");
                }
                TxnState::Failed => {
                    self.rollback_transaction();
                    wire::command_complete(&mut self.out, "ROLLBACK");
                }
                TxnState::InBlock => {
                    self.portals.retain(|n, _| n.is_empty());
                    self.close_all_streams();
                    if let Err(e) = self.publish_lake_txn() {
                        self.rollback_transaction();
                        return Err(e);
                    }
                    let r = self.conn.execute_batch("COMMIT");
                    match r {
                        Ok(()) => {
                            self.txn = TxnState::Idle;
                            self.end_savepoints();
                            self.cursors_at_commit();
                            let before = self.params.clone();
                            if let Some(p) = self.params_after_commit.take() {
                                self.params = p;
                            }
                            self.params_at_begin = None;
                            self.announce_changes(&before);
                            wire::command_complete(&mut self.out, "COMMIT");
                        }
                        Err(e) => {
                            self.rollback_transaction();
                            return Err(PgError::from_duckdb(&e.message, None).into());
                        }
                    }
                }
            },
            SessionCommand::Rollback => {
                if self.txn == TxnState::Idle {
                    self.notice(PgError::warning(
                        "there is no transaction in progress",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                    if self.implicit_open {
                        self.close_all_streams();
                        self.rollback_engine();
                        self.implicit_open = false;
                        self.discard_lake_txn();
                    }
                } else {
                    self.rollback_transaction();
                }
                wire::command_complete(&mut self.out, "ROLLBACK");
            }
            SessionCommand::PoolReset => {
                self.portals.clear();
                if self.txn != TxnState::Idle || self.implicit_open {
                    self.rollback_engine();
                }
                self.txn = TxnState::Idle;
                self.end_savepoints();
                self.implicit_open = false;
                self.discard_lake_txn();
                self.params_at_begin = None;
                self.params_after_commit = None;
                self.statements.clear();
                self.statement_cache.clear();
                self.close_all_cursors();
                self.drop_temporary_objects()?;
                // Nobody holds the session until the router hands it on.
                self.superuser = false;
                self.params = self.fresh_params(&self.default_params, &[]);
                wire::command_complete(&mut self.out, "DISCARD ALL");
            }
            SessionCommand::CreateSchema {
                name,
                if_not_exists,
            } => {
                let lake = self.lake_for_write()?;
                let outcome = if self.in_transaction() {
                    let txn = self.lake_txn.get_or_insert_with(LakeTxn::new);
                    self.runtime
                        .block_on(txn.create_schema(lake.lakehouse(), name, *if_not_exists))
                } else {
                    self.runtime
                        .block_on(lake.lakehouse().create_schema(name, *if_not_exists))
                };
                lake.forget_virtual_schema();
                outcome.map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
                wire::command_complete(&mut self.out, "CREATE SCHEMA");
            }
            SessionCommand::DropSchema {
                names,
                if_exists,
                cascade,
            } => {
                let lake = self.lake_for_write()?;
                let in_transaction = self.in_transaction();
                for name in names {
                    // Views live in the transaction layer: a schema holding
                    // some is dropped through a transaction of its own.
                    let has_views = lake
                        .listing(self.lake_txn.as_ref(), &self.runtime)?
                        .schema(name)
                        .is_some_and(|s| !s.views.is_empty());
                    let outcome = if in_transaction {
                        let txn = self.lake_txn.get_or_insert_with(LakeTxn::new);
                        self.runtime.block_on(txn.drop_schema(
                            lake.lakehouse(),
                            name,
                            *if_exists,
                            *cascade,
                        ))
                    } else if has_views {
                        let mut own = LakeTxn::new();
                        self.runtime
                            .block_on(own.drop_schema(lake.lakehouse(), name, *if_exists, *cascade))
                            .map(|()| own)
                            .and_then(|own| self.runtime.block_on(own.commit(lake.lakehouse())))
                    } else {
                        self.runtime
                            .block_on(lake.lakehouse().drop_schema(name, *if_exists, *cascade))
                    };
                    lake.forget_virtual_schema();
                    outcome.map_err(|e| PgError::new(e.sqlstate(), e.to_string()))?;
                }
                wire::command_complete(&mut self.out, "DROP SCHEMA");
            }
            SessionCommand::FloeCall { procedure, args } => {
                // They register or delete files: Postgres keeps its file access
                // (pg_read_file, lo_import) to superusers as well.
                if !self.superuser {
                    return Err(PgError::new(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be superuser to call {procedure}"),
                    )
                    .into());
                }
                let Some(lake) = self.lake.clone() else {
                    return Err(PgError::new(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "this worker has no lakehouse",
                    )
                    .into());
                };
                let names = NameContext {
                    search_path: self.params.get("search_path").unwrap_or("public"),
                    user: &self.user,
                    database: &self.database,
                    txn: self.lake_txn.as_ref(),
                };
                let told =
                    crate::lake_procedures::call(&lake, procedure, args, &names, &self.runtime)?;
                if let Some(message) = told {
                    let mut notice = PgError::new("00000", message);
                    notice.severity = crate::pg_error::Severity::Notice;
                    self.notice(notice);
                }
                wire::command_complete(&mut self.out, "CALL");
            }
            SessionCommand::PoolStats => {
                let report = self
                    .lake
                    .as_ref()
                    .map(|l| l.cache_report())
                    .unwrap_or_default();
                for (name, value) in report {
                    wire::parameter_status(&mut self.out, name, &value.to_string());
                }
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::PoolSession {
                user,
                database,
                superuser,
                params,
            } => {
                if self.txn != TxnState::Idle {
                    return Err(PgError::new(
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "a pooled session cannot change hands inside a transaction",
                    )
                    .into());
                }
                self.user = user.clone();
                self.database = database.clone();
                self.superuser = *superuser;
                for sql in pg_compat::identity_setup(user, database) {
                    self.conn
                        .execute_batch(&sql)
                        .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                }
                let startup: Vec<(String, String)> = params
                    .iter()
                    .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("floe."))
                    .cloned()
                    .collect();
                self.params = self.fresh_params(&self.default_params, &startup);
                // The new client needs every reported parameter, as at startup.
                for (k, v) in self.params.reported() {
                    wire::parameter_status(&mut self.out, k, &v);
                }
                wire::command_complete(&mut self.out, "SET");
            }
            SessionCommand::Settings(items) => {
                let mut shown = Vec::with_capacity(items.len());
                for (_, call) in items {
                    match call {
                        SettingCall::Read(name) => match self.params.show(name) {
                            Some((_, value)) => shown.push(value),
                            None => {
                                return Err(crate::settings::unrecognized_parameter(name).into())
                            }
                        },
                        SettingCall::Write { name, value, local } => {
                            let value = match value {
                                SettingValue::Text(v) => Some(v.as_str()),
                                SettingValue::Default => None,
                                SettingValue::Param(n) => {
                                    return Err(PgError::new(
                                        "42P02",
                                        format!("there is no parameter ${n}"),
                                    )
                                    .into())
                                }
                            };
                            // set_config with is_local outside a transaction has no
                            // effect, as SET LOCAL; the function still returns the value.
                            if !(*local && self.txn == TxnState::Idle) {
                                let before = self.params.clone();
                                self.params.set(name, value)?;
                                if !*local {
                                    if let Some(after) = &mut self.params_after_commit {
                                        after.set(name, value)?;
                                    }
                                }
                                self.announce_changes(&before);
                            }
                            shown.push(
                                self.params
                                    .get(name)
                                    .or(value)
                                    .unwrap_or_default()
                                    .to_string(),
                            );
                        }
                    }
                }
                let row: Vec<Option<&str>> = shown.iter().map(|v| Some(v.as_str())).collect();
                wire::text_row(&mut self.out, &row);
                wire::command_complete(&mut self.out, "SELECT 1");
            }
            SessionCommand::Set { name, value, local } => {
                if *local && self.txn == TxnState::Idle {
                    self.notice(PgError::warning(
                        "SET LOCAL can only be used in transaction blocks",
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    ));
                } else {
                    let before = self.params.clone();
                    self.params.set(name, value.as_deref())?;
                    if !*local {
                        if let Some(after) = &mut self.params_after_commit {
                            after.set(name, value.as_deref())?;
                        }
                    }
                    self.announce_changes(&before);
                }
                wire::command_complete(&mut self.out, "SET");
            }
            SessionCommand::Reset(name) => {
                let before = self.params.clone();
                match name {
                    Some(n) => {
                        self.params.set(n, None)?;
                    }
                    None => {
                        // Read-only parameters refuse, and keep their value.
                        for (k, _, _) in self.params.all() {
                            let _ = self.params.set(k, None);
                        }
                    }
                }
                if let Some(after) = &mut self.params_after_commit {
                    *after = self.params.clone();
                }
                self.announce_changes(&before);
                wire::command_complete(&mut self.out, "RESET");
            }
            SessionCommand::Show(name) => {
                let (_, value) = self
                    .params
                    .show(name)
                    .ok_or_else(|| crate::settings::unrecognized_parameter(name))?;
                wire::text_row(&mut self.out, &[Some(&value)]);
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::ShowAll => {
                for (name, value, desc) in self.params.all() {
                    wire::text_row(&mut self.out, &[Some(name), Some(&value), Some(desc)]);
                }
                wire::command_complete(&mut self.out, "SHOW");
            }
            SessionCommand::DiscardAll => {
                if self.txn != TxnState::Idle {
                    return Err(PgError::new(
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    )
                    .into());
                }
                let before = self.params.clone();
                let startup: Vec<(String, String)> = Vec::new();
                let mut fresh = self.fresh_params(&[], &startup);
                // application_name set at startup survives like other startup options do not;
                // Postgres resets to the startup values, which are the session defaults.
                if let Some(app) = before.get("application_name") {
                    let _ = fresh.set("application_name", Some(app));
                }
                self.params = fresh;
                self.portals.clear();
                self.statements.clear();
                self.close_all_cursors();
                self.announce_changes(&before);
                wire::command_complete(&mut self.out, "DISCARD ALL");
            }
            SessionCommand::NoOp(tag) => wire::command_complete(&mut self.out, tag),
            SessionCommand::Deallocate(None) => {
                self.statements.clear();
                wire::command_complete(&mut self.out, "DEALLOCATE ALL");
            }
            SessionCommand::Deallocate(Some(name)) => {
                // A statement SQL's PREPARE made lives in the engine.
                let in_engine = || {
                    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
                    self.conn
                        .execute_batch(&format!("DEALLOCATE {quoted}"))
                        .is_ok()
                };
                if self.statements.remove(name).is_none() && !in_engine() {
                    return Err(PgError::new(
                        sqlstate::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{name}\" does not exist"),
                    )
                    .into());
                }
                wire::command_complete(&mut self.out, "DEALLOCATE");
            }
            SessionCommand::Savepoint(name) => return self.savepoint(name),
            SessionCommand::ReleaseSavepoint(name) => return self.release_savepoint(name),
            SessionCommand::RollbackToSavepoint(name) => return self.rollback_to_savepoint(name),
            SessionCommand::Unsupported(what) => {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("{what} is not supported"),
                )
                .into());
            }
        }
        Ok(())
    }

    /// Ends the explicit transaction by rolling back (ROLLBACK, or COMMIT of a failed
    /// transaction), restoring the parameters it changed.
    fn rollback_transaction(&mut self) {
        self.end_savepoints();
        self.portals.retain(|n, _| n.is_empty());
        self.close_all_streams();
        self.rollback_engine();
        self.discard_lake_txn();
        self.txn = TxnState::Idle;
        self.implicit_open = false;
        let before = self.params.clone();
        if let Some(p) = self.params_at_begin.take() {
            self.params = p;
        }
        self.params_after_commit = None;
        self.announce_changes(&before);
    }

    fn announce_changes(&mut self, before: &SessionParams) {
        for (k, v) in self.params.changed_reported(before) {
            wire::parameter_status(&mut self.out, k, &v);
        }
    }
}

/// The fields of a result as it actually came out of DuckDB.
fn result_fields(result: &mut QueryResult) -> Vec<Field> {
    (0..result.column_count())
        .map(|i| {
            let t = result.column_type(i);
            field_for(result.column_name(i), t.as_ref())
        })
        .collect()
}

/// A result column of DuckDB type `t` as Postgres describes it (text when the
/// type is unknown).
fn field_for(name: String, t: Option<&LogicalType>) -> Field {
    let (type_oid, typmod) = match t {
        Some(t) => {
            let k = ValueKind::from_logical(t);
            (k.pg_type(), k.typmod(t))
        }
        None => (oid::TEXT, -1),
    };
    Field {
        name,
        type_oid,
        typmod,
    }
}

/// Statement types whose DuckDB result is a status, not rows for the client.
fn is_status_only(stype: duckdb::ffi::duckdb_statement_type) -> bool {
    use duckdb::ffi;
    matches!(
        stype,
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_TRANSACTION
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SET
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_VARIABLE_SET
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_ATTACH
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DETACH
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_LOAD
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_VACUUM
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_ANALYZE
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_PREPARE
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPORT
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_COPY_DATABASE
    )
}

/// Statements a failed transaction still runs: its end, or a return to a
/// savepoint.
fn is_txn_end_command(tokens: &[Token]) -> bool {
    matches!(
        sql_text::session_command(tokens),
        Some(
            SessionCommand::Commit
                | SessionCommand::Rollback
                | SessionCommand::RollbackToSavepoint(_)
        )
    )
}

fn is_txn_end(stmt: &Statement) -> bool {
    matches!(
        stmt.kind,
        StatementKind::Session(
            SessionCommand::Commit
                | SessionCommand::Rollback
                | SessionCommand::RollbackToSavepoint(_)
        )
    )
}

/// Whether the session (not DuckDB) runs this command.
fn owned_by_session(cmd: &SessionCommand) -> bool {
    match cmd {
        SessionCommand::Set { name, .. } => is_session_parameter(name),
        SessionCommand::Settings(items) => {
            items.iter().all(|(_, c)| is_session_parameter(c.name()))
        }
        SessionCommand::Reset(Some(name)) | SessionCommand::Show(name) => {
            is_session_parameter(name)
        }
        _ => true,
    }
}

fn session_fields(cmd: &SessionCommand, params: &SessionParams) -> Option<Vec<Field>> {
    let text = |name: &str| Field {
        name: name.to_string(),
        type_oid: oid::TEXT,
        typmod: -1,
    };
    match cmd {
        SessionCommand::Show(name) => {
            let canonical = params.show(name).map_or(name.as_str(), |(c, _)| c);
            Some(vec![text(canonical)])
        }
        SessionCommand::ShowAll => Some(vec![text("name"), text("setting"), text("description")]),
        SessionCommand::Settings(items) => {
            Some(items.iter().map(|(column, _)| text(column)).collect())
        }
        _ => None,
    }
}

/// The DuckDB type a declared Postgres parameter type is cast to.
fn duckdb_type_name(pg: u32) -> Option<&'static str> {
    Some(match pg {
        oid::BOOL => "BOOLEAN",
        oid::INT2 => "SMALLINT",
        oid::INT4 => "INTEGER",
        oid::INT8 => "BIGINT",
        oid::FLOAT4 => "REAL",
        oid::FLOAT8 => "DOUBLE",
        oid::NUMERIC => "DECIMAL(38,10)",
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => "VARCHAR",
        oid::BYTEA => "BLOB",
        oid::DATE => "DATE",
        oid::TIME => "TIME",
        oid::TIMETZ => "TIMETZ",
        oid::TIMESTAMP => "TIMESTAMP",
        oid::TIMESTAMPTZ => "TIMESTAMPTZ",
        oid::INTERVAL => "INTERVAL",
        oid::UUID => "UUID",
        oid::JSON | oid::JSONB => "JSON",
        oid::INT4_ARRAY => "INTEGER[]",
        oid::INT8_ARRAY => "BIGINT[]",
        oid::INT2_ARRAY => "SMALLINT[]",
        oid::TEXT_ARRAY | oid::VARCHAR_ARRAY => "VARCHAR[]",
        oid::FLOAT8_ARRAY => "DOUBLE[]",
        oid::FLOAT4_ARRAY => "REAL[]",
        oid::BOOL_ARRAY => "BOOLEAN[]",
        _ => return None,
    })
}

/// One statement of a (possibly multi-statement) query string.
struct Piece<'a> {
    text: &'a str,
    offset: usize,
    tokens: Vec<Token>,
}

/// Splits on top-level semicolons; pieces with no tokens (only comments or
/// whitespace) are dropped.
fn split_statements<'a>(sql: &'a str, tokens: &[Token]) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut start: Option<usize> = None;
    let mut flush = |current: &mut Vec<Token>, start: &mut Option<usize>, end: usize| {
        if let Some(s) = start.take() {
            let toks: Vec<Token> = std::mem::take(current)
                .into_iter()
                .map(|mut t| {
                    t.span = t.span.start - s..t.span.end - s;
                    t
                })
                .collect();
            pieces.push(Piece {
                text: &sql[s..end],
                offset: s,
                tokens: toks,
            });
        }
    };
    for t in tokens {
        if t.tok == Tok::Punct(';') {
            flush(&mut current, &mut start, t.span.start);
            continue;
        }
        if start.is_none() {
            start = Some(t.span.start);
        }
        current.push(t.clone());
    }
    flush(&mut current, &mut start, sql.len());
    pieces
}

/// Adds the piece's offset to an error position, so it points into the whole query.
fn shift_position(mut e: PgError, sql: &str, byte_offset: usize) -> PgError {
    if let Some(p) = e.position {
        if sql.is_char_boundary(byte_offset) {
            e.position = Some(p + sql[..byte_offset].chars().count() as u32);
        }
    }
    e
}

fn command_tag(
    stype: duckdb::ffi::duckdb_statement_type,
    words: &[String],
    tokens: &[Token],
) -> Tag {
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match stype {
        st::SELECT | st::EXPLAIN | st::PRAGMA | st::CALL => {
            if w(0) == "EXPLAIN" {
                Tag::Fixed("EXPLAIN".into())
            } else {
                Tag::Select
            }
        }
        st::INSERT => Tag::Insert,
        st::UPDATE => Tag::Update,
        st::DELETE => {
            if w(0) == "TRUNCATE" {
                Tag::Fixed("TRUNCATE TABLE".into())
            } else {
                Tag::Delete
            }
        }
        st::MERGE_INTO => Tag::Merge,
        st::COPY => Tag::Copy,
        st::CREATE | st::CREATE_FUNC | st::DROP | st::ALTER => {
            // Skip modifiers to find the object kind: CREATE OR REPLACE TEMP TABLE …
            let verb = w(0).to_string();
            let object = words
                .iter()
                .skip(1)
                .find(|x| {
                    !matches!(
                        x.as_str(),
                        "OR" | "REPLACE"
                            | "TEMP"
                            | "TEMPORARY"
                            | "UNIQUE"
                            | "PERSISTENT"
                            | "IF"
                            | "NOT"
                            | "EXISTS"
                    )
                })
                .map(String::as_str)
                .unwrap_or("");
            let object = match object {
                "MACRO" => "FUNCTION",
                "" => return Tag::Fixed(verb),
                o => o,
            };
            if verb == "CREATE" && object == "TABLE" && is_create_table_as(tokens) {
                return Tag::CreateTableAs;
            }
            Tag::Fixed(format!("{verb} {object}"))
        }
        _ => Tag::Fixed(if w(0).is_empty() {
            "OK".into()
        } else {
            w(0).to_string()
        }),
    }
}

fn is_create_table_as(tokens: &[Token]) -> bool {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate() {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word("AS") => {
                return tokens.get(i + 1).is_some_and(|n| {
                    n.is_word("SELECT")
                        || n.is_word("WITH")
                        || n.is_word("VALUES")
                        || n.is_word("FROM")
                        || n.tok == Tok::Punct('(')
                });
            }
            _ => {}
        }
    }
    false
}

/// The type a result column is announced with when it reads a catalog column
/// of type `catalog` and the engine typed it `engine`: `name`, `"char"` and
/// `varchar` for the engine's text, `oid` and the OID-alias types whose values print
/// as names (`regclass`, …) for its UINTEGER (which reads as int8), and the
/// catalog's arrays of those and vectors for the engine's lists;
/// otherwise the engine's type stands.
fn catalog_type(engine: u32, catalog: u32) -> u32 {
    match (engine, catalog) {
        (
            oid::TEXT,
            oid::NAME | oid::CHAR | oid::BPCHAR | oid::VARCHAR | oid::PG_LSN | oid::REGTYPE,
        )
        | (oid::JSON, oid::JSONB)
        | (oid::INT8, oid::OID)
        | (oid::TEXT_ARRAY, oid::NAME_ARRAY | oid::CHAR_ARRAY | oid::ACLITEM_ARRAY)
        | (oid::INT2_ARRAY, oid::INT2VECTOR)
        | (oid::INT8_ARRAY, oid::OID_ARRAY | oid::OIDVECTOR) => catalog,
        (oid::INT8, c) if crate::reg_names::prints_names(c) => catalog,
        _ => engine,
    }
}

/// The type a parameter is described with: the engine's, but UINTEGER (how
/// Floe holds OIDs; `$1::oid` is written `$1::UINTEGER`) as `oid`.
fn parameter_type(kind: ValueKind) -> u32 {
    match kind {
        ValueKind::Int(IntWidth::U32) => oid::OID,
        ValueKind::List(e) if matches!(*e, ValueKind::Int(IntWidth::U32)) => oid::OID_ARRAY,
        k => k.pg_type(),
    }
}

fn format_tag(tag: &Tag, count: u64) -> String {
    match tag {
        Tag::Select | Tag::CreateTableAs => format!("SELECT {count}"),
        Tag::Insert => format!("INSERT 0 {count}"),
        Tag::Update => format!("UPDATE {count}"),
        Tag::Delete => format!("DELETE {count}"),
        Tag::Merge => format!("MERGE {count}"),
        Tag::Copy => format!("COPY {count}"),
        Tag::Fetch => format!("FETCH {count}"),
        Tag::Fixed(s) => s.clone(),
    }
}

/// Reads the row count DuckDB reports for DML and CREATE TABLE AS (a single BIGINT
/// "Count" column); other statements report 0.
fn count_from_result(result: &mut QueryResult) -> Result<u64, crate::duck::DuckError> {
    if result.column_count() != 1 || result.column_name(0) != "Count" {
        // Consume the result so DuckDB finishes the statement.
        while result.fetch()?.is_some() {}
        return Ok(0);
    }
    let mut count = 0u64;
    while let Some(chunk) = result.fetch()? {
        if !chunk.is_empty() {
            let v = chunk.vector(0);
            if v.is_valid(0) {
                // SAFETY: the Count column is BIGINT and the chunk has a row.
                count = unsafe { v.get::<i64>(0) }.max(0) as u64;
            }
        }
    }
    Ok(count)
}

fn log_if_slow(pid: i32, sql: &str, started: Instant) {
    let elapsed = started.elapsed();
    if elapsed >= SLOW_QUERY {
        let mut q: String = sql.chars().take(200).collect();
        if q.len() < sql.len() {
            q.push('…');
        }
        tracing::info!(pid, duration_ms = elapsed.as_millis() as u64, query = %q, "slow query");
    }
}

mod copy;
mod current_settings;
mod cursors;
mod explain;
mod late_bound;
mod savepoints;
mod schema_path;
mod set_config_params;
mod settings_view;
mod zoned_literals;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_top_level_semicolons() {
        let sql = "SELECT 1; SELECT 'a;b'; ; -- only a comment\n";
        let tokens = sql_text::tokenize(sql);
        let pieces = split_statements(sql, &tokens);
        let texts: Vec<&str> = pieces.iter().map(|p| p.text).collect();
        assert_eq!(texts, vec!["SELECT 1", "SELECT 'a;b'"]);
        assert_eq!(pieces[1].offset, 10);
    }

    #[test]
    fn tags_follow_postgres() {
        let t = |sql: &str, stype| {
            let tokens = sql_text::tokenize(sql);
            let words = sql_text::leading_words(&tokens, 6);
            format_tag(&command_tag(stype, &words, &tokens), 3)
        };
        assert_eq!(
            t("CREATE OR REPLACE TEMP TABLE x (a int)", st::CREATE),
            "CREATE TABLE"
        );
        assert_eq!(t("CREATE TABLE x AS SELECT 1", st::CREATE), "SELECT 3");
        assert_eq!(t("CREATE VIEW v AS SELECT 1", st::CREATE), "CREATE VIEW");
        assert_eq!(t("DROP TABLE IF EXISTS x", st::DROP), "DROP TABLE");
        assert_eq!(t("INSERT INTO x VALUES (1)", st::INSERT), "INSERT 0 3");
        assert_eq!(t("UPDATE x SET a = 1", st::UPDATE), "UPDATE 3");
        assert_eq!(
            t("CREATE MACRO m(a) AS a", st::CREATE_FUNC),
            "CREATE FUNCTION"
        );
    }
}
