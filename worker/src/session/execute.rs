//! Running a portal: the engine statement (or the session command, COPY or lake
//! write it stands for), its rows streamed to the client in the formats Bind asked
//! for, suspended and resumed at Execute's row limit, cancelled on timeout.

use super::*;

/// Cached rows copied into the output between flushes.
const CACHED_ROWS_PER_WRITE: usize = 1024;

impl Session {
    /// Runs (or resumes) a portal, sending at most `max_rows` rows (0 = all).
    pub(super) fn run_portal(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
        let stmt = portal.stmt.clone();
        match &stmt.kind {
            // SHOW floe.last_cache and the like leave it as it was.
            StatementKind::Session(_) | StatementKind::Empty => {}
            StatementKind::Duck(d) if d.returns_rows => {}
            _ => self.tell_last_cache("not cached: only a SELECT is cached".into()),
        }
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

    pub(super) fn run_duck(
        &mut self,
        portal: &mut Portal,
        d: &DuckStatement,
        max_rows: u64,
    ) -> SResult<()> {
        let cache = match (&portal.state, &self.result_cache) {
            (PortalState::NotStarted, Some(cache)) if d.returns_rows => cache.clone(),
            (PortalState::Streaming(_), Some(cache)) if portal.recording.is_some() => {
                // A recording portal read in batches: its answer is stored
                // once its last batch is sent.
                let cache = cache.clone();
                let r = self.run_duck_engine(portal, d, max_rows);
                self.finish_recording(&cache, portal, None, r.is_ok());
                return r;
            }
            _ => return self.run_duck_engine(portal, d, max_rows),
        };
        let leader = match self.start_cached(&cache, portal, d, max_rows) {
            result_cache::CacheStart::Bypass => return self.run_duck_engine(portal, d, max_rows),
            result_cache::CacheStart::Hit => {
                self.control.begin();
                return self.stream(portal, max_rows);
            }
            result_cache::CacheStart::Record(leader) => leader,
            result_cache::CacheStart::Stopped(reason) => {
                return Err(self.engine_error("", &portal.stmt.sql, Some(reason)).into())
            }
        };
        let r = self.run_duck_engine(portal, d, max_rows);
        self.finish_recording(&cache, portal, leader, r.is_ok());
        r
    }

    /// Runs (or resumes) a portal on the engine.
    fn run_duck_engine(
        &mut self,
        portal: &mut Portal,
        d: &DuckStatement,
        max_rows: u64,
    ) -> SResult<()> {
        if matches!(portal.state, PortalState::NotStarted) {
            let lake = match d.lake_commit {
                Some(_) => Some(self.lake_for_write()?),
                None => None,
            };
            if d.changes_schema {
                self.statement_cache.clear();
                self.temp_relations_stale = true;
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
                    // A lake INSERT's COPY returns no rows, whatever it sends back.
                    None => prepared.execute(d.returns_rows && d.returning_sql.is_none()),
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
            if let (Some(rows_sql), Some(commit), Some(lake)) =
                (&d.returning_sql, &d.lake_commit, &lake)
            {
                drop(result);
                result = self.returned_rows(rows_sql, commit, lake, &portal.stmt.sql)?;
            }
            // `INSERT … RETURNING` completes as an INSERT, not as the rows' SELECT.
            if d.returns_rows
                && matches!(d.tag, Tag::Insert | Tag::Update | Tag::Delete | Tag::Merge)
            {
                portal.command_tag = Some(d.tag.clone());
            }
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
                let from = self.out.len();
                wire::row_description(&mut self.out, &described, &|_| false);
                self.record_description(portal, from);
                &described
            } else {
                portal.stmt.fields.as_deref().unwrap_or(&[])
            };
            let ncols = result.column_count();
            if ncols != fields.len() {
                self.control.end();
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cached plan must not change result type",
                )
                .into());
            }
            let mut encoders = Vec::with_capacity(ncols);
            // OID-alias columns print names: the lake's as this statement sees them.
            let reg_names = match fields
                .iter()
                .any(|f| crate::compat::reg_names::prints_names(f.type_oid))
            {
                true => Some(self.reg_names()?),
                false => None,
            };
            if reg_names.is_some() {
                // Names as this session's catalog sees them: not the snapshot's.
                portal.recording = None;
            }
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

    /// The rows a lake INSERT … RETURNING sends: read in full from what the
    /// statement staged, then the write committed (after which the staged
    /// files are gone). Nothing is committed when reading them fails.
    fn returned_rows(
        &mut self,
        rows_sql: &str,
        commit: &LakeCommit,
        lake: &LakeReader,
        client_sql: &str,
    ) -> SResult<crate::engine::duck::QueryResult> {
        let read = self
            .conn
            .prepare(rows_sql)
            .and_then(|mut p| p.execute(false));
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                commit.discard();
                let reason = self.control.end();
                return Err(self.engine_error(&e.message, client_sql, reason).into());
            }
        };
        let txn = if self.in_transaction() {
            Some(self.lake_txn.get_or_insert_with(LakeTxn::new))
        } else {
            None
        };
        if let Err(e) = lake.commit_write(commit, &self.conn, &self.runtime, txn) {
            self.control.end();
            return Err(e.into());
        }
        Ok(rows)
    }

    /// Sends rows of a started portal; ends the query control started by the caller.
    pub(super) fn stream(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
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

    pub(super) fn stream_inner(&mut self, portal: &mut Portal, max_rows: u64) -> SResult<()> {
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
                let drained = rows.is_empty();
                self.end_batch(portal, drained, sent, limit);
                return Ok(());
            }
            PortalState::Cached { hit, next } => {
                let total = hit.row_count();
                let end =
                    total.min(next.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX)));
                // In slices, so a large answer is flushed as it goes.
                while *next < end {
                    let to = end.min(*next + CACHED_ROWS_PER_WRITE);
                    self.out.extend_from_slice(hit.slice(*next, to));
                    sent += (to - *next) as u64;
                    *next = to;
                    self.maybe_flush()?;
                }
                let drained = *next >= total;
                self.end_batch(portal, drained, sent, limit);
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
                let from = self.out.len();
                encode_rows(
                    &active.encoders,
                    chunk,
                    active.pos..active.pos + take,
                    &settings,
                    &mut self.out,
                );
                if let Some(rec) = portal.recording.as_mut() {
                    rec.take(&self.out[from..]);
                }
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

    /// Ends one Execute of a portal reading rows held in memory: complete
    /// once they are all sent within the row limit, else suspended (as a
    /// streaming portal ends).
    fn end_batch(&mut self, portal: &mut Portal, drained: bool, sent: u64, limit: u64) {
        if drained && sent < limit {
            let tag = format_tag(portal.command_tag.as_ref().unwrap_or(&Tag::Select), sent);
            portal.state = PortalState::Done;
            wire::command_complete(&mut self.out, &tag);
        } else {
            wire::portal_suspended(&mut self.out);
        }
    }

    /// Drains every suspended streaming portal into memory: DuckDB allows one open
    /// result per connection, and another statement is about to run.
    pub(super) fn close_all_streams(&mut self) {
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
            // Its rows are no longer recorded as they are sent.
            portal.recording = None;
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

    pub(super) fn arm_timeout(&self, seq: u64) {
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

    pub(super) fn engine_error(
        &self,
        message: &str,
        sql: &str,
        reason: Option<CancelReason>,
    ) -> PgError {
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
}
