//! The application handshake sent over a fresh TLS link: magic, protocol version, party id
//! and plan digest. A peer that differs in any of them is refused with an error naming it.

use super::{short_hex, NetError};
use mpcc_ir::PartyId;
use std::io::{Read, Write};

/// Version of the party-to-party wire protocol (hello and framing). Bump on any change.
pub const NET_PROTOCOL_VERSION: u32 = 1;

const MAGIC: &[u8; 8] = b"MPCCNET\0";
const HELLO_LEN: usize = 8 + 4 + 1 + 32;

/// What each side announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hello {
    pub version: u32,
    pub id: PartyId,
    pub digest: [u8; 32],
}

impl Hello {
    fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12] = self.id;
        b[13..].copy_from_slice(&self.digest);
        b
    }

    fn decode(b: &[u8; HELLO_LEN], peer: PartyId) -> Result<Hello, NetError> {
        if &b[..8] != MAGIC {
            return Err(NetError::Handshake {
                peer,
                message: "the peer is not an mpcc party (bad hello)".into(),
            });
        }
        Ok(Hello {
            version: u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            id: b[12],
            digest: b[13..].try_into().expect("32 bytes"),
        })
    }
}

/// Sends our hello, reads the peer's (expected to be party `peer`) and checks it.
/// Errors from the stream are returned as they are, for the caller to classify.
pub(crate) fn exchange<S: Read + Write>(
    stream: &mut S,
    ours: Hello,
    peer: PartyId,
) -> Result<Result<(), NetError>, std::io::Error> {
    stream.write_all(&ours.encode())?;
    stream.flush()?;
    let mut b = [0u8; HELLO_LEN];
    stream.read_exact(&mut b)?;
    Ok(Hello::decode(&b, peer).and_then(|theirs| check(&ours, &theirs, peer)))
}

fn check(ours: &Hello, theirs: &Hello, peer: PartyId) -> Result<(), NetError> {
    let fail = |message: String| Err(NetError::Handshake { peer, message });
    if theirs.version != ours.version {
        return fail(format!(
            "it speaks mpcc network protocol version {}, this party speaks version {}; run the same mpcc release on all parties",
            theirs.version, ours.version
        ));
    }
    if theirs.id != peer {
        return fail(format!(
            "it presents party {peer}'s certificate but says it is party {}; check --id and --peers",
            theirs.id
        ));
    }
    if theirs.digest != ours.digest {
        return fail(format!(
            "it runs another plan (digest {}…), this party runs plan {}…; all three parties must load the same plan file",
            short_hex(&theirs.digest, 8),
            short_hex(&ours.digest, 8)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hello survives encoding and a different digest is refused naming the peer.
    #[test]
    fn hello_roundtrip_and_digest_check() {
        let a = Hello {
            version: NET_PROTOCOL_VERSION,
            id: 2,
            digest: [7; 32],
        };
        assert_eq!(Hello::decode(&a.encode(), 2).unwrap(), a);
        let b = Hello {
            digest: [8; 32],
            ..a
        };
        let e = check(&b, &a, 2).unwrap_err().to_string();
        assert!(e.starts_with("party 2: it runs another plan"), "{e}");
        assert!(check(&a, &a, 2).is_ok());
        assert!(check(&a, &a, 1).is_err());
    }
}
