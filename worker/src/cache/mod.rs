//! Caches on the worker: `files` keeps lake data files on local SSD, fetched once
//! through `object_store` (single flight) and pinned while a statement reads them;
//! `results` keeps statements' answers in memory, keyed by the snapshots they
//! read, with `shared_results` behind it (answer files the machine's workers
//! share); `stable_calls` tells which statements may be answered from it.

pub mod files;
pub mod results;
pub mod shared_results;
pub mod stable_calls;
