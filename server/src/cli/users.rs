//! `floe user add` / `floe passwd`: write a user's password verifier into the
//! configuration file, keeping the rest of the file as it is.

use std::path::Path;

use floe_router::frontend::auth::{md5_verifier, Verifier};
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("[auth] users in {0} is not an array of tables")]
    Shape(String),
    #[error("user names and passwords must not be empty")]
    Empty,
}

/// Creates or updates `name` with a verifier for `password` (SCRAM-SHA-256, or md5
/// when asked). `superuser` is set on new users and changed only when given.
pub fn set_password(
    config: &Path,
    name: &str,
    password: &str,
    superuser: Option<bool>,
    md5: bool,
) -> Result<(), UserError> {
    if name.is_empty() || password.is_empty() {
        return Err(UserError::Empty);
    }
    let path = config.display().to_string();
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(UserError::Read { path, source }),
    };
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| UserError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
    let verifier = if md5 {
        md5_verifier(name, password)
    } else {
        Verifier::scram_for(password)
    };
    let auth = doc
        .entry("auth")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| UserError::Shape(path.clone()))?;
    let users = auth
        .entry("users")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| UserError::Shape(path.clone()))?;
    let existing = users
        .iter()
        .position(|u| u.get("name").and_then(|n| n.as_str()) == Some(name));
    match existing.and_then(|i| users.get_mut(i)) {
        Some(user) => {
            user["password"] = value(verifier);
            if let Some(s) = superuser {
                user["superuser"] = value(s);
            }
        }
        None => {
            let mut user = Table::new();
            user["name"] = value(name);
            user["password"] = value(verifier);
            user["superuser"] = value(superuser.unwrap_or(false));
            users.push(user);
        }
    }
    std::fs::write(config, doc.to_string()).map_err(|source| UserError::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_updates_users_keeping_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("floe.toml");
        std::fs::write(&file, "# my settings\nlisten = \"127.0.0.1:6000\"\n").expect("write");
        set_password(&file, "alice", "pw1", Some(true), false).expect("add");
        set_password(&file, "bob", "pw2", None, true).expect("add md5");
        set_password(&file, "alice", "pw3", None, false).expect("update");
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.starts_with("# my settings\nlisten = \"127.0.0.1:6000\"\n"));
        let doc: toml::Table = text.parse().expect("toml");
        let users = doc["auth"]["users"].as_array().expect("users");
        assert_eq!(users.len(), 2);
        let alice = Verifier::parse(users[0]["password"].as_str().expect("pw")).expect("verifier");
        assert!(matches!(alice, Verifier::Scram { .. }));
        assert_eq!(users[0]["superuser"].as_bool(), Some(true));
        assert!(users[1]["password"]
            .as_str()
            .expect("pw")
            .starts_with("md5"));
        assert!(set_password(&file, "", "x", None, false).is_err());
    }
}
