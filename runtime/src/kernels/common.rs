//! Local share arithmetic used by every kernel: public constants as shares, elementwise maps
//! and sums, products by public values, and concatenation of sharings (so that one protocol
//! call serves several operands). Nothing here communicates.

use crate::share::AShare;
use mpcc_ir::{PartyId, Ring};

/// Adds a public value to a sharing: only x_0 changes (held by party 0 as `a`, party 2 as `b`).
pub fn add_public(id: PartyId, x: &AShare, c: &[u64], ring: Ring) -> AShare {
    let m = ring.mask();
    let mut y = x.clone();
    match id {
        0 => {
            y.a.iter_mut()
                .zip(c)
                .for_each(|(v, c)| *v = v.wrapping_add(*c) & m)
        }
        2 => {
            y.b.iter_mut()
                .zip(c)
                .for_each(|(v, c)| *v = v.wrapping_add(*c) & m)
        }
        _ => {}
    }
    y
}

/// A public value as a (trivial) sharing: x_0 = c, x_1 = x_2 = 0.
pub fn public_as_share(id: PartyId, c: &[u64]) -> AShare {
    let zero = vec![0; c.len()];
    match id {
        0 => AShare {
            a: c.to_vec(),
            b: zero,
        },
        2 => AShare {
            a: zero,
            b: c.to_vec(),
        },
        _ => AShare {
            a: zero.clone(),
            b: zero,
        },
    }
}

/// Elementwise map of both components.
pub fn local(x: &AShare, f: impl Fn(u64) -> u64) -> AShare {
    AShare {
        a: x.a.iter().map(|v| f(*v)).collect(),
        b: x.b.iter().map(|v| f(*v)).collect(),
    }
}

/// Elementwise combination of two sharings, component by component.
pub fn local2(x: &AShare, y: &AShare, f: impl Fn(u64, u64) -> u64) -> AShare {
    AShare {
        a: x.a.iter().zip(&y.a).map(|(p, q)| f(*p, *q)).collect(),
        b: x.b.iter().zip(&y.b).map(|(p, q)| f(*p, *q)).collect(),
    }
}

/// Multiplies a sharing by public values elementwise (local).
pub fn mul_public(x: &AShare, c: &[u64], ring: Ring) -> AShare {
    let m = ring.mask();
    AShare {
        a: x.a
            .iter()
            .zip(c)
            .map(|(v, c)| v.wrapping_mul(*c) & m)
            .collect(),
        b: x.b
            .iter()
            .zip(c)
            .map(|(v, c)| v.wrapping_mul(*c) & m)
            .collect(),
    }
}

/// Concatenates sharings into one vector (so that one protocol call serves them all).
pub fn concat(parts: &[&AShare]) -> AShare {
    AShare {
        a: parts.iter().flat_map(|p| p.a.iter().copied()).collect(),
        b: parts.iter().flat_map(|p| p.b.iter().copied()).collect(),
    }
}

/// Splits a concatenation back into consecutive parts of `n` elements.
pub fn split(x: &AShare, n: usize) -> Vec<AShare> {
    if n == 0 {
        return Vec::new();
    }
    x.a.chunks(n)
        .zip(x.b.chunks(n))
        .map(|(a, b)| AShare {
            a: a.to_vec(),
            b: b.to_vec(),
        })
        .collect()
}

/// Elementwise sum of two sharings in the ring.
pub fn add(x: &AShare, y: &AShare, ring: Ring) -> AShare {
    let m = ring.mask();
    local2(x, y, |p, q| p.wrapping_add(q) & m)
}

/// `c - x` for a public scalar `c` (already encoded).
pub fn const_minus(id: PartyId, c: u64, x: &AShare, ring: Ring) -> AShare {
    let m = ring.mask();
    let neg = local(x, |v| v.wrapping_neg() & m);
    add_public(id, &neg, &vec![c; x.len()], ring)
}

/// `c + x` for a public scalar `c` (already encoded).
pub fn const_plus(id: PartyId, c: u64, x: &AShare, ring: Ring) -> AShare {
    add_public(id, x, &vec![c; x.len()], ring)
}

/// Multiplies a sharing by a public scalar (local).
pub fn scale_by(x: &AShare, c: u64, ring: Ring) -> AShare {
    let m = ring.mask();
    local(x, |v| v.wrapping_mul(c) & m)
}
