//! Postgres session parameters (GUCs) a session keeps: their defaults, validation,
//! which ones are reported to the client with ParameterStatus, and how they reach
//! value rendering.

use std::collections::BTreeMap;

use crate::codec::rows::OutputSettings;
use crate::codec::text::SessionTz;
use crate::pg_error::{sqlstate, PgError};

/// The PostgreSQL version Floe presents, so drivers pick their PG 15 code paths.
pub const SERVER_VERSION: &str = "15.8";
pub const SERVER_VERSION_NUM: &str = "150008";

struct Guc {
    name: &'static str,
    default: &'static str,
    /// Sent in ParameterStatus at startup and whenever it changes.
    reported: bool,
    read_only: bool,
    description: &'static str,
}

const GUCS: &[Guc] = &[
    Guc {
        name: "application_name",
        default: "",
        reported: true,
        read_only: false,
        description: "Sets the application name to be reported in statistics and logs.",
    },
    Guc {
        name: "bytea_output",
        default: "hex",
        reported: false,
        read_only: false,
        description: "Sets the output format for bytea.",
    },
    Guc {
        name: "client_encoding",
        default: "UTF8",
        reported: true,
        read_only: false,
        description: "Sets the client's character set encoding.",
    },
    Guc {
        name: "client_min_messages",
        default: "notice",
        reported: false,
        read_only: false,
        description: "Sets the message levels that are sent to the client.",
    },
    Guc {
        name: "DateStyle",
        default: "ISO, MDY",
        reported: true,
        read_only: false,
        description: "Sets the display format for date and time values.",
    },
    Guc {
        name: "default_transaction_isolation",
        default: "read committed",
        reported: false,
        read_only: false,
        description: "Sets the transaction isolation level of each new transaction.",
    },
    Guc {
        name: "default_transaction_read_only",
        default: "off",
        reported: true,
        read_only: false,
        description: "Sets the default read-only status of new transactions.",
    },
    Guc {
        name: "extra_float_digits",
        default: "1",
        reported: false,
        read_only: false,
        description: "Sets the number of digits displayed for floating-point values.",
    },
    Guc {
        name: "idle_in_transaction_session_timeout",
        default: "0",
        reported: false,
        read_only: false,
        description: "Sets the maximum allowed idle time between queries, when in a transaction.",
    },
    Guc {
        name: "floe.worker",
        default: "",
        reported: false,
        read_only: true,
        description: "Shows which Floe worker runs this session (its --id).",
    },
    Guc {
        name: "floe.lake_scan",
        default: "",
        reported: false,
        read_only: true,
        description: "Shows the lake files the last planned statement reads, per table: files read / files in the snapshot.",
    },
    Guc {
        name: "floe.result_cache",
        default: "on",
        reported: false,
        read_only: false,
        description: "Answers repeated statements from the worker's result cache when their tables are still at the same snapshots.",
    },
    Guc {
        name: "floe.last_cache",
        default: "",
        reported: false,
        read_only: true,
        description: "Shows whether the last statement that returned rows was answered from the result cache, and why not.",
    },
    Guc {
        name: "in_hot_standby",
        default: "off",
        reported: true,
        read_only: true,
        description: "Shows whether hot standby is currently active.",
    },
    Guc {
        name: "integer_datetimes",
        default: "on",
        reported: true,
        read_only: true,
        description: "Shows whether datetimes are integer based.",
    },
    Guc {
        name: "IntervalStyle",
        default: "postgres",
        reported: true,
        read_only: false,
        description: "Sets the display format for interval values.",
    },
    Guc {
        name: "is_superuser",
        default: "on",
        reported: true,
        read_only: true,
        description: "Shows whether the current user is a superuser.",
    },
    Guc {
        name: "jit",
        // On, as PostgreSQL 15's default (a server without a JIT provider
        // also says on); drivers that see it on (asyncpg) switch it off and
        // back around their type lookups, the second time with a
        // parameterized set_config.
        default: "on",
        reported: false,
        read_only: false,
        description: "Allow JIT compilation.",
    },
    Guc {
        name: "lc_messages",
        default: "C",
        reported: false,
        read_only: false,
        description: "Sets the language in which messages are displayed.",
    },
    Guc {
        name: "lc_monetary",
        default: "C",
        reported: false,
        read_only: false,
        description: "Sets the locale for formatting monetary amounts.",
    },
    Guc {
        name: "lc_numeric",
        default: "C",
        reported: false,
        read_only: false,
        description: "Sets the locale for formatting numbers.",
    },
    Guc {
        name: "lc_time",
        default: "C",
        reported: false,
        read_only: false,
        description: "Sets the locale for formatting date and time values.",
    },
    Guc {
        name: "lock_timeout",
        default: "0",
        reported: false,
        read_only: false,
        description: "Sets the maximum allowed duration of any wait for a lock.",
    },
    // The zone the server writes its log in (the machine's); set by the
    // server, as PostgreSQL's is by its configuration file.
    Guc {
        name: "log_timezone",
        default: "GMT",
        reported: false,
        read_only: true,
        description: "Sets the time zone to use in log messages.",
    },
    Guc {
        name: "max_identifier_length",
        default: "63",
        reported: false,
        read_only: true,
        description: "Shows the maximum identifier length.",
    },
    Guc {
        name: "row_security",
        default: "on",
        reported: false,
        read_only: false,
        description: "Enable row security.",
    },
    Guc {
        name: "search_path",
        default: "\"$user\", public",
        reported: false,
        read_only: false,
        description: "Sets the schema search order for names that are not schema-qualified.",
    },
    Guc {
        name: "server_encoding",
        default: "UTF8",
        reported: true,
        read_only: true,
        description: "Shows the server (database) character set encoding.",
    },
    Guc {
        name: "server_version",
        default: SERVER_VERSION,
        reported: true,
        read_only: true,
        description: "Shows the server version.",
    },
    Guc {
        name: "server_version_num",
        default: SERVER_VERSION_NUM,
        reported: false,
        read_only: true,
        description: "Shows the server version as an integer.",
    },
    Guc {
        name: "session_authorization",
        default: "",
        reported: true,
        read_only: true,
        description: "Sets the session user name.",
    },
    Guc {
        name: "standard_conforming_strings",
        default: "on",
        reported: true,
        read_only: false,
        description: "Causes '...' strings to treat backslashes literally.",
    },
    Guc {
        name: "statement_timeout",
        default: "0",
        reported: false,
        read_only: false,
        description: "Sets the maximum allowed duration of any statement.",
    },
    Guc {
        name: "synchronous_commit",
        default: "on",
        reported: false,
        read_only: false,
        description: "Sets the current transaction's synchronization level.",
    },
    Guc {
        name: "TimeZone",
        default: "UTC",
        reported: true,
        read_only: false,
        description: "Sets the time zone for displaying and interpreting time stamps.",
    },
    Guc {
        name: "timezone_abbreviations",
        default: "Default",
        reported: false,
        read_only: false,
        description: "Selects a file of time zone abbreviations.",
    },
    Guc {
        name: "transaction_isolation",
        default: "read committed",
        reported: false,
        read_only: false,
        description: "Sets the current transaction's isolation level.",
    },
    Guc {
        name: "transaction_read_only",
        default: "off",
        reported: false,
        read_only: false,
        description: "Sets the current transaction's read-only status.",
    },
    Guc {
        name: "work_mem",
        default: "4MB",
        reported: false,
        read_only: false,
        description: "Sets the maximum memory to be used for query workspaces.",
    },
];

fn find(name: &str) -> Option<&'static Guc> {
    let name = match name.to_ascii_lowercase().as_str() {
        "time zone" => "timezone".to_string(),
        "transaction isolation level" => "transaction_isolation".to_string(),
        "session authorization" => "session_authorization".to_string(),
        other => other.to_string(),
    };
    GUCS.iter().find(|g| g.name.eq_ignore_ascii_case(&name))
}

/// Whether a SET/SHOW/RESET of `name` is handled by the session rather than DuckDB.
pub fn is_session_parameter(name: &str) -> bool {
    find(name).is_some()
}

/// The error for a parameter no session has.
pub fn unrecognized_parameter(name: &str) -> PgError {
    PgError::new(
        sqlstate::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

/// A session's parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionParams {
    values: BTreeMap<&'static str, String>,
    /// What RESET and `SET … TO DEFAULT` return to: the values the session
    /// started with (configuration, then the startup packet), PostgreSQL's
    /// `reset_val`.
    reset: BTreeMap<&'static str, String>,
    /// Where each value came from, as `pg_settings.source` names it
    /// (`default` when absent).
    sources: BTreeMap<&'static str, &'static str>,
    /// The sources of the `reset` values.
    reset_sources: BTreeMap<&'static str, &'static str>,
}

/// The settings in a startup packet's `options` (libpq's `options`,
/// `PGOPTIONS`, pgjdbc's `options`): words split at unescaped spaces (`\\`
/// escapes the next character), read as `-c name=value`, `-cname=value` or
/// `--name=value` (dashes in that name read as underscores), as Postgres reads
/// them. Other switches carry no session setting and are left out.
pub fn options_settings(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c if c.is_ascii_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let setting = if let Some(long) = words[i].strip_prefix("--") {
            long.split_once('=')
                .map(|(n, v)| (n.replace('-', "_"), v.to_string()))
        } else if words[i] == "-c" {
            i += 1;
            words
                .get(i)
                .and_then(|w| w.split_once('='))
                .map(|(n, v)| (n.to_string(), v.to_string()))
        } else if let Some(rest) = words[i].strip_prefix("-c") {
            rest.split_once('=')
                .map(|(n, v)| (n.to_string(), v.to_string()))
        } else {
            None
        };
        out.extend(setting);
        i += 1;
    }
    out
}

impl SessionParams {
    /// Defaults, overridden by `defaults` (server configuration) and then by the
    /// startup packet's options (invalid startup values are ignored, as unknown
    /// options are, rather than failing the connection).
    pub fn new(
        user: &str,
        defaults: &[(&str, String)],
        startup: &[(String, String)],
    ) -> SessionParams {
        let mut values: BTreeMap<&'static str, String> = GUCS
            .iter()
            .map(|g| (g.name, g.default.to_string()))
            .collect();
        values.insert("session_authorization", user.to_string());
        let mut p = SessionParams {
            values,
            reset: BTreeMap::new(),
            sources: BTreeMap::new(),
            reset_sources: BTreeMap::new(),
        };
        // Defaults come from the configuration, so they may set read-only
        // parameters the server decides (`floe.worker`).
        for (k, v) in defaults {
            let applied = match find(k) {
                Some(g) if g.read_only => {
                    p.set_server_value(k, v);
                    Some(g.name)
                }
                _ => p.set(k, Some(v)).ok(),
            };
            if let Some(name) = applied {
                p.sources.insert(name, "configuration file");
            }
        }
        // As Postgres: the `-c name=value` switches in `options` first, then
        // parameters sent on their own, which win.
        let from_options = startup
            .iter()
            .filter(|(k, _)| k == "options")
            .flat_map(|(_, v)| options_settings(v));
        let direct = startup.iter().filter(|(k, _)| k != "options").cloned();
        for (k, v) in from_options.chain(direct) {
            if find(&k).is_some_and(|g| !g.read_only) {
                if let Ok(name) = p.set(&k, Some(&v)) {
                    p.sources.insert(name, "client");
                }
            }
        }
        p.reset = p.values.clone();
        p.reset_sources = p.sources.clone();
        p
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        find(name)
            .and_then(|g| self.values.get(g.name))
            .map(String::as_str)
    }

    /// Canonical name and value, for SHOW.
    pub fn show(&self, name: &str) -> Option<(&'static str, String)> {
        let g = find(name)?;
        Some((g.name, self.values.get(g.name).cloned().unwrap_or_default()))
    }

    /// All (name, value, description) rows, for SHOW ALL.
    pub fn all(&self) -> Vec<(&'static str, String, &'static str)> {
        GUCS.iter()
            .map(|g| {
                (
                    g.name,
                    self.values.get(g.name).cloned().unwrap_or_default(),
                    g.description,
                )
            })
            .collect()
    }

    /// Where `name`'s value came from, as `pg_settings.source` says it:
    /// `default`, `configuration file`, `client` or `session`.
    pub fn source(&self, name: &str) -> &'static str {
        find(name)
            .and_then(|g| self.sources.get(g.name))
            .copied()
            .unwrap_or("default")
    }

    /// The value RESET returns `name` to (`pg_settings.reset_val`).
    pub fn reset_value(&self, name: &str) -> Option<&str> {
        find(name)
            .and_then(|g| self.reset.get(g.name))
            .map(String::as_str)
    }

    /// Sets a read-only parameter the server itself decides (e.g. `is_superuser`).
    pub fn set_server_value(&mut self, name: &str, value: &str) {
        if let Some(g) = find(name) {
            self.values.insert(g.name, value.to_string());
        }
    }

    /// Sets `name` (`None` = its default). Returns the canonical name.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<&'static str, PgError> {
        let g = find(name).ok_or_else(|| unrecognized_parameter(name))?;
        if g.read_only {
            return Err(PgError::new(
                sqlstate::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{}\" cannot be changed", g.name),
            ));
        }
        let (value, source) = match value {
            None => (
                self.reset
                    .get(g.name)
                    .cloned()
                    .unwrap_or_else(|| g.default.to_string()),
                self.reset_sources.get(g.name).copied(),
            ),
            Some(v) => (validate(g.name, v)?, Some("session")),
        };
        self.values.insert(g.name, value);
        match source {
            Some(source) => self.sources.insert(g.name, source),
            None => self.sources.remove(g.name),
        };
        Ok(g.name)
    }

    /// The parameters the session itself changed (value or source differs
    /// from what RESET returns to), as (name, value, source): what moves with
    /// the session to another worker, where the same start gives the rest.
    pub fn changed(&self) -> Vec<(&'static str, String, &'static str)> {
        GUCS.iter()
            .filter(|g| !g.read_only)
            .filter_map(|g| {
                let value = self.values.get(g.name)?;
                let source = self.sources.get(g.name).copied().unwrap_or("default");
                let reset_source = self.reset_sources.get(g.name).copied().unwrap_or("default");
                let same = self.reset.get(g.name) == Some(value) && source == reset_source;
                (!same).then(|| (g.name, value.clone(), source))
            })
            .collect()
    }

    /// Takes a value another worker's session held (already validated there);
    /// `source` is one `pg_settings.source` names. Read-only parameters are
    /// the server's own and never taken.
    pub fn restore(&mut self, name: &str, value: &str, source: &str) -> Result<(), PgError> {
        const SOURCES: &[&str] = &["default", "configuration file", "client", "session"];
        let g = find(name).ok_or_else(|| unrecognized_parameter(name))?;
        if g.read_only {
            return Err(PgError::new(
                sqlstate::CANT_CHANGE_RUNTIME_PARAM,
                format!("parameter \"{}\" cannot be changed", g.name),
            ));
        }
        let source = SOURCES
            .iter()
            .copied()
            .find(|s| *s == source)
            .unwrap_or("session");
        self.values.insert(g.name, value.to_string());
        if source == "default" {
            self.sources.remove(g.name);
        } else {
            self.sources.insert(g.name, source);
        }
        Ok(())
    }

    /// Writes every value that may change the bytes of a statement's answer
    /// into a result-cache key: all parameters but the few that only
    /// describe the session or the last statement.
    pub fn key_into(&self, key: &mut crate::cache::results::KeyBuilder) {
        const NOT_IN_ANSWERS: &[&str] = &[
            "application_name",
            "statement_timeout",
            "lock_timeout",
            "idle_in_transaction_session_timeout",
            "floe.result_cache",
            "floe.last_cache",
            "floe.lake_scan",
            "floe.worker",
        ];
        for (name, value) in &self.values {
            if !NOT_IN_ANSWERS.contains(name) {
                key.part(name.as_bytes()).part(value.as_bytes());
            }
        }
    }

    /// Whether the session lets the result cache answer (`floe.result_cache`).
    pub fn result_cache_on(&self) -> bool {
        self.get("floe.result_cache") != Some("off")
    }

    /// Sets a read-only parameter the server maintains itself.
    pub fn set_internal(&mut self, name: &'static str, value: String) {
        self.values.insert(name, value);
    }

    /// The reported parameters, for the startup ParameterStatus burst.
    pub fn reported(&self) -> Vec<(&'static str, String)> {
        GUCS.iter()
            .filter(|g| g.reported)
            .map(|g| (g.name, self.values.get(g.name).cloned().unwrap_or_default()))
            .collect()
    }

    /// Reported parameters whose value differs from `before`.
    pub fn changed_reported(&self, before: &SessionParams) -> Vec<(&'static str, String)> {
        self.reported()
            .into_iter()
            .filter(|(k, v)| before.values.get(k) != Some(v))
            .collect()
    }

    pub fn output_settings(&self) -> OutputSettings {
        OutputSettings {
            tz: self
                .get("TimeZone")
                .and_then(SessionTz::parse)
                .unwrap_or(SessionTz::Fixed(0)),
            extra_float_digits: self
                .get("extra_float_digits")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        }
    }

    /// `statement_timeout` in milliseconds (0 = none).
    pub fn statement_timeout_ms(&self) -> u64 {
        self.get("statement_timeout")
            .and_then(parse_duration_ms)
            .unwrap_or(0)
    }
}

/// A parameter's value in the unit `pg_settings.setting` gives it in (work_mem
/// in kB, timeouts in ms): `4MB` is `4096`. Parameters without a unit, and
/// values that do not read as a number with a unit, stay as they are.
pub fn in_base_unit(name: &str, value: &str) -> String {
    const MEMORY: &[(&str, f64)] = &[
        ("B", 1.0 / 1024.0),
        ("kB", 1.0),
        ("MB", 1024.0),
        ("GB", 1024.0 * 1024.0),
        ("TB", 1024.0 * 1024.0 * 1024.0),
    ];
    const TIME: &[(&str, f64)] = &[
        ("us", 0.001),
        ("ms", 1.0),
        ("s", 1_000.0),
        ("min", 60_000.0),
        ("h", 3_600_000.0),
        ("d", 86_400_000.0),
    ];
    let units = match name {
        "work_mem" => MEMORY,
        "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => TIME,
        _ => return value.to_string(),
    };
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let factor = match unit.trim() {
        // A bare number is already in the base unit.
        "" => Some(1.0),
        u => units.iter().find(|(name, _)| *name == u).map(|(_, f)| *f),
    };
    match (number.parse::<f64>(), factor) {
        (Ok(number), Some(factor)) => format!("{}", (number * factor).round() as i64),
        _ => value.to_string(),
    }
}

fn invalid_value(name: &str, value: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// Parses a Postgres duration setting (`5000`, `5s`, `2min`, `100ms`) to ms.
fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Validates and canonicalizes a value for the parameter `name` (canonical name).
fn validate(name: &str, value: &str) -> Result<String, PgError> {
    let v = value.trim();
    match name {
        "TimeZone" => {
            if SessionTz::parse(v).is_some() {
                Ok(v.to_string())
            } else {
                Err(invalid_value(name, v))
            }
        }
        "DateStyle" => {
            // Only ISO output is produced; the field order part is kept as given.
            let parts: Vec<String> = v.split(',').map(|p| p.trim().to_ascii_uppercase()).collect();
            let order = parts
                .iter()
                .find(|p| matches!(p.as_str(), "MDY" | "DMY" | "YMD" | "US" | "EURO" | "EUROPEAN" | "NONEURO" | "NONEUROPEAN"))
                .map(|p| match p.as_str() {
                    "US" | "NONEURO" | "NONEUROPEAN" => "MDY",
                    "EURO" | "EUROPEAN" => "DMY",
                    o => o,
                })
                .unwrap_or("MDY")
                .to_string();
            if parts.iter().any(|p| matches!(p.as_str(), "SQL" | "POSTGRES" | "GERMAN")) {
                return Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("DateStyle \"{v}\" is not supported; only ISO output is available"),
                ));
            }
            if !parts.iter().all(|p| p == "ISO" || p.as_str() == order || matches!(p.as_str(), "US" | "EURO" | "EUROPEAN" | "NONEURO" | "NONEUROPEAN" | "MDY" | "DMY" | "YMD")) {
                return Err(invalid_value(name, v));
            }
            Ok(format!("ISO, {order}"))
        }
        "IntervalStyle" => {
            if v.eq_ignore_ascii_case("postgres") {
                Ok("postgres".into())
            } else if ["postgres_verbose", "sql_standard", "iso_8601"].iter().any(|s| v.eq_ignore_ascii_case(s)) {
                Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("IntervalStyle \"{v}\" is not supported; only postgres output is available"),
                ))
            } else {
                Err(invalid_value(name, v))
            }
        }
        "client_encoding" => {
            let up = v.to_ascii_uppercase().replace('-', "");
            if up == "UTF8" || up == "UNICODE" {
                Ok("UTF8".into())
            } else {
                Err(PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("client encoding \"{v}\" is not supported; Floe speaks UTF8"),
                ))
            }
        }
        "standard_conforming_strings" => match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => Ok("on".into()),
            "off" | "false" | "0" | "no" => Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "standard_conforming_strings cannot be turned off",
            )),
            _ => Err(invalid_value(name, v)),
        },
        "bytea_output" => {
            if v.eq_ignore_ascii_case("hex") {
                Ok("hex".into())
            } else if v.eq_ignore_ascii_case("escape") {
                Err(PgError::new(sqlstate::FEATURE_NOT_SUPPORTED, "bytea_output \"escape\" is not supported"))
            } else {
                Err(invalid_value(name, v))
            }
        }
        "extra_float_digits" => match v.parse::<i32>() {
            Ok(n) if (-15..=3).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("{v} is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)"),
            )),
            Err(_) => Err(PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"extra_float_digits\": \"{v}\""),
            )),
        },
        "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
            if parse_duration_ms(v).is_some() {
                Ok(v.to_string())
            } else {
                Err(invalid_value(name, v))
            }
        }
        "default_transaction_read_only"
        | "transaction_read_only"
        | "jit"
        | "row_security"
        | "floe.result_cache" => {
            match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => Ok("on".into()),
                "off" | "false" | "0" | "no" => Ok("off".into()),
                _ => Err(invalid_value(name, v)),
            }
        }
        _ => Ok(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::in_base_unit;

    #[test]
    fn values_convert_to_the_base_unit_pg_settings_shows() {
        assert_eq!(in_base_unit("work_mem", "4MB"), "4096");
        assert_eq!(in_base_unit("work_mem", "64kB"), "64");
        assert_eq!(in_base_unit("statement_timeout", "5s"), "5000");
        assert_eq!(in_base_unit("lock_timeout", "0"), "0");
        assert_eq!(in_base_unit("lock_timeout", "2min"), "120000");
        assert_eq!(in_base_unit("work_mem", "lots"), "lots");
        assert_eq!(in_base_unit("search_path", "5s"), "5s");
    }

    #[test]
    fn reset_returns_to_the_starting_value_and_sources_say_whence() {
        let defaults = [
            ("TimeZone", "Europe/Paris".to_string()),
            ("log_timezone", "Europe/Paris".to_string()),
        ];
        let startup = [("application_name".to_string(), "app".to_string())];
        let mut p = SessionParams::new("u", &defaults, &startup);
        assert_eq!(p.source("TimeZone"), "configuration file");
        assert_eq!(p.source("log_timezone"), "configuration file");
        assert_eq!(p.source("application_name"), "client");
        assert_eq!(p.source("DateStyle"), "default");
        p.set("timezone", Some("Asia/Tokyo")).expect("set");
        p.set("application_name", Some("other")).expect("set");
        assert_eq!(p.source("TimeZone"), "session");
        assert_eq!(p.reset_value("TimeZone"), Some("Europe/Paris"));
        p.set("TimeZone", None).expect("reset");
        p.set("application_name", None).expect("reset");
        assert_eq!(p.get("TimeZone"), Some("Europe/Paris"));
        assert_eq!(p.source("TimeZone"), "configuration file");
        assert_eq!(p.get("application_name"), Some("app"));
        assert_eq!(p.source("application_name"), "client");
        assert!(p.set("log_timezone", Some("UTC")).is_err());
    }

    #[test]
    fn options_carry_settings_as_postgres_reads_them() {
        assert_eq!(
            options_settings(
                "-c search_path=shop,public  -cstatement_timeout=5s --application-name=a\\ b -x"
            ),
            vec![
                ("search_path".to_string(), "shop,public".to_string()),
                ("statement_timeout".to_string(), "5s".to_string()),
                ("application_name".to_string(), "a b".to_string()),
            ]
        );
        let startup = vec![
            (
                "options".to_string(),
                "-c search_path=shop -c application_name=opt -c is_superuser=on".to_string(),
            ),
            ("application_name".to_string(), "direct".to_string()),
        ];
        let p = SessionParams::new("u", &[], &startup);
        assert_eq!(p.get("search_path"), Some("shop"));
        assert_eq!(p.get("application_name"), Some("direct"));
        // Read-only parameters keep the server's value.
        let plain = SessionParams::new("u", &[], &[]);
        assert_eq!(p.get("is_superuser"), plain.get("is_superuser"));
    }

    use super::*;

    #[test]
    fn defaults_and_startup_overrides() {
        let p = SessionParams::new(
            "alice",
            &[],
            &[
                ("application_name".into(), "psql".into()),
                ("server_version".into(), "1".into()),
            ],
        );
        assert_eq!(p.get("application_name"), Some("psql"));
        assert_eq!(p.get("server_version"), Some(SERVER_VERSION));
        assert_eq!(p.get("session_authorization"), Some("alice"));
        assert_eq!(p.get("datestyle"), Some("ISO, MDY"));
    }

    #[test]
    fn set_validates_and_reports_changes() {
        let mut p = SessionParams::new("u", &[], &[]);
        let before = p.clone();
        assert_eq!(p.set("timezone", Some("Europe/Paris")), Ok("TimeZone"));
        assert_eq!(
            p.changed_reported(&before),
            vec![("TimeZone", "Europe/Paris".to_string())]
        );
        assert_eq!(
            p.set("TimeZone", Some("Nowhere/Land"))
                .err()
                .map(|e| e.code),
            Some(sqlstate::INVALID_PARAMETER_VALUE)
        );
        assert_eq!(
            p.set("no_such_thing", Some("1")).err().map(|e| e.code),
            Some(sqlstate::UNDEFINED_OBJECT)
        );
        assert_eq!(
            p.set("server_version", Some("9")).err().map(|e| e.code),
            Some("55P02")
        );
        assert_eq!(
            p.set("extra_float_digits", Some("3")),
            Ok("extra_float_digits")
        );
        assert_eq!(p.output_settings().extra_float_digits, 3);
        assert_eq!(p.set("DateStyle", Some("iso, dmy")), Ok("DateStyle"));
        assert_eq!(p.get("DateStyle"), Some("ISO, DMY"));
        assert_eq!(
            p.set("statement_timeout", Some("2s")),
            Ok("statement_timeout")
        );
        assert_eq!(p.statement_timeout_ms(), 2000);
    }

    #[test]
    fn show_aliases() {
        let p = SessionParams::new("u", &[], &[]);
        assert_eq!(
            p.show("transaction isolation level").map(|s| s.0),
            Some("transaction_isolation")
        );
        assert_eq!(p.show("time zone").map(|s| s.1), Some("UTC".to_string()));
    }
}
