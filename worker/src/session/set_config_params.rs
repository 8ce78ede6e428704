//! `set_config('name', $n, is_local)` prepared with a placeholder for the value
//! (asyncpg restores `jit` this way after its type lookups). The session runs
//! the call itself, so the placeholder is typed `text` at Parse, as
//! PostgreSQL's `set_config(text, text, boolean)` types it, and filled in at
//! Bind.

use std::rc::Rc;

use bytes::Bytes;

use super::{SResult, Statement, StatementKind};
use crate::codec::types::oid;
use crate::pg_error::{sqlstate, PgError};
use crate::session::command_text::{SessionCommand, SettingCall, SettingValue};

/// The placeholders' types for a settings statement: what the client declared,
/// `text` where it declared nothing, as far as the highest `$n` written.
pub(super) fn parameter_types(cmd: &SessionCommand, client_types: &[u32]) -> Vec<u32> {
    let highest = placeholders(cmd).max().unwrap_or(0) as usize;
    let mut types = client_types.to_vec();
    if types.len() < highest {
        types.resize(highest, 0);
    }
    for &n in placeholders(cmd).collect::<Vec<_>>().iter() {
        if let Some(t) = types.get_mut(n as usize - 1) {
            if *t == 0 {
                *t = oid::TEXT;
            }
        }
    }
    types
}

/// `stmt` with each `set_config` placeholder replaced by the value bound to it;
/// `stmt` itself when it has none.
pub(super) fn bind_values(stmt: &Rc<Statement>, raw: &[Option<Bytes>]) -> SResult<Rc<Statement>> {
    let StatementKind::Session(SessionCommand::Settings(items)) = &stmt.kind else {
        return Ok(stmt.clone());
    };
    if placeholders(&SessionCommand::Settings(items.clone()))
        .next()
        .is_none()
    {
        return Ok(stmt.clone());
    }
    let mut bound = Vec::with_capacity(items.len());
    for (column, call) in items {
        let call = match call {
            SettingCall::Write {
                name,
                value: SettingValue::Param(n),
                local,
            } => {
                let i = *n as usize - 1;
                let ty = stmt.param_types.get(i).copied().unwrap_or(oid::TEXT);
                if !matches!(ty, oid::TEXT | oid::VARCHAR | oid::NAME | oid::BPCHAR) {
                    return Err(PgError::new(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!(
                            "function set_config(unknown, {}, boolean) does not exist",
                            super::copy::pg_type_name(ty)
                        ),
                    )
                    .into());
                }
                let value = match raw.get(i) {
                    Some(Some(bytes)) => SettingValue::Text(
                        std::str::from_utf8(bytes)
                            .map_err(|_| {
                                PgError::new(
                                    sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                                    "invalid byte sequence for encoding \"UTF8\"",
                                )
                            })?
                            .to_string(),
                    ),
                    _ => SettingValue::Default,
                };
                SettingCall::Write {
                    name: name.clone(),
                    value,
                    local: *local,
                }
            }
            other => other.clone(),
        };
        bound.push((column.clone(), call));
    }
    Ok(Rc::new(Statement {
        sql: stmt.sql.clone(),
        kind: StatementKind::Session(SessionCommand::Settings(bound)),
        param_types: stmt.param_types.clone(),
        fields: stmt.fields.clone(),
        client_types: stmt.client_types.clone(),
        lake_snapshots: Vec::new(),
        _lake_pins: Vec::new(),
    }))
}

fn placeholders(cmd: &SessionCommand) -> impl Iterator<Item = u32> + '_ {
    let items: &[(String, SettingCall)] = match cmd {
        SessionCommand::Settings(items) => items,
        _ => &[],
    };
    items.iter().filter_map(|(_, call)| match call {
        SettingCall::Write {
            value: SettingValue::Param(n),
            ..
        } => Some(*n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::command_text::session_command;
    use floe_sql::tokens::tokenize;

    #[test]
    fn placeholders_are_text_unless_declared() {
        let cmd = session_command(&tokenize("SELECT set_config('jit', $2, false)")).expect("cmd");
        assert_eq!(parameter_types(&cmd, &[]), vec![0, oid::TEXT]);
        assert_eq!(
            parameter_types(&cmd, &[oid::INT4, oid::VARCHAR]),
            vec![oid::INT4, oid::VARCHAR]
        );
        let plain =
            session_command(&tokenize("SELECT set_config('jit', 'on', false)")).expect("cmd");
        assert_eq!(parameter_types(&plain, &[]), Vec::<u32>::new());
    }
}
