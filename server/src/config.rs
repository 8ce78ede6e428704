//! Floe's configuration: one TOML file, overridden by `FLOE_*` environment
//! variables, overridden by command-line flags. Every default works on a laptop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Every key has behaviour; an unknown key is an error (a typo is not ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub catalog: CatalogConfig,
    #[serde(default)]
    pub storage: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub workers: WorkersConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub router: RouterSection,
}

/// The client-facing process (`floe serve`, `floe router`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    /// Threads relaying client sessions. One (the default) runs every session on
    /// a single event loop: a relayed round trip then wakes no other thread, which
    /// is what keeps the extra hop cheap for small queries; more threads spread
    /// many busy sessions (TLS, large results) over more cores.
    pub threads: Option<usize>,
    /// Microseconds a session the router relays alone waits for the next bytes
    /// by polling instead of sleeping (waking a sleeping event loop costs about
    /// as much as a small query); 0 turns it off. Default 200.
    pub spin_us: Option<u64>,
    /// Client connections at once, authenticated or not (53300 beyond). Default 1000.
    pub max_connections: Option<usize>,
    /// Seconds a client has from connecting to finishing authentication. Default 60.
    pub authentication_timeout: Option<u64>,
    /// Largest message a client may send, in bytes. Default 64 MiB.
    pub max_message_bytes: Option<usize>,
    /// Failed logins one client address may have per minute before its
    /// connections are refused for the rest of that minute. Default 20.
    pub max_login_failures: Option<u32>,
}

/// The admin HTTP endpoint (`/metrics`, `/health`): 127.0.0.1:9187 unless set;
/// an empty address turns it off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// e.g. "127.0.0.1:9187"; "" for none.
    pub listen: Option<String>,
}

/// TLS for client connections.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain and private key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Generate a development CA and server certificate under `<data_dir>/tls`.
    #[serde(default)]
    pub self_signed: bool,
    /// Refuse clients that do not use TLS.
    #[serde(default)]
    pub require: bool,
}

/// Client authentication: the method and the users with their password
/// verifiers (as `floe user add` writes them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `scram-sha-256` (default), `md5`, `password` (TLS only) or `trust`.
    pub method: Option<String>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    /// `SCRAM-SHA-256$…` or `md5…` verifier, never the password itself.
    pub password: String,
    #[serde(default)]
    pub superuser: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The catalog's name (default `floe`); also accepted as a database name.
    pub name: Option<String>,
    /// `sql` (default: SQLite under the data directory) or `rest`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// SQL: a SQLx URL (`sqlite:/path/catalog.db`); REST: the catalog's URL.
    pub uri: Option<String>,
    /// Where new tables are written: a directory or `s3://bucket/prefix`.
    pub warehouse: Option<String>,
    /// How long table metadata is trusted before the catalog is asked again.
    pub refresh_ms: Option<u64>,
    /// REST catalog authentication: a bearer token, or OAuth2 client
    /// credentials (`client_id:client_secret`) with an optional scope and
    /// token endpoint.
    pub token: Option<String>,
    pub credential: Option<String>,
    pub scope: Option<String>,
    pub oauth2_server_uri: Option<String>,
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub dir: Option<PathBuf>,
    pub ssd_max_bytes: Option<u64>,
    /// The result cache's memory per worker (default a sixteenth of the
    /// machine's memory, at most 4 GiB; 0 turns it off).
    pub memory_max_bytes: Option<u64>,
    /// The largest answer one result-cache entry holds (default 64 MiB, at
    /// most a thirty-second of `memory_max_bytes`).
    pub result_entry_max_bytes: Option<u64>,
    /// The answers the machine's workers share, as files in `dir/results`
    /// (default `memory_max_bytes`; 0 turns sharing off).
    pub shared_results_max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersConfig {
    /// A fixed number of workers (`floe serve --workers N`): `min` and `max`
    /// both, unless they are set.
    pub count: Option<usize>,
    /// Workers `floe serve` always runs.
    pub min: Option<usize>,
    /// Workers `floe serve` may grow to under load.
    pub max: Option<usize>,
    /// Client sessions per worker past which another is added (default 16).
    pub target_sessions: Option<usize>,
    /// How long an extra worker must have had no session before it is drained
    /// and stopped (default 30000).
    pub cooldown_ms: Option<u64>,
    /// DuckDB memory limit per worker, e.g. "4GB".
    pub memory_limit: Option<String>,
    /// DuckDB threads per worker.
    pub threads: Option<usize>,
    /// The internal token routers present to workers (`floe serve` makes one).
    pub token: Option<String>,
    /// Run worker processes under the kernel's batch scheduling policy
    /// (default true): a worker waking up then does not preempt the router
    /// relaying other sessions, which keeps the extra hop cheap under load.
    pub batch_scheduling: Option<bool>,
    /// Sessions each worker runs at once (default 4096): the router pools at
    /// most this many per worker, and a client beyond it on every worker gets
    /// 53300 after a short wait.
    pub max_sessions: Option<usize>,
}

/// Defaults for client sessions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The `TimeZone` new sessions start with (default: the machine's zone,
    /// as PostgreSQL's initdb configures it; UTC when the machine names none).
    pub timezone: Option<String>,
}

/// A SQLite catalog URL that creates its file when missing, as the embedded
/// default does (SQLite opens only existing files unless told `mode=rwc`);
/// a URL that chooses a mode, an in-memory database and other databases'
/// URLs are kept.
fn creating_sqlite(uri: &str) -> String {
    let is_file = uri.starts_with("sqlite:") && !uri.contains(":memory:");
    if !is_file || uri.contains("mode=") {
        return uri.to_string();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}mode=rwc")
}

const TOP_LEVEL_KEYS: &[&str] = &["listen", "data_dir"];
const SECTIONS: &[&str] = &[
    "catalog", "storage", "cache", "workers", "session", "auth", "tls", "admin", "router",
];

fn default_listen() -> String {
    "127.0.0.1:5432".into()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./floe-data")
}

/// Command-line values that override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub workers: Option<usize>,
}

impl Config {
    /// Loads the file (if given), then `FLOE_*` variables from `env`, then flags.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut root = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("FLOE_") else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            // Only FLOE_<KEY> for top-level keys and FLOE_<SECTION>__<KEY> are
            // configuration; other FLOE_* variables (FLOE_LOG, …) belong to tools.
            let is_config = match path.as_slice() {
                [key] => TOP_LEVEL_KEYS.contains(&key.as_str()),
                [section, ..] => SECTIONS.contains(&section.as_str()),
                [] => false,
            };
            if !is_config {
                continue;
            }
            set_path(&mut root, &path, env_value(&v))?;
        }
        if let Some(l) = &flags.listen {
            root.insert("listen".into(), toml::Value::String(l.clone()));
        }
        if let Some(d) = &flags.data_dir {
            root.insert(
                "data_dir".into(),
                toml::Value::String(d.to_string_lossy().into_owned()),
            );
        }
        if let Some(w) = flags.workers {
            set_path(
                &mut root,
                &["workers".into(), "count".into()],
                toml::Value::Integer(w as i64),
            )?;
        }
        let config: Config = toml::Value::Table(root)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.listen_addr()?;
        Ok(config)
    }

    /// The lakehouse this configuration describes; `data_dir` must exist (the
    /// embedded defaults live under it).
    pub fn lake_config(&self) -> Result<floe_catalog::LakeConfig, ConfigError> {
        let c = &self.catalog;
        let data_dir = std::fs::canonicalize(&self.data_dir).map_err(|e| {
            ConfigError::Invalid(format!("data_dir {}: {e}", self.data_dir.display()))
        })?;
        let warehouse = match &c.warehouse {
            Some(w) if w.starts_with('/') => format!("file://{w}"),
            Some(w) if !w.contains("://") => {
                let abs = std::env::current_dir()
                    .map_err(|e| ConfigError::Invalid(format!("current directory: {e}")))?
                    .join(w);
                format!("file://{}", abs.display())
            }
            Some(w) => w.clone(),
            None => format!("file://{}", data_dir.join("warehouse").display()),
        };
        let kind = match c.kind.as_deref().unwrap_or("sql") {
            "sql" => match c.uri.as_deref() {
                Some(uri) => floe_catalog::CatalogKind::Sql {
                    uri: creating_sqlite(uri),
                },
                None => floe_catalog::CatalogKind::embedded(&data_dir),
            },
            "rest" => floe_catalog::CatalogKind::Rest {
                uri: c.uri.clone().ok_or_else(|| {
                    ConfigError::Invalid("[catalog] type = \"rest\" needs uri".into())
                })?,
            },
            other => {
                return Err(ConfigError::Invalid(format!(
                    "[catalog] type = \"{other}\": expected \"sql\" or \"rest\""
                )))
            }
        };
        let mut properties = BTreeMap::new();
        for (key, value) in [
            ("token", &c.token),
            ("credential", &c.credential),
            ("scope", &c.scope),
            ("oauth2-server-uri", &c.oauth2_server_uri),
            ("prefix", &c.prefix),
        ] {
            if let Some(v) = value {
                properties.insert(key.to_string(), v.clone());
            }
        }
        let storage = self
            .storage
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        Ok(floe_catalog::LakeConfig {
            name: c.name.clone().unwrap_or_else(|| "floe".into()),
            kind,
            warehouse,
            properties,
            storage,
            refresh: std::time::Duration::from_millis(c.refresh_ms.unwrap_or(1000)),
        })
    }

    pub fn listen_addr(&self) -> Result<floe_protocol::ListenAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "listen = \"{}\" is neither host:port nor unix:/path",
                self.listen
            ))
        })
    }
}

/// Environment values are strings; numbers and booleans are read as such so they
/// fit numeric and boolean keys.
fn env_value(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(v.to_string()),
    }
}

fn set_path(
    root: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), ConfigError> {
    match path {
        [] => Ok(()),
        [key] => {
            root.insert(key.clone(), value);
            Ok(())
        }
        [section, rest @ ..] => {
            let entry = root
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(ConfigError::Invalid(format!("{section} is not a section"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_without_anything() {
        let c = Config::load(None, Vec::new(), &Overrides::default()).expect("config");
        assert_eq!(c.listen, "127.0.0.1:5432");
        assert_eq!(c.data_dir, PathBuf::from("./floe-data"));
    }

    #[test]
    fn a_new_sqlite_catalog_file_is_created() {
        assert_eq!(
            creating_sqlite("sqlite:///srv/lake/catalog.db"),
            "sqlite:///srv/lake/catalog.db?mode=rwc"
        );
        assert_eq!(
            creating_sqlite("sqlite:/x.db?cache=shared"),
            "sqlite:/x.db?cache=shared&mode=rwc"
        );
        for kept in ["sqlite:/x.db?mode=ro", "sqlite::memory:", "postgres://h/db"] {
            assert_eq!(creating_sqlite(kept), kept);
        }
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("floe.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1000\"\ndata_dir = \"/from/file\"\n[workers]\nthreads = 3\n[catalog]\nuri = \"sqlite://x\"\n",
        )
        .expect("write");
        let env = vec![
            ("FLOE_LISTEN".to_string(), "127.0.0.1:2000".to_string()),
            ("FLOE_WORKERS__THREADS".to_string(), "5".to_string()),
            ("FLOE_CATALOG__URI".to_string(), "sqlite://y".to_string()),
            ("OTHER".to_string(), "ignored".to_string()),
            ("FLOE_LOG".to_string(), "debug".to_string()),
            ("FLOE_CACHE".to_string(), "/not/config".to_string()),
        ];
        let flags = Overrides {
            listen: Some("127.0.0.1:3000".into()),
            ..Default::default()
        };
        let c = Config::load(Some(&file), env, &flags).expect("config");
        assert_eq!(c.listen, "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.workers.threads, Some(5));
        assert_eq!(c.catalog.uri.as_deref(), Some("sqlite://y"));
    }

    #[test]
    fn every_section_takes_env_overrides() {
        let env = vec![
            ("FLOE_ROUTER__THREADS".to_string(), "2".to_string()),
            ("FLOE_ROUTER__SPIN_US".to_string(), "0".to_string()),
            ("FLOE_ADMIN__LISTEN".to_string(), "".to_string()),
        ];
        let c = Config::load(None, env, &Overrides::default()).expect("config");
        assert_eq!(c.router.threads, Some(2));
        assert_eq!(c.router.spin_us, Some(0));
        assert_eq!(c.admin.listen.as_deref(), Some(""));
    }

    #[test]
    fn bad_values_are_reported() {
        let env = vec![("FLOE_LISTEN".to_string(), "nonsense".to_string())];
        assert!(Config::load(None, env, &Overrides::default()).is_err());
        let env = vec![("FLOE_WORKERS__BOGUS".to_string(), "1".to_string())];
        assert!(Config::load(None, env, &Overrides::default()).is_err());
    }
}
