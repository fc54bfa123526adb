//! Value types of the IR: parties, rings, visibility, fixed-point scale and shapes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A computing party, 0, 1 or 2.
pub type PartyId = u8;

/// Number of computing parties (3-party replicated secret sharing).
pub const N_PARTIES: usize = 3;
/// The party that holds the model owner's weights.
pub const MODEL_OWNER: PartyId = 0;
/// The party that holds the client's inputs and learns the outputs by default.
pub const CLIENT: PartyId = 1;
/// The third party, which holds neither inputs nor weights.
pub const HELPER: PartyId = 2;

/// The ring Z_2^k a value lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ring {
    /// Z_2^64, the default ring.
    Z64,
    /// Z_2^32, used for quantized linear layers.
    Z32,
}

impl Ring {
    /// Bit width k of the ring.
    pub fn bits(self) -> u32 {
        match self {
            Ring::Z64 => 64,
            Ring::Z32 => 32,
        }
    }
    /// Bytes one ring element takes on the wire.
    pub fn bytes(self) -> u64 {
        self.bits() as u64 / 8
    }
    /// Mask selecting the low k bits of a u64.
    pub fn mask(self) -> u64 {
        match self {
            Ring::Z64 => u64::MAX,
            Ring::Z32 => u32::MAX as u64,
        }
    }
}

impl fmt::Display for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "z{}", self.bits())
    }
}

/// Who may know a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vis {
    /// Known to every party in the clear; costs nothing to compute on.
    Public,
    /// Secret-shared; derived from the client's inputs only.
    Client,
    /// Secret-shared; derived from the model owner's weights only.
    Owner,
    /// Secret-shared; derived from both.
    Secret,
}

impl Vis {
    /// True when the value is secret-shared at run time.
    pub fn is_secret(self) -> bool {
        self != Vis::Public
    }
    /// Visibility of a value computed from values of visibility `self` and `other`.
    pub fn join(self, other: Vis) -> Vis {
        match (self, other) {
            (Vis::Public, v) | (v, Vis::Public) => v,
            (a, b) if a == b => a,
            _ => Vis::Secret,
        }
    }
    /// Short name used in the text form.
    pub fn name(self) -> &'static str {
        match self {
            Vis::Public => "pub",
            Vis::Client => "client",
            Vis::Owner => "owner",
            Vis::Secret => "sec",
        }
    }
    /// Parses [`Vis::name`].
    pub fn from_name(s: &str) -> Option<Vis> {
        Some(match s {
            "pub" => Vis::Public,
            "client" => Vis::Client,
            "owner" => Vis::Owner,
            "sec" => Vis::Secret,
            _ => return None,
        })
    }
}

/// The type of an IR value: shape, ring, fixed-point scale and visibility.
///
/// A real number `v` is encoded as the ring element `round(v * 2^scale) mod 2^k`
/// (two's complement). `scale == 0` means an integer (bits, counts, indices).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueType {
    /// Dimensions, row-major.
    pub shape: Vec<usize>,
    /// The ring the value lives in.
    pub ring: Ring,
    /// Number of fraction bits of the fixed-point encoding.
    pub scale: u32,
    /// Who may know the value.
    pub vis: Vis,
}

impl ValueType {
    /// A value type of `shape` in `ring` at `scale` with visibility `vis`.
    pub fn new(shape: &[usize], ring: Ring, scale: u32, vis: Vis) -> ValueType {
        ValueType {
            shape: shape.to_vec(),
            ring,
            scale,
            vis,
        }
    }
    /// A value type in Z_2^64 (the default ring).
    pub fn z64(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
        ValueType::new(shape, Ring::Z64, scale, vis)
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True for a tensor with zero elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<", self.vis.name())?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                write!(f, "x")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, ",{},f{}>", self.ring, self.scale)
    }
}

/// Numpy-style broadcast of two shapes; `None` when they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}
