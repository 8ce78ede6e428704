//! The DuckDB sandbox: how a worker's database is opened and locked down.
//!
//! DuckDB is the hard security boundary (the router's SQL policy is only the first
//! line): no file access outside the directories Floe owns, no extension install or
//! autoload, and a locked configuration so no session can undo any of it.

use std::path::{Path, PathBuf};

use crate::engine::duck::{Database, DuckError};
use floe_sql::quote::literal as sql_quote;

/// What the sandbox allows and how the engine is sized.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The DuckDB database file (`None` = in memory).
    pub database_path: Option<PathBuf>,
    /// Directories DuckDB may read and write (cache, staging, spill).
    pub allowed_dirs: Vec<PathBuf>,
    /// Where DuckDB spills when a query exceeds memory.
    pub temp_dir: PathBuf,
    pub threads: Option<usize>,
    pub memory_limit: Option<String>,
}

/// Options applied before the database starts: Postgres-compatible semantics and
/// no extension loading.
fn startup_options(cfg: &SandboxConfig) -> Vec<(&'static str, String)> {
    let mut o = vec![
        ("errors_as_json", "true".to_string()),
        // Postgres semantics: `/` on integers is integer division, NULLS LAST on
        // ascending order and NULLS FIRST on descending.
        ("integer_division", "true".to_string()),
        ("default_null_order", "postgres".to_string()),
        ("autoinstall_known_extensions", "false".to_string()),
        ("autoload_known_extensions", "false".to_string()),
        ("allow_community_extensions", "false".to_string()),
        ("allow_unsigned_extensions", "false".to_string()),
        ("temp_directory", path_str(&cfg.temp_dir)),
    ];
    if let Some(t) = cfg.threads {
        o.push(("threads", t.to_string()));
    }
    if let Some(m) = &cfg.memory_limit {
        o.push(("memory_limit", m.clone()));
    }
    o
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Opens the database, defines what every session shares
/// (`macros::database_setup`) and applies the lock-down. The order matters: the allowed
/// directories can only be set while external access is still on, and the
/// configuration lock comes last.
pub fn open_sandboxed(cfg: &SandboxConfig) -> Result<Database, DuckError> {
    for d in cfg
        .allowed_dirs
        .iter()
        .chain(std::iter::once(&cfg.temp_dir))
    {
        std::fs::create_dir_all(d)
            .map_err(|e| DuckError::new(format!("cannot create {}: {e}", d.display())))?;
    }
    let path = cfg.database_path.as_ref().map(|p| path_str(p));
    let db = Database::open(path.as_deref(), &startup_options(cfg))?;
    let conn = db.connect()?;
    // PostgreSQL's built-in objects, defined once for every session.
    for sql in crate::compat::macros::database_setup() {
        conn.execute_batch(sql)?;
    }
    crate::functions::registry::register_all(&conn)?;
    let mut dirs: Vec<String> = cfg
        .allowed_dirs
        .iter()
        .chain(std::iter::once(&cfg.temp_dir))
        .map(|d| {
            let canonical = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            let mut s = path_str(&canonical);
            if !s.ends_with('/') {
                s.push('/');
            }
            sql_quote(&s)
        })
        .collect();
    dirs.dedup();
    conn.execute_batch(&format!("SET allowed_directories = [{}]", dirs.join(", ")))?;
    // Lake data files never change once written: their Parquet footers are
    // kept in memory (a scan over a known snapshot reads no footer twice),
    // and their blocks in the engine's buffer pool, bounded by its memory
    // limit, though the SSD cache made them local files.
    for setting in [
        "SET GLOBAL parquet_metadata_cache = true",
        "SET GLOBAL enable_external_file_cache = true",
        "SET GLOBAL cache_local_files = true",
    ] {
        conn.execute_batch(setting)?;
    }
    conn.execute_batch("SET enable_external_access = false")?;
    conn.execute_batch("SET lock_configuration = true")?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_include_postgres_semantics_and_no_autoload() {
        let cfg = SandboxConfig {
            database_path: None,
            allowed_dirs: vec![],
            temp_dir: PathBuf::from("/tmp/x"),
            threads: Some(2),
            memory_limit: None,
        };
        let o = startup_options(&cfg);
        let get = |k: &str| o.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("autoload_known_extensions"), Some("false"));
        assert_eq!(get("autoinstall_known_extensions"), Some("false"));
        assert_eq!(get("integer_division"), Some("true"));
        assert_eq!(get("threads"), Some("2"));
    }

    #[test]
    fn sandboxed_engines_have_native_functions() {
        let dir = std::env::temp_dir().join(format!("floe-sandbox-{}", std::process::id()));
        let cfg = SandboxConfig {
            database_path: None,
            allowed_dirs: vec![dir.clone()],
            temp_dir: dir.join("tmp"),
            threads: Some(1),
            memory_limit: None,
        };
        let db = open_sandboxed(&cfg).expect("sandboxed engine");
        let conn = db.connect().expect("connection");
        conn.execute_batch("SELECT timezone('UTC', TIMESTAMP '2024-01-01 12:00:00')")
            .unwrap_or_else(|e| panic!("{}", e.message));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn quoting_escapes_single_quotes() {
        assert_eq!(sql_quote("/a'b/"), "'/a''b/'");
    }
}
