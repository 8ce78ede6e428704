//! `floe-sql` holds what the router and the workers share about SQL text: byte
//! spans of tokens and AST nodes (sqlparser reports lines and columns) and
//! span-exact edits, so a rewrite replaces exactly what it means to and the rest
//! of a statement reaches DuckDB as the client wrote it.

pub mod date_field;
pub mod pg_names;
pub mod policy;
pub mod quote;
pub mod sequence_options;
pub mod spans;
pub mod stand_ins;
pub mod tokens;
pub mod view_definition;

pub use spans::{apply, significant_tokens, LineIndex, Spanned};

/// PostgreSQL's OID-alias types. The engine holds their values as UINTEGER
/// under a session type named with a `floe_` prefix (`floe_regclass`): the
/// router writes casts to them so, and the worker announces such a column
/// with PostgreSQL's type and prints the objects' names.
pub const OID_ALIAS_TYPES: &[&str] = &[
    "regclass",
    "regtype",
    "regnamespace",
    "regproc",
    "regprocedure",
    "regrole",
    "regoper",
    "regoperator",
    "regconfig",
    "regdictionary",
];
