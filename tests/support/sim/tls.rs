//! TLS material: a self-signed CA and a leaf certificate for `127.0.0.1`/`localhost` signed by
//! it, plus the Proxmox-style SHA-256 fingerprint of the leaf.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use sha2::{Digest, Sha256};

/// Generated certificate material of one server.
pub struct TlsMaterial {
    /// rustls server config.
    pub config: Arc<rustls::ServerConfig>,
    /// Leaf certificate PEM.
    pub cert_pem: String,
    /// CA certificate PEM.
    pub ca_pem: String,
    /// SHA-256 of the leaf DER, uppercase hex pairs joined by `:`.
    pub fingerprint: String,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Generate a CA + leaf and a rustls server config (HTTP/1.1 only).
pub fn generate(common_name: &str) -> std::io::Result<TlsMaterial> {
    let ca_key = KeyPair::generate().map_err(io_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{common_name} simulator CA"));
    let ca_cert = ca_params.self_signed(&ca_key).map_err(io_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(io_err)?;
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_string()]).map_err(io_err)?;
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, common_name.to_string());
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(io_err)?;

    let digest = Sha256::digest(leaf.der().as_ref());
    let fingerprint = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");

    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(io_err)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io_err)?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key_der)
        .map_err(io_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        cert_pem: leaf.pem(),
        ca_pem: ca_cert.pem(),
        fingerprint,
    })
}
