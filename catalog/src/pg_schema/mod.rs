//! PostgreSQL 15's catalog as Floe shows it: the shapes of every `pg_catalog`
//! relation and `information_schema` view, the rows a fresh PostgreSQL 15 holds,
//! the type mapping from Iceberg to PostgreSQL, view definitions as
//! `pg_get_viewdef` writes them, lake tables' defaults and constraints as the
//! catalog shows them, and the virtual schema built from the lake.

pub mod constraints;
pub mod pg15_catalog;
pub mod pg15_rows;
pub mod relations;
pub mod types;
pub mod view_definitions;
pub mod virtual_schema;
