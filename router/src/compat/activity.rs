//! The router's live sessions, served as `pg_stat_activity`, and the admin
//! functions `pg_cancel_backend(pid)` / `pg_terminate_backend(pid)`.
//!
//! Sessions are spread over workers, so only the router sees them all: a query
//! that reads `pg_stat_activity` gets the reference replaced (by token span) with a
//! VALUES list of the current sessions, and runs on its worker like any query;
//! calls of the admin functions with a literal pid are carried out here and
//! replaced by their boolean result.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use sqlparser::tokenizer::Token;
use tokio::sync::Notify;

use super::{timestamp_sql as ts, workers_view};
use crate::frontend::cancel::WorkerKey;
use crate::route::workers::WorkerSet;
use floe_sql::quote::literal as lit;
use floe_sql::{apply, significant_tokens};

/// What changes while a session runs.
#[derive(Debug, Clone)]
pub struct LiveState {
    pub application_name: String,
    /// `idle`, `active`, `idle in transaction`, `idle in transaction (aborted)`.
    pub state: &'static str,
    pub query: String,
    pub query_start: Option<SystemTime>,
}

/// One client session as `pg_stat_activity` shows it.
pub struct SessionInfo {
    pub pid: i32,
    pub user: String,
    pub database: String,
    pub client_addr: String,
    pub backend_start: SystemTime,
    pub superuser: bool,
    /// The worker session it runs on now (it may move between statements).
    pub worker: Mutex<WorkerKey>,
    /// Ends the session with 57P01 when notified.
    pub terminate: Notify,
    pub live: Mutex<LiveState>,
}

impl SessionInfo {
    pub fn live(&self) -> parking_lot::MutexGuard<'_, LiveState> {
        self.live.lock()
    }

    pub fn worker(&self) -> WorkerKey {
        self.worker.lock().clone()
    }
}

/// All live sessions of a router, and its workers for `pg_stat_floe_workers`.
#[derive(Default)]
pub struct Activity {
    sessions: Mutex<BTreeMap<i32, Arc<SessionInfo>>>,
    fleet: std::sync::OnceLock<WorkerSet>,
}

/// What an admin function call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    Cancel,
    Terminate,
}

impl Activity {
    fn lock(&self) -> parking_lot::MutexGuard<'_, BTreeMap<i32, Arc<SessionInfo>>> {
        self.sessions.lock()
    }

    /// The workers `pg_stat_floe_workers` shows (set once, by the router).
    pub fn show_workers(&self, workers: WorkerSet) {
        let _ = self.fleet.set(workers);
    }

    /// Statements running now on the worker at `addr`.
    pub fn running_on(&self, addr: &floe_protocol::ListenAddr) -> usize {
        // The map's lock is let go before any session's own lock is taken, as
        // in `as_subquery`: no lock is ever held while taking another.
        let sessions: Vec<Arc<SessionInfo>> = self.lock().values().cloned().collect();
        sessions
            .iter()
            .filter(|s| &s.worker().addr == addr && s.live().state == "active")
            .count()
    }

    /// `pg_stat_floe_workers` as a subquery, as `superuser` (or not) sees it.
    fn workers_subquery(&self, superuser: bool) -> String {
        let empty = WorkerSet::new(Vec::new(), Default::default());
        let workers = self.fleet.get().unwrap_or(&empty);
        workers_view::subquery(workers, |addr| self.running_on(addr), superuser)
    }

    pub fn register(&self, info: Arc<SessionInfo>) {
        self.lock().insert(info.pid, info);
    }

    pub fn unregister(&self, pid: i32) {
        self.lock().remove(&pid);
    }

    pub fn get(&self, pid: i32) -> Option<Arc<SessionInfo>> {
        self.lock().get(&pid).cloned()
    }

    /// The sessions as a SQL subquery with pg_stat_activity's columns, as
    /// `viewer` may see them: as in Postgres, another role's session shows its
    /// name and application but not its address, times, state or query (unless
    /// the viewer is a superuser).
    pub fn as_subquery(&self, viewer: Option<(&str, bool)>) -> String {
        let sessions: Vec<Arc<SessionInfo>> = self.lock().values().cloned().collect();
        let rows: Vec<String> = sessions
            .iter()
            .map(|s| {
                let live = s.live().clone();
                let permitted = viewer.is_none_or(|(user, superuser)| superuser || user == s.user);
                if !permitted {
                    return format!(
                        "({pid}, {db}, {user}, {app}, NULL::VARCHAR, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::VARCHAR, '<insufficient privilege>')",
                        pid = s.pid,
                        db = lit(&s.database),
                        user = lit(&s.user),
                        app = lit(&live.application_name),
                    );
                }
                format!(
                    "({pid}, {db}, {user}, {app}, {client}, {start}, {qstart}, {state}, {query})",
                    pid = s.pid,
                    db = lit(&s.database),
                    user = lit(&s.user),
                    app = lit(&live.application_name),
                    client = lit(s
                        .client_addr
                        .rsplit_once(':')
                        .map_or(s.client_addr.as_str(), |(a, _)| a)),
                    start = ts(Some(s.backend_start)),
                    qstart = ts(live.query_start),
                    state = lit(live.state),
                    query = lit(&live.query),
                )
            })
            .collect();
        format!(
            "(SELECT NULL::UINTEGER AS datid, datname::VARCHAR AS datname, pid::INTEGER AS pid, \
             NULL::INTEGER AS leader_pid, NULL::UINTEGER AS usesysid, usename::VARCHAR AS usename, \
             application_name::VARCHAR AS application_name, client_addr::VARCHAR AS client_addr, \
             NULL::VARCHAR AS client_hostname, NULL::INTEGER AS client_port, backend_start, \
             NULL::TIMESTAMPTZ AS xact_start, query_start, NULL::TIMESTAMPTZ AS state_change, \
             NULL::VARCHAR AS wait_event_type, NULL::VARCHAR AS wait_event, state::VARCHAR AS state, \
             NULL::VARCHAR AS backend_xid, NULL::VARCHAR AS backend_xmin, NULL::BIGINT AS query_id, \
             query::VARCHAR AS query, 'client backend' AS backend_type \
             FROM (VALUES {}) AS s(pid, datname, usename, application_name, client_addr, backend_start, query_start, state, query))",
            rows.join(", ")
        )
    }
}

/// Whether `sql` may mention anything this module rewrites (a cheap pre-check).
pub fn mentions(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.contains("pg_stat_activity")
        || lower.contains("pg_stat_floe_workers")
        || lower.contains("pg_cancel_backend")
        || lower.contains("pg_terminate_backend")
        || lower.contains("pg_backend_pid")
}

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
        Token::Word(w) => Some(w.value.clone()),
        _ => None,
    }
}

/// Rewrites references to `pg_stat_activity` and literal-pid calls of the admin
/// functions; `act` performs an admin action and returns its result, or why the
/// caller may not. Returns `Ok(None)` when nothing was rewritten.
pub fn rewrite(
    sql: &str,
    activity: &Activity,
    caller: (i32, &str, bool),
    mut act: impl FnMut(AdminAction, i32) -> Result<bool, String>,
) -> Result<Option<String>, String> {
    let Some(toks) = significant_tokens(sql) else {
        return Ok(None);
    };
    let spans: Vec<(usize, usize)> = toks.iter().map(|t| (t.start, t.end)).collect();
    let sig: Vec<(usize, &Token)> = toks
        .iter()
        .enumerate()
        .map(|(i, t)| (i, &t.token))
        .collect();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut k = 0;
    while k < sig.len() {
        let (i, tok) = sig[k];
        let name = word(tok);
        let qualified = name.as_deref() == Some("pg_catalog")
            && matches!(sig.get(k + 1).map(|s| s.1), Some(Token::Period));
        let (name_k, start) = if qualified {
            (k + 2, spans[i].0)
        } else {
            (k, spans[i].0)
        };
        let Some(&(ni, ntok)) = sig.get(name_k) else {
            break;
        };
        match word(ntok).as_deref() {
            Some(view @ ("pg_stat_activity" | "pg_stat_floe_workers")) => {
                // Keep the original name as the alias unless the query gives one.
                let next = sig.get(name_k + 1).map(|s| s.1);
                let has_alias = match next {
                    Some(Token::Word(w)) => {
                        w.keyword == sqlparser::keywords::Keyword::AS
                            || w.keyword == sqlparser::keywords::Keyword::NoKeyword
                    }
                    _ => false,
                };
                let mut replacement = if view == "pg_stat_activity" {
                    activity.as_subquery(Some((caller.1, caller.2)))
                } else {
                    activity.workers_subquery(caller.2)
                };
                if !has_alias {
                    replacement.push_str(" AS ");
                    replacement.push_str(view);
                }
                edits.push((start, spans[ni].1, replacement));
                k = name_k + 1;
                continue;
            }
            Some("pg_backend_pid") => {
                if let (Some(Token::LParen), Some(&(ci, Token::RParen))) =
                    (sig.get(name_k + 1).map(|s| s.1), sig.get(name_k + 2))
                {
                    edits.push((start, spans[ci].1, caller.0.to_string()));
                    k = name_k + 3;
                    continue;
                }
            }
            Some(f @ ("pg_cancel_backend" | "pg_terminate_backend")) => {
                // f ( <integer> )
                let args = (
                    sig.get(name_k + 1).map(|s| s.1),
                    sig.get(name_k + 2).map(|s| s.1),
                    sig.get(name_k + 3),
                );
                if let (
                    Some(Token::LParen),
                    Some(Token::Number(n, _)),
                    Some(&(ci, Token::RParen)),
                ) = args
                {
                    if let Ok(pid) = n.parse::<i32>() {
                        let action = if f == "pg_cancel_backend" {
                            AdminAction::Cancel
                        } else {
                            AdminAction::Terminate
                        };
                        let done = act(action, pid)?;
                        edits.push((
                            start,
                            spans[ci].1,
                            if done { "true".into() } else { "false".into() },
                        ));
                        k = name_k + 4;
                        continue;
                    }
                }
            }
            _ => {}
        }
        k += 1;
    }
    if edits.is_empty() {
        return Ok(None);
    }
    Ok(Some(apply(sql, edits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pid: i32, user: &str) -> Arc<SessionInfo> {
        Arc::new(SessionInfo {
            pid,
            user: user.into(),
            database: "floe".into(),
            client_addr: "127.0.0.1:5555".into(),
            backend_start: SystemTime::UNIX_EPOCH,
            superuser: false,
            worker: Mutex::new(WorkerKey {
                addr: "unix:/w".parse().expect("addr"),
                pid: 1,
                secret: 2,
            }),
            terminate: Notify::new(),
            live: Mutex::new(LiveState {
                application_name: "it's".into(),
                state: "idle",
                query: "SELECT 1".into(),
                query_start: None,
            }),
        })
    }

    #[test]
    fn references_become_a_subquery() {
        let a = Activity::default();
        a.register(info(7, "alice"));
        let as_alice = |sql: &str| rewrite(sql, &a, (7, "alice", false), |_, _| Ok(false));
        let out = as_alice("SELECT pid FROM pg_catalog.pg_stat_activity WHERE usename = 'x'")
            .expect("ok")
            .expect("rewritten");
        assert!(out.starts_with("SELECT pid FROM (SELECT NULL::UINTEGER AS datid"));
        assert!(out.ends_with(") AS pg_stat_activity WHERE usename = 'x'"));
        assert!(out.contains("'it''s'"));
        let aliased = as_alice("select * from pg_stat_activity a");
        let aliased = aliased.expect("ok").expect("rewritten");
        assert!(aliased.ends_with(")) a"), "{aliased}");
        assert_eq!(as_alice("SELECT 'pg_stat_activity'"), Ok(None));
        let denied = rewrite(
            "SELECT pg_cancel_backend(1)",
            &a,
            (7, "alice", false),
            |_, _| Err("no".into()),
        );
        assert_eq!(denied, Err("no".to_string()));
    }

    #[test]
    fn other_roles_sessions_hide_their_queries() {
        let a = Activity::default();
        a.register(info(7, "alice"));
        let own = a.as_subquery(Some(("alice", false)));
        assert!(own.contains("'SELECT 1'"));
        let other = a.as_subquery(Some(("bob", false)));
        assert!(!other.contains("'SELECT 1'"));
        assert!(other.contains("'<insufficient privilege>'"));
        let admin = a.as_subquery(Some(("bob", true)));
        assert!(admin.contains("'SELECT 1'"));
    }

    #[test]
    fn admin_functions_with_literal_pids_run_here() {
        let a = Activity::default();
        let mut calls = Vec::new();
        let me = rewrite(
            "SELECT pg_backend_pid()",
            &a,
            (9, "alice", false),
            |_, _| Ok(false),
        );
        assert_eq!(me, Ok(Some("SELECT 9".to_string())));
        let out = rewrite(
            "SELECT pg_cancel_backend(42), pg_terminate_backend( 43 )",
            &a,
            (9, "alice", false),
            |act, pid| {
                calls.push((act, pid));
                Ok(pid == 42)
            },
        )
        .expect("ok")
        .expect("rewritten");
        assert_eq!(out, "SELECT true, false");
        assert_eq!(
            calls,
            vec![(AdminAction::Cancel, 42), (AdminAction::Terminate, 43)]
        );
    }
}
