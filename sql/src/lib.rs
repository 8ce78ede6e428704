//! `floe-sql` holds what the router and the workers share about SQL text: byte
//! spans of tokens and AST nodes (sqlparser reports lines and columns) and
//! span-exact edits, so a rewrite replaces exactly what it means to and the rest
//! of a statement reaches DuckDB as the client wrote it.

pub mod policy;
pub mod spans;

pub use spans::{apply, significant_tokens, LineIndex, Spanned};
