//! The `floe` binary: command line, configuration, and process lifecycle.
//!
//! `floe serve` is the embedded default: one command that starts a router and
//! supervised local worker processes, keeps everything under the data directory and
//! accepts Postgres clients at once. `floe worker` runs one worker; `floe router`
//! fronts workers running elsewhere.

mod cli;
mod config;
mod fleet;
mod run;
mod supervisor;

use cli::{load_tpch, users};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run Floe on its embedded default: a router plus supervised local workers.
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Local worker processes to run.
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run one worker on ADDR (host:port or unix:/path).
    Worker {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Which of several workers sharing a data directory this is.
        #[arg(long)]
        id: Option<usize>,
    },
    /// Add a user (or change its password) in the configuration file. The password
    /// is read from --password or the first line of standard input.
    #[command(name = "user")]
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Change a user's password (same as `user add` for an existing user).
    Passwd {
        #[command(flatten)]
        user: UserPassword,
    },
    /// Load demo data into a running Floe (as an ordinary client).
    Load {
        #[command(subcommand)]
        dataset: Dataset,
    },
    /// Run a router in front of workers at the given addresses.
    Router {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: Option<String>,
        /// A worker address (host:port or unix:/path); repeat for several.
        #[arg(long = "worker", required = true)]
        workers: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum Dataset {
    /// The eight TPC-H tables, generated in process and loaded with COPY.
    Tpch(load_tpch::LoadOptions),
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Add a user, or replace the password of an existing one.
    Add {
        #[command(flatten)]
        user: UserPassword,
        #[arg(long)]
        superuser: bool,
    },
}

/// A user's name and password, and the configuration file they go to.
#[derive(clap::Args, Debug)]
struct UserPassword {
    name: String,
    #[arg(long, default_value = "floe.toml")]
    config: PathBuf,
    #[arg(long)]
    password: Option<String>,
    /// Store an md5 verifier instead of SCRAM-SHA-256.
    #[arg(long)]
    md5: bool,
}

/// The password from the flag, or the first line of standard input.
fn read_password(flag: Option<String>) -> Option<String> {
    if flag.is_some() {
        return flag;
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_string())
}

fn manage_user(user: UserPassword, superuser: Option<bool>) -> ExitCode {
    let UserPassword {
        name,
        config,
        password,
        md5,
    } = user;
    let Some(password) = read_password(password) else {
        eprintln!("floe: no password given");
        return ExitCode::from(2);
    };
    match users::set_password(&config, &name, &password, superuser, md5) {
        Ok(()) => {
            println!("user {name} written to {}", config.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_load(opts: load_tpch::LoadOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("floe: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(load_tpch::load_tpch(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines carry the machine's local time with its UTC offset: the zone
/// sessions report as `log_timezone`.
struct LogTime(Option<floe_worker::codec::text::SessionTz>);

impl tracing_subscriber::fmt::time::FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let now = chrono::Utc::now();
        let offset = self
            .0
            .as_ref()
            .map_or(0, |zone| zone.offset_at(now.timestamp_micros()));
        match chrono::FixedOffset::east_opt(offset) {
            Some(zone) => write!(
                w,
                "{}",
                now.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.6f%:z")
            ),
            None => write!(w, "{}", now.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLOE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_timer(LogTime(floe_worker::codec::text::SessionTz::parse(
            &floe_worker::codec::text::SessionTz::host_zone_name(),
        )))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::User {
            action: UserAction::Add { user, superuser },
        } => return manage_user(user, Some(superuser)),
        Command::Passwd { user } => return manage_user(user, None),
        Command::Load {
            dataset: Dataset::Tpch(opts),
        } => {
            return run_load(opts);
        }
        _ => {}
    }
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
            ..
        } => (
            config.clone(),
            Overrides {
                listen: Some(listen.clone()),
                data_dir: data_dir.clone(),
                workers: None,
            },
        ),
        Command::Router { config, listen, .. } => (
            config.clone(),
            Overrides {
                listen: listen.clone(),
                ..Default::default()
            },
        ),
        Command::User { .. } | Command::Passwd { .. } | Command::Load { .. } => {
            return ExitCode::SUCCESS
        }
    };
    let config = match Config::load(file.as_deref(), std::env::vars(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("floe: {e}");
            return ExitCode::from(2);
        }
    };
    // One TLS crypto provider for the process (object storage and REST catalog
    // clients, as for client connections): ring.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    if matches!(cli.command, Command::Worker { .. })
        && config.workers.batch_scheduling.unwrap_or(true)
    {
        // Before any thread starts: the engine's threads inherit the policy.
        if let Err(e) = run_as_batch() {
            eprintln!("floe: worker keeps the default scheduling policy: {e}");
        }
    }
    // Workers run DuckDB on blocking threads and keep tokio's default; the router
    // relays on as many threads as configured (see `RouterSection::threads`).
    let built = match (&cli.command, config.router.threads.unwrap_or(1)) {
        (Command::Serve { .. } | Command::Router { .. }, 1) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        (Command::Serve { .. } | Command::Router { .. }, n) => {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n.max(1))
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match built {
        Ok(r) => r,
        Err(e) => {
            eprintln!("floe: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config: file, .. } => run::serve(config, file).await,
            Command::Worker { id, .. } => run::worker(config, id).await,
            Command::Router { workers, .. } => run::router(config, workers).await,
            Command::User { .. } | Command::Passwd { .. } | Command::Load { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Puts this thread (and the threads it starts) under `SCHED_BATCH`: a worker is
/// CPU-bound compute, and under that policy its wake-ups do not preempt what a
/// core is running — on a small machine, the router relaying other sessions,
/// which otherwise pays a context switch for every reply it hands a worker.
fn run_as_batch() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` only reads `param`, which lives across the
    // call; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
