//! The model owner's weights file: named f32 tensors bound to one plan by its digest.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File magic of a weights file.
pub const WEIGHTS_MAGIC: &[u8; 8] = b"MPCCWGHT";
/// Current weights format version.
pub const WEIGHTS_VERSION: u32 = 1;

/// One named tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightTensor {
    /// Name the plan's `weight` ops refer to.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// The owner's weights for one plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Digest of the plan these weights belong to.
    pub plan_digest: [u8; 32],
    /// Tensors.
    pub tensors: Vec<WeightTensor>,
}

/// Why a weights file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not a weights file.
    #[error("not an mpcc weights file (bad magic)")]
    BadMagic,
    /// Other version.
    #[error("weights format version {0} is not the one this mpcc reads ({WEIGHTS_VERSION}); recompile the model")]
    Version(u32),
    /// Truncated or corrupted.
    #[error("weights file is corrupted or truncated: {0}")]
    Corrupt(String),
}

impl Weights {
    /// Looks a tensor up by name.
    pub fn get(&self, name: &str) -> Option<&WeightTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Encodes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = bincode::serialize(self).expect("weights serialize");
        let mut out = Vec::with_capacity(body.len() + 48);
        out.extend_from_slice(WEIGHTS_MAGIC);
        out.extend_from_slice(&WEIGHTS_VERSION.to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Decodes the file. Never panics on bad bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Weights, WeightsError> {
        if bytes.len() < 44 {
            return Err(if bytes.len() >= 8 && &bytes[..8] != WEIGHTS_MAGIC {
                WeightsError::BadMagic
            } else {
                WeightsError::Corrupt(format!("only {} bytes", bytes.len()))
            });
        }
        if &bytes[..8] != WEIGHTS_MAGIC {
            return Err(WeightsError::BadMagic);
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != WEIGHTS_VERSION {
            return Err(WeightsError::Version(version));
        }
        let body = &bytes[44..];
        if Sha256::digest(body).as_slice() != &bytes[12..44] {
            return Err(WeightsError::Corrupt("digest mismatch".into()));
        }
        let w: Weights = decode_exact(body).map_err(|e| WeightsError::Corrupt(e.to_string()))?;
        for t in &w.tensors {
            let n = t.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
            if n != Some(t.data.len()) {
                return Err(WeightsError::Corrupt(format!(
                    "tensor '{}' holds {} values for its shape {:?}",
                    t.name,
                    t.data.len(),
                    t.shape
                )));
            }
        }
        Ok(w)
    }
}

/// Decodes `bytes` as `bincode::serialize` encodes (fixed-width integers, little-endian),
/// refusing bytes left over after the value: `bincode::deserialize` ignores them, so a file
/// with trailing bytes (under a digest that covers them) would load as the file without.
pub(crate) fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> bincode::Result<T> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .deserialize(bytes)
}
