//! Caches on the worker: `files` keeps lake data files on local SSD, fetched once
//! through `object_store` (single flight) and pinned while a statement reads them.

pub mod files;
