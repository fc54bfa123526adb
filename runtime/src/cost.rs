//! Cost of one plan instruction: rounds, bytes sent per party and local multiply-adds.
//!
//! This file holds only the [`Cost`] type and its arithmetic. Each kernel defines its cost
//! next to its protocol code, and the op table ([`crate::ops`]) gives every instruction's
//! cost from those definitions; the VM's measured traffic must equal them.

/// Predicted cost of an instruction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// Communication rounds.
    pub rounds: u64,
    /// Payload bytes sent by each party.
    pub bytes: [u64; 3],
    /// Local multiply-adds per party (ring operations of matmuls and products).
    pub macs: u64,
}

impl Cost {
    /// No communication, no work.
    pub const ZERO: Cost = Cost {
        rounds: 0,
        bytes: [0; 3],
        macs: 0,
    };

    /// Cost of running `self` and then `other`.
    pub fn then(self, other: Cost) -> Cost {
        Cost {
            rounds: self.rounds + other.rounds,
            bytes: [0, 1, 2].map(|i| self.bytes[i] + other.bytes[i]),
            macs: self.macs + other.macs,
        }
    }
    /// Cost of running `self` and `other` in the same rounds (messages merged).
    pub fn beside(self, other: Cost) -> Cost {
        Cost {
            rounds: self.rounds.max(other.rounds),
            bytes: [0, 1, 2].map(|i| self.bytes[i] + other.bytes[i]),
            macs: self.macs + other.macs,
        }
    }
    /// One round in which party p sends `bytes[p]`.
    pub fn round(bytes: [u64; 3]) -> Cost {
        Cost {
            rounds: 1,
            bytes,
            macs: 0,
        }
    }
    /// Bytes summed over the three parties.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
}
