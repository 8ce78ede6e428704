//! The three ways to run Floe: `serve` (router plus supervised workers), `worker`
//! and `router`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use floe_protocol::{ListenAddr, Listener};
use floe_router::frontend::auth::{AuthConfig, AuthMethod, User, Verifier};
use floe_router::frontend::limits::Limits;
use floe_router::route::workers::PoolSettings;
use floe_router::{Router, RouterConfig, WorkerSet};
use tokio::sync::watch;

use crate::config::{self, Config};
use crate::fleet::{Fleet, FleetSize, WorkerTemplate};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("listening on {0} beyond loopback requires authentication: add users to [auth] (floe user add NAME)")]
    Unauthenticated(ListenAddr),
    #[error(
        "a worker on {0} needs an internal token (FLOE_WORKERS__TOKEN): without one anyone who can reach it could run SQL as any user"
    )]
    WorkerWithoutToken(ListenAddr),
    #[error("[auth] method = \"trust\" lets every configured user in without a password: it is only allowed on loopback, not on {0}")]
    TrustBeyondLoopback(ListenAddr),
    #[error("invalid [auth] configuration: {0}")]
    Auth(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("invalid address {0}")]
    Address(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: ListenAddr,
        source: std::io::Error,
    },
    #[error("cannot open the DuckDB database: {0}")]
    Engine(String),
    #[error("cannot open the lakehouse catalog: {0}")]
    Catalog(#[from] floe_catalog::CatalogError),
    #[error("worker {0} did not start")]
    WorkerStart(usize),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn is_loopback(addr: &ListenAddr) -> bool {
    match addr {
        ListenAddr::Tcp(a) => a.ip().is_loopback(),
        ListenAddr::Unix(_) => true,
    }
}

fn parse_addr(s: &str) -> Result<ListenAddr, RunError> {
    s.parse().map_err(RunError::Address)
}

async fn bind(addr: &ListenAddr) -> Result<Listener, RunError> {
    Listener::bind(addr)
        .await
        .map_err(|source| RunError::Listen {
            addr: addr.clone(),
            source,
        })
}

/// A stop signal for SIGTERM / Ctrl-C.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Where a worker keeps its files under the data directory. Its engine has no
/// database file: a worker holds no durable state (every table a client keeps
/// lives in the lake; TEMP tables live and die with their session), so it can
/// be added, killed or removed at any time.
struct WorkerLayout {
    tmp: PathBuf,
    cache: PathBuf,
    warehouse: PathBuf,
}

impl WorkerLayout {
    fn new(config: &Config, id: Option<usize>) -> WorkerLayout {
        let d = &config.data_dir;
        let own = match id {
            Some(i) => d.join("workers").join(i.to_string()),
            None => d.to_path_buf(),
        };
        WorkerLayout {
            tmp: own.join("tmp"),
            cache: config.cache.dir.clone().unwrap_or_else(|| d.join("cache")),
            warehouse: d.join("warehouse"),
        }
    }

    fn create(&self) -> std::io::Result<()> {
        for dir in [&self.tmp, &self.cache, &self.warehouse] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// The largest answer one result-cache entry holds unless configured.
const DEFAULT_RESULT_ENTRY_MAX_BYTES: u64 = 64 << 20;

/// `floe worker`: one DuckDB worker behind a Postgres listener.
pub async fn worker(config: Config, id: Option<usize>) -> Result<(), RunError> {
    let addr = config.listen_addr()?;
    let token = config.workers.token.clone().filter(|t| !t.is_empty());
    if token.is_none() {
        return Err(RunError::WorkerWithoutToken(addr));
    }
    let layout = WorkerLayout::new(&config, id);
    layout.create()?;
    raise_open_file_limit();
    let lake_config = config.lake_config()?;
    let mut allowed_dirs = vec![layout.cache.clone(), layout.warehouse.clone()];
    // A local warehouse elsewhere is read in place.
    if let Some(local) = lake_config.warehouse.strip_prefix("file://") {
        allowed_dirs.push(PathBuf::from(local));
    }
    let sandbox = floe_worker::SandboxConfig {
        database_path: None,
        allowed_dirs,
        temp_dir: layout.tmp.clone(),
        threads: config.workers.threads,
        memory_limit: config.workers.memory_limit.clone(),
    };
    let db = tokio::task::spawn_blocking(move || floe_worker::open_sandboxed(&sandbox))
        .await
        .map_err(|e| RunError::Engine(e.to_string()))?
        .map_err(|e| RunError::Engine(e.message))?;
    // As a PostgreSQL cluster initdb set up: sessions start in the configured
    // zone, else the machine's, which is also the zone the log is written in.
    let host_zone = floe_worker::codec::text::SessionTz::host_zone_name();
    let mut defaults = vec![
        (
            "TimeZone",
            config
                .session
                .timezone
                .clone()
                .unwrap_or_else(|| host_zone.clone()),
        ),
        ("log_timezone", host_zone),
    ];
    if let Some(id) = id {
        defaults.push(("floe.worker", id.to_string()));
    }
    let lake = floe_catalog::Lakehouse::open(lake_config).await?;
    // A catalog that refuses the namespace (a read-only REST catalog) still
    // serves its other schemas; CREATE TABLE in `public` then fails with 3F000.
    if let Err(e) = lake.ensure_public_schema().await {
        tracing::warn!(error = %e, "the catalog has no public schema and cannot make one");
    }
    // The cache downloads through the same per-bucket stores as the catalog.
    let cache = floe_worker::FileCache::new(
        layout.cache.clone(),
        lake.storage().clone(),
        config
            .cache
            .ssd_max_bytes
            .unwrap_or(floe_worker::cache::files::DEFAULT_MAX_BYTES),
    );
    // Files the engine writes wait here (inside its allowed directories) until
    // they are uploaded; anything left from a crash is removed at start.
    let staging = layout.tmp.join("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let reader = floe_worker::LakeReader::new(lake, cache, staging);
    let memory = config
        .cache
        .memory_max_bytes
        .unwrap_or_else(floe_worker::cache::results::default_max_bytes);
    // Answers are shared with the machine's other workers through the cache
    // directory they share.
    let shared = config.cache.shared_results_max_bytes.unwrap_or(memory);
    let result_cache = (memory > 0).then(|| {
        floe_worker::cache::results::ResultCache::new(
            memory,
            config
                .cache
                .result_entry_max_bytes
                .unwrap_or(DEFAULT_RESULT_ENTRY_MAX_BYTES),
            (shared > 0).then(|| (layout.cache.join("results"), shared)),
        )
    });
    let worker = floe_worker::Worker::new(
        db,
        defaults,
        token,
        Some(reader),
        sessions_per_worker(&config),
        result_cache,
    );
    let listener = bind(&addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, data_dir = %config.data_dir.display(), "worker ready");
    println!("floe worker listening on {local}");
    worker.clone().serve(listener, stop_on_signal()).await;
    drop(worker);
    tracing::info!("worker stopped");
    Ok(())
}

/// Runs a router over `workers` on the configured address until a stop signal.
async fn run_router(
    config: &Config,
    workers: WorkerSet,
    stop: watch::Receiver<bool>,
) -> Result<(), RunError> {
    let addr = config.listen_addr()?;
    let auth = auth_config(config)?;
    if !is_loopback(&addr) && auth.users.is_empty() {
        return Err(RunError::Unauthenticated(addr));
    }
    if !is_loopback(&addr) && auth.method == AuthMethod::Trust {
        return Err(RunError::TrustBeyondLoopback(addr));
    }
    tokio::spawn(
        workers
            .clone()
            .health_check_loop(Duration::from_millis(500)),
    );
    let mut databases = vec!["floe".to_string(), "postgres".to_string()];
    if let Some(name) = &config.catalog.name {
        databases.push(name.clone());
    }
    let tls = tls_acceptor(config)?;
    if config.tls.require && tls.is_none() {
        return Err(RunError::Tls(
            "[tls] require = true needs cert and key, or self_signed = true".into(),
        ));
    }
    let router = Router::new(
        workers,
        RouterConfig {
            auth,
            databases,
            tls,
            require_tls: config.tls.require,
            spin: Duration::from_micros(config.router.spin_us.unwrap_or(DEFAULT_SPIN_US)),
            limits: router_limits(config),
        },
    );
    // The admin endpoint is on loopback by default; a configured address must
    // bind, the default may be taken (another Floe on this machine) and is then
    // skipped with a warning. `listen = ""` turns it off.
    let (admin, explicit) = match config.admin.listen.as_deref() {
        Some("") => (None, true),
        Some(a) => (Some(a.to_string()), true),
        None => (Some(DEFAULT_ADMIN.to_string()), false),
    };
    if let Some(admin) = admin {
        let admin_addr: std::net::SocketAddr = admin
            .parse()
            .map_err(|_| RunError::Address(admin.clone()))?;
        match tokio::net::TcpListener::bind(admin_addr).await {
            Ok(admin_listener) => {
                tracing::info!(listen = %admin_listener.local_addr()?, "admin endpoint (/metrics, /health)");
                tokio::spawn(floe_router::admin::endpoint::serve_admin(
                    admin_listener,
                    router.clone(),
                    stop.clone(),
                ));
            }
            Err(source) if explicit => {
                return Err(RunError::Listen {
                    addr: ListenAddr::Tcp(admin_addr),
                    source,
                })
            }
            Err(e) => {
                tracing::warn!(listen = %admin_addr, error = %e, "admin endpoint not started")
            }
        }
    }
    let listener = bind(&addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, data_dir = %config.data_dir.display(), "Floe is ready for connections");
    // A line on stdout that scripts and tests can wait for.
    println!("floe listening on {local}");
    router.serve(listener, stop).await;
    Ok(())
}

/// `[workers] max_sessions`, the same number for the router's pools and for
/// each worker.
fn sessions_per_worker(config: &Config) -> usize {
    config
        .workers
        .max_sessions
        .unwrap_or(floe_router::frontend::limits::DEFAULT_SESSIONS_PER_WORKER)
        .max(1)
}

/// The router's limits from `[router]`, defaults where unset.
fn router_limits(config: &Config) -> Limits {
    let d = Limits::default();
    let r = &config.router;
    Limits {
        max_connections: r.max_connections.unwrap_or(d.max_connections).max(1),
        authentication_timeout: r
            .authentication_timeout
            .map_or(d.authentication_timeout, |s| Duration::from_secs(s.max(1))),
        max_message_bytes: r.max_message_bytes.unwrap_or(d.max_message_bytes).max(1024),
        max_login_failures: r.max_login_failures.unwrap_or(d.max_login_failures),
        login_window: d.login_window,
    }
}

/// The router's authentication settings: trust with no users configured (loopback
/// only), else the configured method (SCRAM-SHA-256 by default).
fn auth_config(config: &Config) -> Result<AuthConfig, RunError> {
    if config.auth.users.is_empty() {
        return Ok(AuthConfig::trust());
    }
    let method = match &config.auth.method {
        Some(m) => m.parse::<AuthMethod>().map_err(RunError::Auth)?,
        None => AuthMethod::ScramSha256,
    };
    let mut users = std::collections::HashMap::new();
    for u in &config.auth.users {
        let verifier = Verifier::parse(&u.password)
            .map_err(|e| RunError::Auth(format!("user {}: {e}", u.name)))?;
        users.insert(
            u.name.clone(),
            User {
                name: u.name.clone(),
                verifier,
                superuser: u.superuser,
            },
        );
    }
    Ok(AuthConfig { method, users })
}

/// The TLS acceptor for clients, from configured files or a generated
/// development certificate.
fn tls_acceptor(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, RunError> {
    let t = &config.tls;
    let (cert, key) = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        (None, None) if t.self_signed => {
            let files =
                floe_router::frontend::tls::ensure_self_signed(&config.data_dir.join("tls"))
                    .map_err(|e| RunError::Tls(e.to_string()))?;
            tracing::info!(ca = %files.ca.display(), "TLS with a generated development certificate; clients verify against this CA");
            (files.cert, files.key)
        }
        (None, None) => return Ok(None),
        _ => return Err(RunError::Tls("[tls] needs both cert and key".into())),
    };
    floe_router::frontend::tls::acceptor(&cert, &key)
        .map(Some)
        .map_err(|e| RunError::Tls(e.to_string()))
}

/// Where the admin endpoint listens unless configured.
/// How long a lone session's relay spins for the next bytes (`[router] spin_us`).
const DEFAULT_SPIN_US: u64 = 200;
const DEFAULT_ADMIN: &str = "127.0.0.1:9187";

/// `floe router`: a router in front of workers running elsewhere.
pub async fn router(config: Config, workers: Vec<String>) -> Result<(), RunError> {
    let addrs = workers
        .iter()
        .map(|w| parse_addr(w))
        .collect::<Result<Vec<_>, _>>()?;
    let pools = PoolSettings {
        token: config.workers.token.clone(),
        max_sessions: sessions_per_worker(&config),
    };
    run_router(&config, WorkerSet::new(addrs, pools), stop_on_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// A directory for worker sockets: under the data directory unless that path is
/// too long for a unix socket (about 100 bytes).
fn socket_dir(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    let absolute = std::fs::canonicalize(data_dir)
        .map(|d| d.join("run"))
        .unwrap_or_else(|_| preferred.clone());
    if absolute.as_os_str().len() + "/worker-00.sock".len() < 100 {
        absolute
    } else {
        std::env::temp_dir().join(format!("floe-{}", std::process::id()))
    }
}

/// `floe serve`: the embedded default, a router plus supervised local workers.
pub async fn serve(config: Config, config_file: Option<PathBuf>) -> Result<(), RunError> {
    // Beyond loopback, run_router requires users and a password method.
    std::fs::create_dir_all(&config.data_dir)?;
    let size = fleet_size(&config);
    let token: String = (0..16)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let run_dir = socket_dir(&config.data_dir);
    std::fs::create_dir_all(&run_dir)?;
    let template = WorkerTemplate {
        exe: std::env::current_exe()?,
        run_dir: run_dir.clone(),
        data_dir: std::fs::canonicalize(&config.data_dir)?,
        config_file,
        token: token.clone(),
        memory_limit: match &config.workers.memory_limit {
            Some(_) => None,
            None => shared_memory_limit(size.max),
        },
    };
    let workers = WorkerSet::new(
        Vec::new(),
        PoolSettings {
            token: Some(token),
            max_sessions: sessions_per_worker(&config),
        },
    );
    let mut fleet = Fleet::new(workers.clone(), template, size);
    let (stop_workers_tx, stop_workers) = watch::channel(false);
    if let Err(id) = fleet.start(Duration::from_secs(120)).await {
        drop(fleet);
        return Err(RunError::WorkerStart(id));
    }
    let fleet = tokio::spawn(fleet.run(stop_workers));
    let stop = stop_on_signal();
    let result = run_router(&config, workers, stop).await;
    // Clients are gone (or told to go); now the workers.
    let _ = stop_workers_tx.send(true);
    let _ = fleet.await;
    let _ = std::fs::remove_dir(&run_dir);
    tracing::info!("stopped");
    result
}

/// The fleet `[workers]` asks for: `count` fixes it unless `min`/`max` are set.
/// Workers hold no durable state, so any number of them is correct: by default
/// two wherever there are two cores (a long query on one does not hold up the
/// sessions of the other), growing under load to one per two cores.
fn fleet_size(config: &Config) -> FleetSize {
    let w = &config.workers;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default_min = if cores >= 2 { 2 } else { 1 };
    let min = w.min.or(w.count).unwrap_or(default_min).max(1);
    let max = w
        .max
        .or(w.count)
        .unwrap_or_else(|| min.max(cores / 2))
        .max(min);
    FleetSize {
        min,
        max,
        target_sessions: w.target_sessions.unwrap_or(16).max(1),
        cooldown: Duration::from_millis(w.cooldown_ms.unwrap_or(30_000)),
    }
}

/// Each worker's engine memory when `[workers] memory_limit` is not set: the
/// engine's own default (80% of the machine) shared by as many workers as the
/// fleet may have, so a busy fleet cannot ask for more than the machine has.
fn shared_memory_limit(max_workers: usize) -> Option<String> {
    if max_workers <= 1 {
        return None;
    }
    // SAFETY: sysconf only reads system configuration values.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || page_size <= 0 {
        return None;
    }
    let total_mb = (pages as u64).saturating_mul(page_size as u64) / (1024 * 1024);
    let each = total_mb * 8 / 10 / max_workers as u64;
    Some(format!("{}MB", each.max(256)))
}

/// A statement keeps a descriptor open on every cached file it reads (the pin
/// that protects it from eviction), so a worker may need many more than the
/// usual soft limit of 1024: raise it to the hard limit.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                tracing::warn!(soft = limit.rlim_cur, "cannot raise the open file limit");
            }
        }
    }
}
