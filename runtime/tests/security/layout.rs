//! Wire layouts of the kernels' messages, as the receiving party reads them: which message
//! comes from whom in which round, and its fields (ring words, or dense bit fields of the
//! boolean protocols with their widths and the block of elements each covers). Each parser
//! consumes a party's messages in order from an [`Inbox`] and adds their fields to a
//! [`View`].

use super::view::{Bits, Inbox, View};
use mpcc_ir::{PartyId, Ring};
use mpcc_runtime::kernels::bits::Roles;

/// The previous and the next party of `id`.
pub fn neighbours(id: PartyId) -> (PartyId, PartyId) {
    ((id + 2) % 3, (id + 1) % 3)
}

/// Exact truncation ([`mpcc_runtime::kernels::arith::trunc_exact`]) of n elements: party 0
/// gets party 2's OT keys (n words) and party 1's two masked candidates per element
/// (interleaved, 2n words) in round 1; party 2 gets party 0's reshare (n words) in round 2.
pub fn trunc_exact(v: &mut View, inbox: &mut Inbox, id: PartyId, n: usize, ring: Ring) {
    match id {
        0 => {
            v.ring_message("trunc keys", &inbox.take(2), n, ring);
            let e = super::view::ring_words(&inbox.take(1), ring);
            assert_eq!(e.len(), 2 * n, "candidates");
            for (c, name) in ["trunc e0", "trunc e1"].iter().enumerate() {
                let f = (0..n).map(|i| Some(e[2 * i + c])).collect();
                v.message(name.to_string(), ring.bits(), f);
            }
        }
        1 => {}
        _ => v.ring_message("trunc v", &inbox.take(0), n, ring),
    }
}

/// Probabilistic truncation ([`mpcc_runtime::kernels::arith::trunc_prob`]): party 0 gets
/// party 1's `y_1` (n words).
pub fn trunc_prob(v: &mut View, inbox: &mut Inbox, id: PartyId, n: usize, ring: Ring) {
    if id == 0 {
        v.ring_message("trunc_prob y1", &inbox.take(1), n, ring);
    }
}

/// Subsets of a 4-bit group with two or more members, in the order role 0 sends their
/// monomials in round 1 of the comparison (`kernels::compare::NONLINEAR`).
const NONLINEAR: [usize; 11] = [3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];

/// How the comparison's last carry level is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Last {
    /// Replicated boolean shares: one AND of one bit per comparison (`msb`).
    Replicated,
    /// The split form: roles 1 and 2 each send role 0 one bit per comparison (`ge`, `relu`).
    Split,
}

/// A bit field over the elements of `elems` (the other elements absent), read from `rd`.
fn bit_field(rd: &mut Bits, n: usize, elems: &[usize], w: u32) -> Vec<Option<u64>> {
    let mut f = vec![None; n];
    for &e in elems {
        f[e] = Some(rd.take(w));
    }
    f
}

/// The comparison core ([`mpcc_runtime::kernels::compare`], [`mpcc_runtime::kernels::carry`])
/// of `t` thresholds over n elements, as party `id` receives it. Round 1, from the previous
/// party, for the elements of the block where `id` plays role 1: per element a k-bit masked
/// `y` and the 11 masked monomial words (g bits, or g-1 for subsets holding bit 0). Round
/// 2: from the next party (block of role 1) and from the previous one (block of role 2),
/// per threshold and element, one (2g-1)-bit group word. Each tree level: from the next
/// party, per threshold and element, one AND of `2·(m/2) - 1` bits. The last level: one AND
/// bit from the next party, or one bit from each neighbour for the block of role 0.
pub fn compare(
    v: &mut View,
    inbox: &mut Inbox,
    id: PartyId,
    n: usize,
    t: usize,
    ring: Ring,
    last: Last,
) {
    let (prev, next) = neighbours(id);
    let roles = Roles::new(n);
    let block = |rel: usize| -> Vec<usize> { roles.range(Roles::block(id, rel)).collect() };
    let (k, g) = (ring.bits(), ring.bits() / 4);
    let r1 = block(1);
    let m1 = inbox.take(prev);
    let mut rd = Bits::new(&m1);
    let mut fields: Vec<(String, u32, Vec<Option<u64>>)> = Vec::new();
    fields.push(("cmp y".into(), k, vec![None; n]));
    for s in NONLINEAR {
        fields.push((format!("cmp mono{s}"), g - (s & 1) as u32, vec![None; n]));
    }
    for &e in &r1 {
        for f in fields.iter_mut() {
            f.2[e] = Some(rd.take(f.1));
        }
    }
    rd.end();
    for (name, w, words) in fields {
        v.message(name, w, words);
    }
    let (from_prev, from_next) = (inbox.take(prev), inbox.take(next));
    let (mut rp, mut rn) = (Bits::new(&from_prev), Bits::new(&from_next));
    for j in 0..t {
        v.message(
            format!("cmp group next[{j}]"),
            2 * g - 1,
            bit_field(&mut rn, n, &r1, 2 * g - 1),
        );
        v.message(
            format!("cmp group prev[{j}]"),
            2 * g - 1,
            bit_field(&mut rp, n, &block(2), 2 * g - 1),
        );
    }
    rp.end();
    rn.end();
    let all: Vec<usize> = (0..n).collect();
    let mut m = g;
    let mut level = 0;
    while m > 2 {
        let w = 2 * (m / 2) - 1;
        let msg = inbox.take(next);
        let mut rd = Bits::new(&msg);
        for j in 0..t {
            v.message(
                format!("cmp tree{level}[{j}]"),
                w,
                bit_field(&mut rd, n, &all, w),
            );
        }
        rd.end();
        m = m.div_ceil(2);
        level += 1;
    }
    match last {
        Last::Replicated => {
            let msg = inbox.take(next);
            let mut rd = Bits::new(&msg);
            for j in 0..t {
                v.message(format!("cmp last[{j}]"), 1, bit_field(&mut rd, n, &all, 1));
            }
            rd.end();
        }
        Last::Split => {
            let (from_prev, from_next) = (inbox.take(prev), inbox.take(next));
            let (mut rp, mut rn) = (Bits::new(&from_prev), Bits::new(&from_next));
            let r0 = block(0);
            for j in 0..t {
                v.message(
                    format!("cmp split prev[{j}]"),
                    1,
                    bit_field(&mut rp, n, &r0, 1),
                );
                v.message(
                    format!("cmp split next[{j}]"),
                    1,
                    bit_field(&mut rn, n, &r0, 1),
                );
            }
            rp.end();
            rn.end();
        }
    }
}

/// Bit injection ([`mpcc_runtime::kernels::inject::inject`]) of `t` split bits per element,
/// a multiplexer when `mux`: round 1, as role 1, from the previous party (role 0) per bit
/// `c_1` (and `u_1` for a multiplexer, interleaved), k bits each, and from the next party
/// (role 2) `T_2 - r`; round 2, as role 2, from the previous party (role 1) `T_1 - s`.
pub fn inject(
    v: &mut View,
    inbox: &mut Inbox,
    id: PartyId,
    n: usize,
    t: usize,
    ring: Ring,
    mux: bool,
) {
    let (prev, next) = neighbours(id);
    let roles = Roles::new(n);
    let block = |rel: usize| -> Vec<usize> { roles.range(Roles::block(id, rel)).collect() };
    let k = ring.bits();
    let (from_prev, from_next) = (inbox.take(prev), inbox.take(next));
    let (mut rp, mut rn) = (Bits::new(&from_prev), Bits::new(&from_next));
    let r1 = block(1);
    for j in 0..t {
        let (mut c1, mut u1) = (vec![None; n], vec![None; n]);
        for &e in &r1 {
            c1[e] = Some(rp.take(k));
            if mux {
                u1[e] = Some(rp.take(k));
            }
        }
        v.message(format!("inject c1[{j}]"), k, c1);
        if mux {
            v.message(format!("inject u1[{j}]"), k, u1);
        }
        v.message(format!("inject t2[{j}]"), k, bit_field(&mut rn, n, &r1, k));
    }
    rp.end();
    rn.end();
    let msg = inbox.take(prev);
    let mut rd = Bits::new(&msg);
    for j in 0..t {
        v.message(
            format!("inject t1[{j}]"),
            k,
            bit_field(&mut rd, n, &block(2), k),
        );
    }
    rd.end();
}

/// The sine material ([`mpcc_runtime::kernels::sine::sin_prep`]) of n elements and K terms:
/// party 1 gets party 0's masked t_a and A ((2K + 1) n words) in round 1; in round 2 parties
/// 1 and 2 get each other's product parts (2K n words each).
pub fn sin_prep(v: &mut View, inbox: &mut Inbox, id: PartyId, n: usize, terms: usize, ring: Ring) {
    match id {
        0 => {}
        1 => {
            v.ring_message("sin_prep masked", &inbox.take(0), n, ring);
            v.ring_message("sin_prep products", &inbox.take(2), n * 2 * terms, ring);
        }
        _ => v.ring_message("sin_prep products", &inbox.take(1), n * 2 * terms, ring),
    }
}

/// The sine series ([`mpcc_runtime::kernels::sine::sin_series`]): every party gets the
/// share it lacks of δ = x c - t from its next party (n words), then the truncation.
pub fn sin_series(v: &mut View, inbox: &mut Inbox, id: PartyId, n: usize, ring: Ring) {
    let (_, next) = neighbours(id);
    v.ring_message("sin_series delta", &inbox.take(next), n, ring);
    trunc_exact(v, inbox, id, n, ring);
}
