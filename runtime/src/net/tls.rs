//! rustls configurations for party links: TLS 1.3 only, ring provider, and certificate
//! pinning in both directions (a peer must present exactly the certificate configured for it).

use super::keys::PartyKeys;
use super::NetError;
use mpcc_ir::PartyId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, Error, ServerConfig,
    SignatureScheme,
};
use std::sync::Arc;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(e: Error) -> NetError {
    match e {
        Error::InconsistentKeys(_) => NetError::Tls(
            "this party's private key does not belong to its own certificate (check --key and --cert, or the keys directory)".into(),
        ),
        e => NetError::Tls(e.to_string()),
    }
}

/// Accepts exactly one certificate: the listening peer's.
#[derive(Debug)]
struct PinnedServer {
    expected: CertificateDer<'static>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::General("TLS 1.2 is not allowed".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Accepts the certificates of the parties allowed to dial this one.
#[derive(Debug)]
struct PinnedClients {
    allowed: Vec<CertificateDer<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if self
            .allowed
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::General("TLS 1.2 is not allowed".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Configuration for dialing `peer`: presents our certificate, accepts only the peer's.
pub(crate) fn client_config(
    keys: &PartyKeys,
    peer: PartyId,
) -> Result<Arc<ClientConfig>, NetError> {
    let p = provider();
    let verifier = Arc::new(PinnedServer {
        expected: keys.certs[peer as usize].clone(),
        algs: p.signature_verification_algorithms,
    });
    let cfg = ClientConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(
            vec![keys.certs[keys.id as usize].clone()],
            keys.key.clone_key(),
        )
        .map_err(tls_err)?;
    Ok(Arc::new(cfg))
}

/// Configuration for accepting the parties in `from`: client certificates are mandatory
/// and must be one of theirs.
pub(crate) fn server_config(
    keys: &PartyKeys,
    from: &[PartyId],
) -> Result<Arc<ServerConfig>, NetError> {
    let p = provider();
    let verifier = Arc::new(PinnedClients {
        allowed: from
            .iter()
            .map(|&j| keys.certs[j as usize].clone())
            .collect(),
        algs: p.signature_verification_algorithms,
    });
    let cfg = ServerConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![keys.certs[keys.id as usize].clone()],
            keys.key.clone_key(),
        )
        .map_err(tls_err)?;
    Ok(Arc::new(cfg))
}

/// Which party presented `cert` (one of the certificates `keys` pins).
pub(crate) fn party_of(keys: &PartyKeys, cert: &CertificateDer<'_>) -> Option<PartyId> {
    (0..3u8).find(|&p| p != keys.id && keys.certs[p as usize].as_ref() == cert.as_ref())
}
