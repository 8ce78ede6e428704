//! `floe-protocol` holds the Postgres wire-protocol pieces both the router and the
//! workers need: errors with SQLSTATEs, listen addresses (TCP or unix socket) and
//! their streams, the startup-packet exchange, message framing for relaying
//! messages without decoding them, shape checks for frontend message bodies, the
//! typed router-to-worker control messages (with the state of a session
//! moving between workers), and the lake change log both sides
//! keep for read-after-commit across workers.

pub mod backend;
pub mod control;
pub mod frame;
pub mod frontend;
pub mod lake_changes;
pub mod listen;
pub mod moved_session;
pub mod pg_error;
pub mod serve;
pub mod startup;
pub mod types;

pub use listen::{ListenAddr, Listener, Stream};
pub use pg_error::{sqlstate, PgError, Severity};
