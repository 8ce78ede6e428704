//! Client authentication: SCRAM-SHA-256 (default), md5 and cleartext passwords,
//! checked against PostgreSQL-style verifiers from the configuration. Unknown users
//! go through the same exchange and fail the same way, so a client cannot tell a
//! missing user from a wrong password.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::BytesMut;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use floe_protocol::{sqlstate, PgError};

type HmacSha256 = Hmac<Sha256>;

const SCRAM_ITERATIONS: u32 = 4096;

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// No password (only allowed on loopback, and only with no users configured).
    Trust,
    #[default]
    ScramSha256,
    Md5,
    /// Cleartext password; only over TLS.
    Password,
}

impl std::str::FromStr for AuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "trust" => Ok(AuthMethod::Trust),
            "scram-sha-256" | "scram" => Ok(AuthMethod::ScramSha256),
            "md5" => Ok(AuthMethod::Md5),
            "password" | "cleartext" => Ok(AuthMethod::Password),
            other => Err(format!("unknown authentication method \"{other}\"")),
        }
    }
}

/// A stored password: a SCRAM-SHA-256 verifier or an md5 hash, as PostgreSQL keeps
/// them in `pg_authid.rolpassword`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verifier {
    Scram {
        iterations: u32,
        salt: Vec<u8>,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    },
    /// `md5` + md5(password || user), hex.
    Md5(String),
}

impl Verifier {
    /// Parses `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>` or `md5<hex>`.
    pub fn parse(s: &str) -> Result<Verifier, String> {
        if let Some(hex) = s.strip_prefix("md5") {
            if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(Verifier::Md5(hex.to_ascii_lowercase()));
            }
            return Err("md5 verifier must be md5 followed by 32 hex digits".into());
        }
        let rest = s
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or("a password verifier starts with SCRAM-SHA-256$ or md5")?;
        let (params, keys) = rest.split_once('$').ok_or("malformed SCRAM verifier")?;
        let (iter, salt) = params.split_once(':').ok_or("malformed SCRAM verifier")?;
        let (stored, server) = keys.split_once(':').ok_or("malformed SCRAM verifier")?;
        let decode = |v: &str| {
            B64.decode(v)
                .map_err(|_| "bad base64 in SCRAM verifier".to_string())
        };
        Ok(Verifier::Scram {
            iterations: iter.parse().map_err(|_| "bad iteration count")?,
            salt: decode(salt)?,
            stored_key: decode(stored)?,
            server_key: decode(server)?,
        })
    }

    /// A new SCRAM-SHA-256 verifier for `password`, rendered as PostgreSQL does.
    pub fn scram_for(password: &str) -> String {
        let salt: [u8; 16] = rand::random();
        let (stored, server) = scram_keys(password, &salt, SCRAM_ITERATIONS);
        format!(
            "SCRAM-SHA-256${SCRAM_ITERATIONS}:{}${}:{}",
            B64.encode(salt),
            B64.encode(stored),
            B64.encode(server)
        )
    }

    /// Whether `password` matches (for cleartext authentication).
    fn check_password(&self, user: &str, password: &str) -> bool {
        match self {
            Verifier::Scram {
                iterations,
                salt,
                stored_key,
                ..
            } => {
                let (stored, _) = scram_keys(password, salt, *iterations);
                constant_time_eq(&stored, stored_key)
            }
            Verifier::Md5(hex) => constant_time_eq(
                md5_hex(&[password.as_bytes(), user.as_bytes()]).as_bytes(),
                hex.as_bytes(),
            ),
        }
    }
}

/// One configured user.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub verifier: Verifier,
    pub superuser: bool,
}

/// Users by name and the method clients must use.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub method: AuthMethod,
    pub users: HashMap<String, User>,
}

impl AuthConfig {
    /// Trust on loopback, for a server with no users configured.
    pub fn trust() -> AuthConfig {
        AuthConfig {
            method: AuthMethod::Trust,
            users: HashMap::new(),
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn scram_keys(password: &str, salt: &[u8], iterations: u32) -> (Vec<u8>, Vec<u8>) {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key).to_vec();
    let server_key = hmac(&salted, b"Server Key");
    (stored_key, server_key)
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

fn auth_failed(user: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_PASSWORD,
        format!("password authentication failed for user \"{user}\""),
    )
    .fatal()
}

fn protocol_error(what: &str) -> PgError {
    PgError::new(sqlstate::PROTOCOL_VIOLATION, what.to_string()).fatal()
}

fn auth_request(code: i32, data: &[u8]) -> BytesMut {
    let mut m = BytesMut::with_capacity(9 + data.len());
    floe_protocol::backend::authentication(&mut m, code, data);
    m
}

/// Reads a password-family message ('p') body.
async fn read_password_message<S: AsyncRead + Unpin>(s: &mut S) -> Result<Vec<u8>, PgError> {
    let tag = s
        .read_u8()
        .await
        .map_err(|_| protocol_error("connection closed during authentication"))?;
    let len = s
        .read_i32()
        .await
        .map_err(|_| protocol_error("connection closed during authentication"))?;
    if tag != b'p' {
        return Err(protocol_error("expected a password response"));
    }
    if !(4..=65_536).contains(&len) {
        return Err(protocol_error("invalid password message length"));
    }
    let mut body = vec![0u8; len as usize - 4];
    s.read_exact(&mut body)
        .await
        .map_err(|_| protocol_error("connection closed during authentication"))?;
    Ok(body)
}

/// A verifier for users that do not exist, so they fail like a wrong password.
fn mock_verifier(user: &str) -> Verifier {
    let salt = Sha256::digest(format!("floe-mock-salt:{user}").as_bytes())[..16].to_vec();
    Verifier::Scram {
        iterations: SCRAM_ITERATIONS,
        salt,
        stored_key: vec![0; 32],
        server_key: vec![0; 32],
    }
}

/// Authenticates `user` on `s` as configured; on success the caller sends
/// AuthenticationOk. `tls` says whether the connection is encrypted.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    config: &AuthConfig,
    user: &str,
    tls: bool,
) -> Result<(), PgError> {
    let entry = config.users.get(user);
    let io = |_| protocol_error("connection closed during authentication");
    match config.method {
        AuthMethod::Trust => Ok(()),
        AuthMethod::Password => {
            if !tls {
                return Err(PgError::new(
                    sqlstate::INVALID_AUTHORIZATION,
                    "cleartext password authentication requires an SSL connection",
                )
                .fatal());
            }
            s.write_all(&auth_request(3, &[])).await.map_err(io)?;
            let body = read_password_message(s).await?;
            let password =
                String::from_utf8_lossy(body.strip_suffix(&[0]).unwrap_or(&body)).into_owned();
            match entry {
                Some(u) if u.verifier.check_password(user, &password) => Ok(()),
                _ => Err(auth_failed(user)),
            }
        }
        AuthMethod::Md5 if matches!(entry.map(|u| &u.verifier), Some(Verifier::Md5(_))) => {
            let salt: [u8; 4] = rand::random();
            s.write_all(&auth_request(5, &salt)).await.map_err(io)?;
            let body = read_password_message(s).await?;
            let given =
                String::from_utf8_lossy(body.strip_suffix(&[0]).unwrap_or(&body)).into_owned();
            let Some(Verifier::Md5(hex)) = entry.map(|u| &u.verifier) else {
                return Err(auth_failed(user));
            };
            let want = format!("md5{}", md5_hex(&[hex.as_bytes(), &salt]));
            if constant_time_eq(given.as_bytes(), want.as_bytes()) {
                Ok(())
            } else {
                Err(auth_failed(user))
            }
        }
        // md5 with a SCRAM verifier upgrades to SCRAM, as in PostgreSQL.
        AuthMethod::Md5 | AuthMethod::ScramSha256 => {
            let verifier = match entry.map(|u| &u.verifier) {
                Some(v @ Verifier::Scram { .. }) => v.clone(),
                // md5-only users cannot do SCRAM; they fail like unknown ones.
                _ => mock_verifier(user),
            };
            scram(s, &verifier, user, entry.is_some()).await
        }
    }
}

async fn scram<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    verifier: &Verifier,
    user: &str,
    known: bool,
) -> Result<(), PgError> {
    let Verifier::Scram {
        iterations,
        salt,
        stored_key,
        server_key,
    } = verifier
    else {
        return Err(auth_failed(user));
    };
    let io = |_| protocol_error("connection closed during authentication");
    s.write_all(&auth_request(10, b"SCRAM-SHA-256\0\0"))
        .await
        .map_err(io)?;

    // SASLInitialResponse: mechanism\0, int32 length, client-first-message.
    let body = read_password_message(s).await?;
    let nul = body
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| protocol_error("malformed SASL response"))?;
    if &body[..nul] != b"SCRAM-SHA-256" {
        return Err(protocol_error("unsupported SASL mechanism"));
    }
    let rest = &body[nul + 1..];
    if rest.len() < 4 {
        return Err(protocol_error("malformed SASL response"));
    }
    let client_first = String::from_utf8_lossy(&rest[4..]).into_owned();
    // gs2 header: "n,," (no channel binding) or "y,," (client could, server can't).
    let (gs2, client_first_bare) = if let Some(b) = client_first.strip_prefix("n,,") {
        ("n,,", b.to_string())
    } else if let Some(b) = client_first.strip_prefix("y,,") {
        ("y,,", b.to_string())
    } else {
        return Err(protocol_error("unsupported SCRAM channel binding"));
    };
    let client_nonce = client_first_bare
        .split(',')
        .find_map(|a| a.strip_prefix("r="))
        .ok_or_else(|| protocol_error("SCRAM client nonce missing"))?;
    let server_nonce: [u8; 18] = rand::random();
    let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
    let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
    s.write_all(&auth_request(11, server_first.as_bytes()))
        .await
        .map_err(io)?;

    // SASLResponse: client-final-message.
    let body = read_password_message(s).await?;
    let client_final = String::from_utf8_lossy(&body).into_owned();
    let (without_proof, proof) = client_final
        .rsplit_once(",p=")
        .ok_or_else(|| protocol_error("SCRAM proof missing"))?;
    let mut attrs = without_proof.split(',');
    let binding = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .unwrap_or("");
    let final_nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .unwrap_or("");
    if binding != B64.encode(gs2) || final_nonce != nonce {
        return Err(auth_failed(user));
    }
    let proof = B64.decode(proof).map_err(|_| auth_failed(user))?;
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let client_signature = hmac(stored_key, auth_message.as_bytes());
    if proof.len() != client_signature.len() {
        return Err(auth_failed(user));
    }
    let client_key: Vec<u8> = proof
        .iter()
        .zip(&client_signature)
        .map(|(a, b)| a ^ b)
        .collect();
    if !known || !constant_time_eq(&Sha256::digest(&client_key), stored_key) {
        return Err(auth_failed(user));
    }
    let server_signature = hmac(server_key, auth_message.as_bytes());
    let server_final = format!("v={}", B64.encode(server_signature));
    s.write_all(&auth_request(12, server_final.as_bytes()))
        .await
        .map_err(io)?;
    Ok(())
}

/// The md5 verifier PostgreSQL stores: `md5` + md5(password || user).
pub fn md5_verifier(user: &str, password: &str) -> String {
    format!("md5{}", md5_hex(&[password.as_bytes(), user.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_round_trip_and_check() {
        let v = Verifier::scram_for("s3cret");
        assert!(v.starts_with("SCRAM-SHA-256$4096:"));
        let parsed = Verifier::parse(&v).expect("parse");
        assert!(parsed.check_password("u", "s3cret"));
        assert!(!parsed.check_password("u", "wrong"));
        let m = Verifier::parse(&md5_verifier("alice", "pw")).expect("md5");
        assert!(m.check_password("alice", "pw"));
        assert!(!m.check_password("bob", "pw"));
        assert!(Verifier::parse("plain").is_err());
    }

    #[test]
    fn scram_matches_rfc7677_example() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"pencil", &salt, 4096, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let (stored, server) = scram_keys("pencil", &salt, 4096);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&stored, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(
            B64.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            B64.encode(hmac(&server, auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn methods_parse() {
        assert_eq!(
            "scram-sha-256".parse::<AuthMethod>(),
            Ok(AuthMethod::ScramSha256)
        );
        assert_eq!("MD5".parse::<AuthMethod>(), Ok(AuthMethod::Md5));
        assert!("kerberos".parse::<AuthMethod>().is_err());
    }
}
