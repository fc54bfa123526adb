//! Party key pairs and certificates: generation (rcgen, ECDSA P-256, self-signed) and
//! loading the PEM files a party is configured with.

use super::NetError;
use mpcc_ir::PartyId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// A party's own key and certificate, and the certificates of all three parties
/// (`certs[id]` is its own).
#[derive(Debug)]
pub struct PartyKeys {
    /// This party.
    pub id: PartyId,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
    /// The certificate of each party, by id.
    pub certs: [CertificateDer<'static>; 3],
}

impl Clone for PartyKeys {
    fn clone(&self) -> Self {
        PartyKeys {
            id: self.id,
            key: self.key.clone_key(),
            certs: self.certs.clone(),
        }
    }
}

/// A freshly generated key pair, PEM-encoded: (private key, certificate).
pub fn generate_keys(id: PartyId) -> Result<(String, String), NetError> {
    let key = rcgen::KeyPair::generate().map_err(|e| NetError::Tls(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec![server_name(id)])
        .map_err(|e| NetError::Tls(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("mpcc party {id}"));
    let cert = params
        .self_signed(&key)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    Ok((key.serialize_pem(), cert.pem()))
}

/// SHA-256 of a PEM certificate's DER bytes, as colon-separated hex (what a party can
/// compare out of band with the peer that sent it the certificate).
pub fn cert_fingerprint(cert_pem: &str) -> Result<String, NetError> {
    use sha2::Digest;
    let der = parse_cert(cert_pem.as_bytes(), "certificate")?;
    let d = sha2::Sha256::digest(der.as_ref());
    Ok(d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The TLS server name a party's certificate carries.
pub(crate) fn server_name(id: PartyId) -> String {
    format!("mpcc-party{id}")
}

/// File names `mpcc keygen` writes: (`partyN.key`, `partyN.crt`).
pub fn key_file_names(id: PartyId) -> (String, String) {
    (format!("party{id}.key"), format!("party{id}.crt"))
}

impl PartyKeys {
    /// Keys from PEM text: this party's key, then the three certificates by party id.
    pub fn from_pem(id: PartyId, key_pem: &str, cert_pems: [&str; 3]) -> Result<Self, NetError> {
        let key = parse_key(key_pem.as_bytes(), "private key")?;
        let mut certs = Vec::with_capacity(3);
        for (p, pem) in cert_pems.iter().enumerate() {
            certs.push(parse_cert(
                pem.as_bytes(),
                &format!("party {p}'s certificate"),
            )?);
        }
        Ok(PartyKeys {
            id,
            key,
            certs: certs.try_into().expect("three certificates"),
        })
    }

    /// Keys from files: this party's key and the three certificates by party id (the entry
    /// for `id` is its own certificate).
    pub fn load(id: PartyId, key: &Path, certs: [&Path; 3]) -> Result<Self, NetError> {
        let key = parse_key(&read(key)?, &key.display().to_string())?;
        let mut out = Vec::with_capacity(3);
        for path in certs {
            out.push(parse_cert(&read(path)?, &path.display().to_string())?);
        }
        Ok(PartyKeys {
            id,
            key,
            certs: out.try_into().expect("three certificates"),
        })
    }

    /// Keys from a directory holding `partyN.key` for this party and `party0.crt`,
    /// `party1.crt`, `party2.crt`.
    pub fn from_dir(id: PartyId, dir: &Path) -> Result<Self, NetError> {
        let key = dir.join(key_file_names(id).0);
        let certs: [PathBuf; 3] = [0, 1, 2].map(|p| dir.join(key_file_names(p).1));
        Self::load(id, &key, [&certs[0], &certs[1], &certs[2]])
    }
}

fn read(path: &Path) -> Result<Vec<u8>, NetError> {
    std::fs::read(path).map_err(|e| NetError::Keys {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn parse_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, NetError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| NetError::Keys {
        path: what.into(),
        message: format!("not a PEM private key ({e}); make one with `mpcc keygen`"),
    })
}

fn parse_cert(pem: &[u8], what: &str) -> Result<CertificateDer<'static>, NetError> {
    CertificateDer::from_pem_slice(pem).map_err(|e| NetError::Keys {
        path: what.into(),
        message: format!("not a PEM certificate ({e}); make one with `mpcc keygen`"),
    })
}
