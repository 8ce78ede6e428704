//! `COPY` as PostgreSQL speaks it: `command` parses the statement and its options,
//! `from_stdin` decodes text, CSV and binary rows a client sends, `to_stdout`
//! encodes result rows in those formats.

pub mod command;
pub mod from_stdin;
pub mod to_stdout;
