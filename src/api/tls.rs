//! TLS for the API client: system roots by default, a CA file, a SHA-256 pin, or (asked for) nothing.
//!
//! Every mode goes through one verifier wrapper that remembers the fingerprint of the certificate the
//! server presented. When verification fails, the error can then tell the user exactly which
//! fingerprint to pin (`PVE_FINGERPRINT=…`) instead of a bare "unknown issuer".

use std::fmt;
use std::fs;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use super::server::TlsMode;
use crate::config::format_fingerprint;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use CA file '{path}': {detail}")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("cannot set up TLS: {0}")]
    Rustls(String),
}

/// The fingerprint of the last certificate a server presented (shared with the verifier).
#[derive(Clone, Default)]
pub(crate) struct SeenCertificate(Arc<Mutex<Option<String>>>);

impl SeenCertificate {
    /// The SHA-256 fingerprint, `AA:BB:…`, of the last presented leaf certificate.
    pub(crate) fn fingerprint(&self) -> Option<String> {
        self.0.lock().ok().and_then(|seen| seen.clone())
    }

    fn remember(&self, cert: &CertificateDer<'_>) {
        if let Ok(mut seen) = self.0.lock() {
            *seen = Some(fingerprint_of(cert));
        }
    }
}

/// SHA-256 of a DER certificate, formatted like Proxmox shows it.
pub(crate) fn fingerprint_of(cert: &CertificateDer<'_>) -> String {
    format_fingerprint(&Sha256::digest(cert.as_ref()))
}

enum Check {
    Roots(Arc<WebPkiServerVerifier>),
    /// The system has no usable root certificates: nothing can verify, say so at connect time.
    NoSystemRoots,
    Pin([u8; 32]),
    Nothing,
}

struct Verifier {
    check: Check,
    provider: Arc<CryptoProvider>,
    seen: SeenCertificate,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.check {
            Check::Roots(_) => "roots",
            Check::NoSystemRoots => "no system roots",
            Check::Pin(_) => "fingerprint pin",
            Check::Nothing => "insecure",
        };
        write!(f, "Verifier({mode})")
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen.remember(end_entity);
        match &self.check {
            Check::Roots(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Check::Pin(pin) => {
                let actual: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
                if &actual == pin {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::General(format!(
                        "certificate fingerprint mismatch: pinned {}, server presented {}",
                        format_fingerprint(pin),
                        format_fingerprint(&actual)
                    )))
                }
            }
            Check::NoSystemRoots => Err(rustls::Error::General(
                "no system root certificates are installed, so no certificate can be verified"
                    .into(),
            )),
            Check::Nothing => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::debug!("skipping a system root certificate: {error}");
    }
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    tracing::debug!("loaded {added} system root certificates ({ignored} unusable)");
    roots
}

fn ca_file_roots(path: &std::path::Path) -> Result<RootCertStore, TlsSetupError> {
    let ca_error = |detail: String| TlsSetupError::CaFile {
        path: path.display().to_string(),
        detail,
    };
    let pem = fs::read(path).map_err(|err| ca_error(err.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|err| ca_error(format!("not a PEM certificate file ({err})")))?;
        roots
            .add(cert)
            .map_err(|err| ca_error(format!("unusable certificate ({err})")))?;
    }
    if roots.is_empty() {
        return Err(ca_error("no certificate found in the file".into()));
    }
    Ok(roots)
}

/// Build the rustls client configuration for one server, and the handle that reports what it saw.
pub(crate) fn client_config(
    mode: &TlsMode,
) -> Result<(rustls::ClientConfig, SeenCertificate), TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots_verifier = |roots: RootCertStore| {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|err| TlsSetupError::Rustls(err.to_string()))
    };
    let check = match mode {
        TlsMode::SystemRoots => {
            let roots = system_roots();
            if roots.is_empty() {
                Check::NoSystemRoots
            } else {
                Check::Roots(roots_verifier(roots)?)
            }
        }
        TlsMode::CaFile(path) => Check::Roots(roots_verifier(ca_file_roots(path)?)?),
        TlsMode::Fingerprint(pin) => Check::Pin(*pin),
        TlsMode::Insecure => Check::Nothing,
    };
    let seen = SeenCertificate::default();
    let verifier = Verifier {
        check,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsSetupError::Rustls(err.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((config, seen))
}
