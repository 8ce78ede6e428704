//! TLS for client connections (rustls): loading a configured certificate, or
//! generating a development CA and a server certificate signed by it, so that
//! `sslmode=require` and `sslmode=verify-full` (against the CA) both work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TLS configuration: {0}")]
    Config(String),
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
}

/// Files of a generated development certificate.
#[derive(Debug, Clone)]
pub struct GeneratedCert {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Builds the acceptor from PEM files (a certificate chain and its private key).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let read_err = |p: &Path, e: &dyn std::fmt::Display| TlsError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read_err(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(cert, &e))?;
    if chain.is_empty() {
        return Err(TlsError::Config(format!(
            "{} holds no certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read_err(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Generates (once) a development CA and a server certificate for `localhost` and
/// `127.0.0.1` under `dir`; existing files are reused.
pub fn ensure_self_signed(dir: &Path) -> Result<GeneratedCert, TlsError> {
    let files = GeneratedCert {
        ca: dir.join("ca.crt"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    if files.ca.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let gen = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let ca_key = rcgen::KeyPair::generate().map_err(gen)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(gen)?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Floe development CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(gen)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let server_key = rcgen::KeyPair::generate().map_err(gen)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(gen)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server_cert = params.signed_by(&server_key, &issuer).map_err(gen)?;

    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let write = |p: &Path, text: String| {
        std::fs::write(p, text).map_err(|source| TlsError::Write {
            path: p.display().to_string(),
            source,
        })
    };
    write(&files.ca, ca_cert.pem())?;
    // The chain clients receive: the server certificate, then the CA.
    write(
        &files.cert,
        format!("{}{}", server_cert.pem(), ca_cert.pem()),
    )?;
    write(&files.key, server_key.serialize_pem())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = ensure_self_signed(dir.path()).expect("generate");
        assert!(acceptor(&files.cert, &files.key).is_ok());
        let again = ensure_self_signed(dir.path()).expect("reuse");
        assert_eq!(
            std::fs::read(&again.ca).expect("ca"),
            std::fs::read(&files.ca).expect("ca")
        );
    }
}
