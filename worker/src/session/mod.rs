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
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pgwire::messages::extendedquery::{Bind, Close, Describe, Execute, Parse};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::PgWireFrontendMessage;
use tokio::sync::mpsc;

use crate::cache::files::FilePin;
use crate::codec::params;
use crate::codec::rows::{encode_rows, ColumnEncoder, OutputSettings};
use crate::codec::types::{oid, IntWidth, ValueKind};
use crate::compat::macros;
use crate::compat::settings::{is_session_parameter, SessionParams};
use crate::copy::command::CopyCommand;
use crate::engine::duck::{
    statement_type as st, Connection, DataChunk, InterruptHandle, LogicalType, Prepared,
    QueryResult, Value,
};
use crate::lake::write::{LakeCommit, LakeDdl, WritePlan};
use crate::lake::{LakeReader, LakeSnapshot};
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use crate::session::command_text::{SessionCommand, SettingCall, SettingValue};
use crate::wire::socket_writer::SocketWriter;
use crate::wire::{self, Field};
use floe_catalog::LakeTxn;
use floe_protocol::control::Control;
use floe_sql::policy::{PolicyContext, Refusal};
use floe_sql::tokens::{Tok, Token};

pub use control::{CancelReason, QueryControl};

/// Output is handed to the writer once this much is buffered.
const FLUSH_BYTES: usize = 128 * 1024;
/// Prepared statements a session keeps for reuse.
const STATEMENT_CACHE_SIZE: usize = 256;
/// Queries slower than this are logged.
const SLOW_QUERY: Duration = Duration::from_secs(1);

/// What the connection hands a session: the next frontend message, or a fatal
/// error (bad message, shutdown) that ends the session after it is sent.
pub enum SessionInput {
    Message(PgWireFrontendMessage),
    /// A Query or Parse with the router's analysis of its text (one input, so
    /// the session thread wakes once for both).
    Analysed {
        analysis: Control,
        message: PgWireFrontendMessage,
    },
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
    /// Whether the peer is a router, told of the lake changes the session
    /// makes (see [`floe_protocol::lake_changes`]).
    pub reports_lake_changes: bool,
    /// The worker's result cache (`None`: statements are never cached).
    pub result_cache: Option<Arc<crate::cache::results::ResultCache>>,
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
    /// `INSERT … RETURNING` on a lake table: the query reading back the rows
    /// the statement staged, run before they are committed.
    returning_sql: Option<String>,
    /// Whether its answers may come from the result cache (why not, if not).
    cacheable: result_cache::Cacheable,
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

impl Statement {
    /// A statement that reads no lake table and returns no rows: its
    /// parameters are the ones the client declared.
    fn without_rows(sql: &str, kind: StatementKind, client_types: &[u32]) -> Rc<Statement> {
        Rc::new(Statement {
            sql: sql.to_string(),
            kind,
            param_types: client_types.to_vec(),
            fields: None,
            client_types: client_types.to_vec(),
            lake_snapshots: Vec::new(),
            _lake_pins: Vec::new(),
        })
    }
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
    /// Rows answered from the result cache, `next` the first not yet sent.
    Cached {
        hit: crate::cache::results::CachedHit,
        next: usize,
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
    /// The Bind's parameters as the result cache keys them.
    param_key: Vec<u8>,
    /// A result-cache miss's answer, recorded while it streams.
    recording: Option<Box<result_cache::Recording>>,
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
            param_key: Vec::new(),
            recording: None,
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
    /// The router's analysis of the next Query or Parse text: a text it
    /// describes is not analysed again here.
    analysed: Option<Control>,
    /// Whether extended-protocol messages are being processed (statements that
    /// modify data then run in an implicit transaction until Sync).
    in_extended_batch: bool,
    ignore_till_sync: bool,
    statements: HashMap<String, Rc<Statement>>,
    /// Prepared statements by (text, declared parameter types), reused across
    /// simple queries and unnamed Parse messages.
    statement_cache: HashMap<(String, Vec<u32>), Rc<Statement>>,
    /// Whether SQL's PREPARE ran: such statements live in the engine, so the
    /// session can no longer move to another worker (`moving`).
    engine_prepared: bool,
    /// The `TimeZone` the engine's native functions know for this session.
    zone_registered: Option<String>,
    /// Which of `macros::ON_DEMAND_MACROS` this session has created
    /// outside a transaction block (one inside may be rolled back).
    on_demand_created: Vec<bool>,
    portals: HashMap<String, Portal>,
    control: Arc<QueryControl>,
    runtime: tokio::runtime::Handle,
    lake: Option<Arc<LakeReader>>,
    /// The worker's result cache, when it has one.
    result_cache: Option<Arc<crate::cache::results::ResultCache>>,
    /// Whether the router answered part of the text being prepared from its
    /// own state (`pg_stat_activity`): such answers are never cached.
    reads_router_state: bool,
    /// Where in the lakehouse's change log the session's last report to the
    /// router ended (`None` when the peer is no router).
    lake_reported: Option<u64>,
    /// The lake changes of the open transaction (explicit or implicit), staged
    /// until it commits.
    lake_txn: Option<LakeTxn>,
    /// The open transaction's savepoints, oldest first.
    savepoints: Vec<savepoints::Savepoint>,
    /// Cursors opened by DECLARE.
    cursors: cursors::Cursors,
    /// The schema path `current_schema` and `current_schemas` last answered.
    schema_path: Option<Vec<String>>,
    /// The session's TEMP tables and views (which unqualified names find
    /// before lake relations), read again from the engine once stale.
    temp_relations: Vec<String>,
    temp_relations_stale: bool,
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
        if let Some(lake) = &init.lake {
            crate::functions::sequences::register_session(
                conn.connection_id(),
                lake.clone(),
                init.runtime.clone(),
            );
        }
        Session {
            writer,
            rx,
            out: BytesMut::with_capacity(FLUSH_BYTES + 16 * 1024),
            params,
            params_at_begin: None,
            params_after_commit: None,
            txn: TxnState::Idle,
            implicit_open: false,
            analysed: None,
            in_extended_batch: false,
            ignore_till_sync: false,
            statements: HashMap::new(),
            statement_cache: HashMap::new(),
            engine_prepared: false,
            zone_registered: None,
            on_demand_created: vec![false; macros::ON_DEMAND_MACROS.len()],
            schema_path: None,
            temp_relations: Vec::new(),
            temp_relations_stale: true,
            portals: HashMap::new(),
            control,
            runtime: init.runtime,
            lake_reported: match (&init.lake, init.reports_lake_changes) {
                (Some(lake), true) => Some(lake.lakehouse().changes().end()),
                _ => None,
            },
            lake: init.lake,
            result_cache: init.result_cache,
            reads_router_state: false,
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
        // An analysis is for the message that follows it, never for another
        // client's session.
        self.analysed = None;
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
            // The reader delivers analyses with their messages
            // (`SessionInput::Analysed`); one on its own describes nothing.
            Control::Analysed { .. } => return true,
            // The reader applies these to the lakehouse as they arrive.
            Control::LakeChanged(_) => return true,
            Control::Export => {
                let answer = self.export_state();
                self.out.extend_from_slice(&answer);
                self.ready_for_query();
                return true;
            }
            Control::Import(state) => {
                let r = self.import_state(&state);
                self.report(r);
                self.ready_for_query();
                return true;
            }
            // A worker's answers; a router sends neither.
            Control::SessionState(_) | Control::Stays(_) => return true,
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
                self.skip_reported_changes();
                let msg = match input {
                    SessionInput::Message(m) => m,
                    SessionInput::Analysed { analysis, message } => {
                        self.analysed = Some(analysis);
                        message
                    }
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
        let identity = macros::identity_setup(&self.user, &self.database);
        // One transaction for the whole setup (costly macros wait until a
        // statement uses them: `macros::ON_DEMAND_MACROS`).
        let statements = macros::SESSION_SETUP
            .iter()
            .chain(crate::functions::integer_aggregates::MACROS)
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

    /// Moves the report position past changes made while nothing of this
    /// session's was waiting to be sent: every change this session made is
    /// in a report already sent, and the others are their sessions' to report.
    fn skip_reported_changes(&mut self) {
        if let (Some(at), Some(lake), true) =
            (&mut self.lake_reported, &self.lake, self.out.is_empty())
        {
            *at = lake.lakehouse().changes().end();
        }
    }

    /// The lake changes made since the last report, as a control message for
    /// the router, which must have them before the client hears of the
    /// statements that made them.
    fn lake_change_report(&mut self) -> Option<BytesMut> {
        let (Some(at), Some(lake)) = (&mut self.lake_reported, &self.lake) else {
            return None;
        };
        let (changes, end) = lake.lakehouse().changes().since(*at);
        *at = end;
        (!changes.is_empty()).then(|| Control::LakeChanged(changes).encode())
    }

    fn flush(&mut self) -> SResult<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let report = self.lake_change_report();
        let r = match report {
            Some(report) => self
                .writer
                .write_all(&report)
                .and_then(|_| self.writer.write_all(&self.out)),
            None => self.writer.write_all(&self.out),
        };
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
        crate::session::command_text::session_command(tokens),
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
        (oid::INT8, c) if crate::compat::reg_names::prints_names(c) => catalog,
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
fn count_from_result(result: &mut QueryResult) -> Result<u64, crate::engine::duck::DuckError> {
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

pub mod command_text;
mod commands;
mod control;
mod copy;
mod current_settings;
mod cursors;
mod execute;
mod explain;
mod extended;
mod late_bound;
mod moving;
pub mod placeholders;
mod prepare;
mod result_cache;
mod savepoints;
mod schema_path;
mod set_config_params;
mod settings_view;
mod simple;
mod transactions;
mod zoned_literals;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_top_level_semicolons() {
        let sql = "SELECT 1; SELECT 'a;b'; ; -- only a comment\n";
        let tokens = floe_sql::tokens::tokenize(sql);
        let pieces = split_statements(sql, &tokens);
        let texts: Vec<&str> = pieces.iter().map(|p| p.text).collect();
        assert_eq!(texts, vec!["SELECT 1", "SELECT 'a;b'"]);
        assert_eq!(pieces[1].offset, 10);
    }

    #[test]
    fn tags_follow_postgres() {
        let t = |sql: &str, stype| {
            let tokens = floe_sql::tokens::tokenize(sql);
            let words = floe_sql::tokens::leading_words(&tokens, 6);
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
