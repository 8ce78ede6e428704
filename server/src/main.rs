//! The `floe` binary: command line, configuration, and process lifecycle.
//!
//! `floe serve` is the embedded default: one command that keeps everything under
//! the data directory and accepts Postgres clients at once. `floe worker` runs a
//! single worker on a given address.

mod config;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::sync::watch;

use config::{Config, Overrides};

#[derive(Parser, Debug)]
#[command(
    name = "floe",
    version,
    about = "Postgres-compatible analytics on the lakehouse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run Floe on its embedded default (local warehouse directory).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run one worker listening on ADDR.
    Worker {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLOE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let (file, overrides) = match &cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            workers,
        } => (
            config.clone(),
            Overrides {
                listen: listen.clone(),
                data_dir: data_dir.clone(),
                workers: *workers,
            },
        ),
        Command::Worker {
            config,
            listen,
            data_dir,
        } => (
            config.clone(),
            Overrides {
                listen: Some(listen.clone()),
                data_dir: data_dir.clone(),
                workers: None,
            },
        ),
    };
    let config = match Config::load(file.as_deref(), std::env::vars(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("floe: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("floe: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_worker(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("listening on {0} beyond loopback requires authentication, which this build does not have yet; listen on 127.0.0.1")]
    Unauthenticated(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the DuckDB database: {0}")]
    Engine(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Directories under the data directory that the engine may touch.
struct DataLayout {
    database: PathBuf,
    tmp: PathBuf,
    cache: PathBuf,
    warehouse: PathBuf,
}

impl DataLayout {
    fn new(config: &Config) -> DataLayout {
        let d = &config.data_dir;
        DataLayout {
            database: d.join("duckdb").join("floe.duckdb"),
            tmp: d.join("tmp"),
            cache: config.cache.dir.clone().unwrap_or_else(|| d.join("cache")),
            warehouse: d.join("warehouse"),
        }
    }

    fn create(&self) -> std::io::Result<()> {
        for dir in [
            self.database.parent().unwrap_or(Path::new(".")),
            &self.tmp,
            &self.cache,
            &self.warehouse,
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

async fn run_worker(config: Config) -> Result<(), ServeError> {
    let addr = config.listen_addr()?;
    if !addr.ip().is_loopback() {
        return Err(ServeError::Unauthenticated(addr));
    }
    if config.workers.count.is_some_and(|n| n > 1) {
        tracing::warn!(
            "workers.count > 1 takes effect with the router; running one in-process worker"
        );
    }
    let layout = DataLayout::new(&config);
    layout.create()?;
    let sandbox = floe_worker::SandboxConfig {
        database_path: Some(layout.database.clone()),
        allowed_dirs: vec![layout.cache.clone(), layout.warehouse.clone()],
        temp_dir: layout.tmp.clone(),
        threads: config.workers.threads,
        memory_limit: config.workers.memory_limit.clone(),
    };
    let db = tokio::task::spawn_blocking(move || floe_worker::open_sandboxed(&sandbox))
        .await
        .map_err(|e| ServeError::Engine(e.to_string()))?
        .map_err(|e| ServeError::Engine(e.message))?;
    let mut defaults = Vec::new();
    if let Some(tz) = &config.session.timezone {
        defaults.push(("TimeZone", tz.clone()));
    }
    let worker = floe_worker::Worker::new(db, defaults, None);
    let listen = floe_protocol::ListenAddr::Tcp(addr);
    let listener = floe_protocol::Listener::bind(&listen)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, data_dir = %config.data_dir.display(), "Floe is ready for connections");
    // A line on stdout that scripts and tests can wait for.
    println!("floe listening on {local}");

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    worker.clone().serve(listener, stop_rx).await;
    // The database closes (and checkpoints) when the last reference goes.
    drop(worker);
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
