//! Arithmetic protocols on replicated shares: input sharing, reveal, secret products and
//! matmuls, truncation. Each protocol's cost function sits beside it.

use super::common::{concat, const_plus, split};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::KernelError;
use crate::ring::{pack, unpack};
use crate::share::{AShare, ShareRef};
use crate::transport::TransportError;
use mpcc_ir::{PartyId, Ring};

fn bad_len(peer: PartyId) -> TransportError {
    TransportError::Io {
        peer,
        message: "message of unexpected length".into(),
    }
}

/// `n` ring elements of `ring` from the message `bytes` of party `peer`; a message of
/// another length is an error naming the peer.
pub(crate) fn recv_elems(
    bytes: Option<Vec<u8>>,
    n: usize,
    ring: Ring,
    peer: PartyId,
) -> Result<Vec<u64>, TransportError> {
    let v = unpack(&bytes.unwrap_or_default(), ring).ok_or_else(|| bad_len(peer))?;
    if v.len() != n {
        return Err(bad_len(peer));
    }
    Ok(v)
}

/// Input sharing by `owner` (who passes `Some(data)`): `x_o = r` from the PRG the owner
/// shares with its previous party, `x_{o+1} = v - r` sent to the next party, `x_{o+2} = 0`.
/// One round; the owner sends n elements.
pub fn share_input(
    ctx: &mut Ctx,
    owner: PartyId,
    data: Option<&[u64]>,
    n: usize,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let m = ring.mask();
    let id = ctx.id;
    if id == owner {
        let data = data.expect("owner supplies data");
        let r = ctx.prss.own(n, m);
        let d: Vec<u64> = data
            .iter()
            .zip(&r)
            .map(|(v, r)| v.wrapping_sub(*r) & m)
            .collect();
        #[cfg(not(feature = "broken-input-halves"))]
        ctx.exchange(Some(&pack(&d, ring)), None, false, false)?;
        // INSECURE, test-only (see Cargo.toml): the next party also gets r, so it holds both
        // halves of v.
        #[cfg(feature = "broken-input-halves")]
        ctx.exchange(
            Some(&pack(&[d.clone(), r.clone()].concat(), ring)),
            None,
            false,
            false,
        )?;
        Ok(AShare { a: r, b: d })
    } else if id == (owner + 1) % 3 {
        let (p, _) = ctx.exchange(None, None, true, false)?;
        #[cfg(feature = "broken-input-halves")]
        let p = p.map(|mut m| {
            m.truncate(n * ring.bytes() as usize);
            m
        });
        let d = recv_elems(p, n, ring, owner)?;
        Ok(AShare {
            a: d,
            b: vec![0; n],
        })
    } else {
        ctx.exchange(None, None, false, false)?;
        let r = ctx.prss.next(n, m);
        Ok(AShare {
            a: vec![0; n],
            b: r,
        })
    }
}

/// Cost of [`share_input`].
pub fn share_input_cost(owner: PartyId, n: usize, ring: Ring) -> Cost {
    let mut bytes = [0; 3];
    bytes[owner as usize] = n as u64 * ring.bytes();
    Cost::round(bytes)
}

/// Reveals `x` to the parties in `to`: party j lacks `x_{j+2}`, which party j+1 holds as
/// its `b` and sends. One round. Returns the value at the parties in `to`.
pub fn reveal(
    ctx: &mut Ctx,
    x: &AShare,
    to: &[PartyId],
    ring: Ring,
) -> Result<Option<Vec<u64>>, TransportError> {
    let m = ring.mask();
    let me_learns = to.contains(&ctx.id);
    let prev_learns = to.contains(&ctx.prev());
    let msg = if prev_learns {
        Some(pack(&x.b, ring))
    } else {
        None
    };
    let (_, from_next) = ctx.exchange(None, msg.as_deref(), false, me_learns)?;
    if !me_learns {
        return Ok(None);
    }
    let c = recv_elems(from_next, x.len(), ring, ctx.next())?;
    Ok(Some(
        x.a.iter()
            .zip(&x.b)
            .zip(&c)
            .map(|((a, b), c)| a.wrapping_add(*b).wrapping_add(*c) & m)
            .collect(),
    ))
}

/// Cost of [`reveal`].
pub fn reveal_cost(to: &[PartyId], n: usize, ring: Ring) -> Cost {
    let mut bytes = [0; 3];
    for &j in to {
        bytes[(j as usize + 1) % 3] += n as u64 * ring.bytes();
    }
    Cost::round(bytes)
}

/// Turns a 3-out-of-3 sharing `z` (party i holds z_i) into replicated shares: adds a zero
/// sharing and sends z_i to the previous party. One round, n elements per party.
pub fn reshare(ctx: &mut Ctx, mut z: Vec<u64>, ring: Ring) -> Result<AShare, TransportError> {
    let m = ring.mask();
    let alpha = ctx.prss.zero(z.len(), m);
    for (v, a) in z.iter_mut().zip(&alpha) {
        *v = v.wrapping_add(*a) & m;
    }
    let (_, n) = ctx.exchange(None, Some(&pack(&z, ring)), false, true)?;
    let b = recv_elems(n, z.len(), ring, ctx.next())?;
    Ok(AShare { a: z, b })
}

/// Cost of [`reshare`] of n elements.
pub fn reshare_cost(n: usize, ring: Ring) -> Cost {
    Cost::round([n as u64 * ring.bytes(); 3])
}

/// Elementwise secret × secret product (no truncation): local cross terms, then [`reshare`].
pub fn mul(ctx: &mut Ctx, x: &AShare, y: &AShare, ring: Ring) -> Result<AShare, TransportError> {
    let m = ring.mask();
    let z: Vec<u64> = (0..x.len())
        .map(|i| {
            let (xa, xb, ya, yb) = (x.a[i], x.b[i], y.a[i], y.b[i]);
            xa.wrapping_mul(ya)
                .wrapping_add(xa.wrapping_mul(yb))
                .wrapping_add(xb.wrapping_mul(ya))
                & m
        })
        .collect();
    reshare(ctx, z, ring)
}

/// Cost of [`mul`] of n elements.
pub fn mul_cost(n: usize, ring: Ring) -> Cost {
    Cost {
        macs: 3 * n as u64,
        ..reshare_cost(n, ring)
    }
}

/// Local product of `m×k` by `k×n` row-major matrices in Z_2^64 (wrapping), accumulated
/// into `out`.
///
/// Split by blocks of output rows over the worker threads ([`crate::threads`]) when the
/// product is large enough to pay for it (2^20 multiply-adds); each block is
/// [`matmul_acc_serial`]. The result does not depend on the split (wrapping sums of the same
/// terms per element, in the same order).
pub fn matmul_acc(a: &[u64], b: &[u64], m: usize, k: usize, n: usize, out: &mut [u64]) {
    use rayon::prelude::*;
    let threads = crate::threads::count();
    if threads <= 1 || m < 8 || (m * k).saturating_mul(n) < 1 << 20 || n == 0 {
        return matmul_acc_serial(a, b, m, k, n, out);
    }
    // Blocks of a multiple of 4 rows (the serial loop's register tile), about 4 per thread.
    let rows = m.div_ceil(4 * threads).next_multiple_of(4);
    out[..m * n]
        .par_chunks_mut(rows * n)
        .zip(a[..m * k].par_chunks(rows * k))
        .for_each(|(o, a)| matmul_acc_serial(a, b, o.len() / n, k, n, o));
}

/// [`matmul_acc`] on the calling thread.
///
/// Blocked for the caches (tiles of 128 rows of B by 256 columns, reused by every row of A)
/// and for registers (four rows of A per pass over a row of B). The same loop is compiled
/// for AVX-512 (native 64-bit lane multiply) and AVX2 and picked at run time; on the BERT
/// FFN shape 128×384 by 384×1536 that is 3 to 5 times faster than the portable loop.
pub fn matmul_acc_serial(a: &[u64], b: &[u64], m: usize, k: usize, n: usize, out: &mut [u64]) {
    #[inline(always)]
    fn kernel(a: &[u64], b: &[u64], m: usize, k: usize, n: usize, out: &mut [u64]) {
        const KB: usize = 128;
        const NB: usize = 256;
        for j0 in (0..n).step_by(NB) {
            let j1 = (j0 + NB).min(n);
            for k0 in (0..k).step_by(KB) {
                let k1 = (k0 + KB).min(k);
                let mut i = 0;
                while i + 4 <= m {
                    let (r0, rest) = out[i * n..(i + 4) * n].split_at_mut(n);
                    let (r1, rest) = rest.split_at_mut(n);
                    let (r2, r3) = rest.split_at_mut(n);
                    let rows = [r0, r1, r2, r3].map(|r| &mut r[j0..j1]);
                    let [r0, r1, r2, r3] = rows;
                    for kk in k0..k1 {
                        let av: [u64; 4] = std::array::from_fn(|r| a[(i + r) * k + kk]);
                        let br = &b[kk * n + j0..kk * n + j1];
                        for (j, bv) in br.iter().enumerate() {
                            r0[j] = r0[j].wrapping_add(av[0].wrapping_mul(*bv));
                            r1[j] = r1[j].wrapping_add(av[1].wrapping_mul(*bv));
                            r2[j] = r2[j].wrapping_add(av[2].wrapping_mul(*bv));
                            r3[j] = r3[j].wrapping_add(av[3].wrapping_mul(*bv));
                        }
                    }
                    i += 4;
                }
                for i in i..m {
                    let row = &mut out[i * n + j0..i * n + j1];
                    for kk in k0..k1 {
                        let av = a[i * k + kk];
                        let br = &b[kk * n + j0..kk * n + j1];
                        for (o, bv) in row.iter_mut().zip(br) {
                            *o = o.wrapping_add(av.wrapping_mul(*bv));
                        }
                    }
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq")]
        fn avx512(a: &[u64], b: &[u64], m: usize, k: usize, n: usize, out: &mut [u64]) {
            kernel(a, b, m, k, n, out)
        }
        #[target_feature(enable = "avx2")]
        fn avx2(a: &[u64], b: &[u64], m: usize, k: usize, n: usize, out: &mut [u64]) {
            kernel(a, b, m, k, n, out)
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
            // SAFETY: the CPU has the features `avx512` is compiled for.
            return unsafe { avx512(a, b, m, k, n, out) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has the feature `avx2` is compiled for.
            return unsafe { avx2(a, b, m, k, n, out) };
        }
    }
    kernel(a, b, m, k, n, out)
}

/// Secret × secret matrix product of one `m×k` by `k×n` pair, 3-out-of-3 result
/// `A_i(B_i + B_{i+1}) + A_{i+1}B_i` (before resharing).
pub fn matmul_local_cross(a: ShareRef, b: ShareRef, m: usize, k: usize, n: usize) -> Vec<u64> {
    let bsum: Vec<u64> =
        b.a.iter()
            .zip(b.b)
            .map(|(x, y)| x.wrapping_add(*y))
            .collect();
    let mut out = vec![0u64; m * n];
    matmul_acc(a.a, &bsum, m, k, n, &mut out);
    matmul_acc(a.b, b.a, m, k, n, &mut out);
    out
}

/// Secret × secret matmul when one operand has a share component `x_z` that is statically
/// zero (input-shared values, see `ops::zero_components`); one local product per party.
///
/// With B's component z zero: party z+1 computes `(A_{z+1}+A_{z+2})(B_{z+1}+B_{z+2})`, party
/// z computes `A_z B_{z+1}`, party z+2 computes `A_z B_{z+2}`; the nine cross terms of A·B
/// minus the zero ones add up. `zero_in_a` mirrors the roles when A has the zero component.
#[allow(clippy::too_many_arguments)]
pub fn matmul_local_zero(
    id: PartyId,
    a: ShareRef,
    b: ShareRef,
    z: u8,
    zero_in_a: bool,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<u64> {
    let mut out = vec![0u64; m * n];
    let sum = |x: &[u64], y: &[u64]| -> Vec<u64> {
        x.iter().zip(y).map(|(p, q)| p.wrapping_add(*q)).collect()
    };
    let role = (id + 3 - z) % 3;
    match (role, zero_in_a) {
        (1, _) => matmul_acc(&sum(a.a, a.b), &sum(b.a, b.b), m, k, n, &mut out),
        (0, false) | (2, true) => matmul_acc(a.a, b.b, m, k, n, &mut out),
        _ => matmul_acc(a.b, b.a, m, k, n, &mut out),
    }
    out
}

/// Cost of a secret × secret matmul with `out` output elements and `macs` multiply-adds of
/// one plaintext product: one reshare of the output (independent of k).
pub fn matmul_ss_cost(out: usize, macs: u64, ring: Ring) -> Cost {
    Cost {
        macs: 2 * macs,
        ..reshare_cost(out, ring)
    }
}

/// Probabilistic truncation by `d` bits (ABY3-style share truncation, one round, only party 1
/// sends). Not used by default: see [`trunc`].
///
/// With a fresh public mask ρ, parties 0 and 2 hold `A = x_0 + ρ`, party 1 holds
/// `B = x_1 + x_2 - ρ`. They shift locally, SecureML-style: `A' = A >> d` (logical),
/// `B' = -((-B) >> d)`, which gives `x/2^d` up to one unit in the last place. New shares:
/// `y_0 = A'`, `y_2 = u` from the PRG parties 1 and 2 share, `y_1 = B' - u`, sent by party 1
/// to party 0.
///
/// **Error bound:** the result is `floor(x/2^d)` or `floor(x/2^d) + 1`.
/// **Failure probability:** when `|x| < 2^l` the bound fails with probability at most
/// `2^(l+1-k)` (A uniform lands within |x| of the wrap point); the result is then off by
/// about `2^(k-d)`. With k = 64, f = 18 and products below 64 in magnitude (l = 42) that
/// is under 2^-21 per element.
/// **Shift:** `1 <= d <= k-2`, else [`KernelError::TruncShift`] (checked before any traffic).
pub fn trunc_prob(ctx: &mut Ctx, x: &AShare, d: u32, ring: Ring) -> Result<AShare, KernelError> {
    check_shift(d, ring)?;
    Ok(trunc_prob_in_range(ctx, x, d, ring)?)
}

fn trunc_prob_in_range(
    ctx: &mut Ctx,
    x: &AShare,
    d: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    debug_assert!(shift_in_range(d, ring), "trunc_prob by {d} in {ring}");
    let m = ring.mask();
    let n = x.len();
    let rho = ctx.prss.all(n, m);
    let sh = |v: u64| (v & m) >> d;
    match ctx.id {
        0 => {
            // holds (x0, x1)
            let a: Vec<u64> =
                x.a.iter()
                    .zip(&rho)
                    .map(|(x0, r)| sh(x0.wrapping_add(*r)))
                    .collect();
            let (_, nx) = ctx.exchange(None, None, false, true)?;
            let y1 = recv_elems(nx, n, ring, 1)?;
            Ok(AShare { a, b: y1 })
        }
        1 => {
            // holds (x1, x2)
            let u = ctx.prss.next(n, m);
            let y1: Vec<u64> = (0..n)
                .map(|i| {
                    let bv = x.a[i].wrapping_add(x.b[i]).wrapping_sub(rho[i]) & m;
                    let bp = sh(bv.wrapping_neg()).wrapping_neg();
                    bp.wrapping_sub(u[i]) & m
                })
                .collect();
            ctx.exchange(None, Some(&pack(&y1, ring)), false, false)?;
            Ok(AShare { a: y1, b: u })
        }
        _ => {
            // holds (x2, x0)
            let u = ctx.prss.own(n, m);
            let a: Vec<u64> =
                x.b.iter()
                    .zip(&rho)
                    .map(|(x0, r)| sh(x0.wrapping_add(*r)))
                    .collect();
            ctx.exchange(None, None, false, false)?;
            Ok(AShare { a: u, b: a })
        }
    }
}

/// Cost of [`trunc_prob`] of n elements.
pub fn trunc_prob_cost(n: usize, ring: Ring) -> Cost {
    Cost::round([0, n as u64 * ring.bytes(), 0])
}

/// True when the truncation kernels support a shift of `d` bits in `ring`: `1 <= d <= k-2`
/// (the exact truncation's positive range `[0, 2^(k-1))` leaves `k-1` bits above zero; a
/// shift of 0 would need a multiplier `2^k`, which does not exist in the ring).
pub fn shift_in_range(d: u32, ring: Ring) -> bool {
    (1..=ring.bits() - 2).contains(&d)
}

/// [`shift_in_range`] as an error: [`KernelError::TruncShift`] naming the shift and the ring.
pub fn check_shift(d: u32, ring: Ring) -> Result<(), KernelError> {
    if shift_in_range(d, ring) {
        Ok(())
    } else {
        Err(KernelError::TruncShift {
            bits: d,
            ring_bits: ring.bits(),
        })
    }
}

/// Truncation by `d` bits, the VM's default: [`trunc_exact`]. Same shift guard.
pub fn trunc(ctx: &mut Ctx, x: &AShare, d: u32, ring: Ring) -> Result<AShare, KernelError> {
    trunc_exact(ctx, x, d, ring)
}

/// Cost of [`trunc`] of n elements.
pub fn trunc_cost(n: usize, ring: Ring) -> Cost {
    trunc_exact_cost(n, ring)
}

/// Exact truncation by `d` bits for `|x| < 2^(k-2)`: two rounds, no wrap failure.
///
/// Positive-range trick: with a fresh public ρ, parties 0 and 2 hold
/// `A = x_0 + ρ + 2^(k-2)`, party 1 holds `B = x_1 + x_2 - ρ`, so `A + B = x' + w·2^k` with
/// `x' = x + 2^(k-2)` in `[0, 2^(k-1))`. Then the wrap bit is exactly `w = msb(A) ∨ msb(B)`,
/// and `floor(A/2^d) + floor(B/2^d) - w·2^(k-d)` is `floor(x'/2^d)` or one less.
/// The cross term of `msb(A)` (known to parties 0, 2) and `msb(B)` (party 1) goes through a
/// three-party oblivious transfer: party 1 sends both candidates of its term masked with keys
/// it shares with party 2, party 2 sends the key of the candidate `msb(A)` selects (round 1);
/// party 0 then reshares what it learned to party 2 (round 2).
///
/// **Error bound:** the result is `floor(x/2^d)` or `floor(x/2^d) - 1`, always (no failure
/// probability) while `|x| < 2^(k-2)`.
/// **Cost:** 2 rounds; party 0 sends n elements, party 1 2n, party 2 n.
/// **Shift:** `1 <= d <= k-2`, else [`KernelError::TruncShift`] (checked before any traffic).
pub fn trunc_exact(ctx: &mut Ctx, x: &AShare, d: u32, ring: Ring) -> Result<AShare, KernelError> {
    check_shift(d, ring)?;
    Ok(trunc_exact_in_range(ctx, x, d, ring)?)
}

/// [`trunc_exact`] for a shift the caller derived within [`shift_in_range`] (asserted in
/// debug builds).
fn trunc_exact_in_range(
    ctx: &mut Ctx,
    x: &AShare,
    d: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    debug_assert!(shift_in_range(d, ring), "trunc_exact by {d} in {ring}");
    let m = ring.mask();
    let k = ring.bits();
    let n = x.len();
    let big_k = (1u64 << (k - d)) & m;
    let half = 1u64 << (k - 2);
    let msb = |v: u64| (v >> (k - 1)) & 1;
    let rho = ctx.prss.all(n, m);
    // Parties 0 and 2: their part U0 of the result, and a = msb(A).
    let part_a = |x0: &[u64]| -> (Vec<u64>, Vec<u64>) {
        x0.iter()
            .zip(&rho)
            .map(|(x0, r)| {
                let a = x0.wrapping_add(*r).wrapping_add(half) & m;
                let u0 = (a >> d)
                    .wrapping_sub(msb(a).wrapping_mul(big_k))
                    .wrapping_sub(half >> d)
                    & m;
                (u0, msb(a))
            })
            .unzip()
    };
    match ctx.id {
        0 => {
            let (u0, a) = part_a(&x.a);
            let got = ctx.exchange(None, None, true, true)?;
            let keys = recv_elems(got.0, n, ring, 2)?;
            let e = recv_elems(got.1, 2 * n, ring, 1)?;
            let r = ctx.prss.next(n, m);
            let ma: Vec<u64> = (0..n)
                .map(|i| e[2 * i + a[i] as usize].wrapping_sub(keys[i]) & m)
                .collect();
            let v: Vec<u64> = ma
                .iter()
                .zip(&r)
                .map(|(p, q)| p.wrapping_sub(*q) & m)
                .collect();
            ctx.exchange(None, Some(&pack(&v, ring)), false, false)?;
            Ok(AShare {
                a: u0
                    .iter()
                    .zip(&v)
                    .map(|(p, q)| p.wrapping_add(*q) & m)
                    .collect(),
                b: r,
            })
        }
        1 => {
            let (k0, k1, u) = (
                ctx.prss.next(n, m),
                ctx.prss.next(n, m),
                ctx.prss.next(n, m),
            );
            // INSECURE, test-only (see Cargo.toml): one key for both candidates.
            #[cfg(feature = "broken-ot-key")]
            let k1 = {
                drop(k1);
                k0.clone()
            };
            let mut e = Vec::with_capacity(2 * n);
            for i in 0..n {
                let bv = x.a[i].wrapping_add(x.b[i]).wrapping_sub(rho[i]) & m;
                let base = (bv >> d).wrapping_sub(u[i]);
                let m0 = base.wrapping_sub(msb(bv).wrapping_mul(big_k));
                e.push(m0.wrapping_add(k0[i]) & m);
                e.push(base.wrapping_add(k1[i]) & m);
            }
            ctx.exchange(None, Some(&pack(&e, ring)), false, false)?;
            let r = ctx.prss.own(n, m);
            ctx.exchange(None, None, false, false)?;
            Ok(AShare { a: r, b: u })
        }
        _ => {
            let (u0, a) = part_a(&x.b);
            let (k0, k1, u) = (ctx.prss.own(n, m), ctx.prss.own(n, m), ctx.prss.own(n, m));
            #[cfg(feature = "broken-ot-key")]
            let k1 = {
                drop(k1);
                k0.clone()
            };
            let keys: Vec<u64> = (0..n)
                .map(|i| if a[i] == 1 { k1[i] } else { k0[i] })
                .collect();
            ctx.exchange(Some(&pack(&keys, ring)), None, false, false)?;
            let (_, v) = ctx.exchange(None, None, false, true)?;
            let v = recv_elems(v, n, ring, 0)?;
            Ok(AShare {
                a: u,
                b: u0
                    .iter()
                    .zip(&v)
                    .map(|(p, q)| p.wrapping_add(*q) & m)
                    .collect(),
            })
        }
    }
}

/// Cost of [`trunc_exact`] of n elements.
pub fn trunc_exact_cost(n: usize, ring: Ring) -> Cost {
    let w = n as u64 * ring.bytes();
    Cost::round([0, 2 * w, w]).then(Cost::round([w, 0, 0]))
}

/// Truncation by d bits rounded to nearest on average: [`trunc`] (floor(x/2^d) or one
/// less, mean `x/2^d - 1`) plus one unit, so the result is `floor(x/2^d)` or one more: error
/// below one unit either way and no bias (and exact, with overwhelming probability, when
/// `2^d` divides x). Same cost and shift guard as [`trunc`].
pub fn trunc1(ctx: &mut Ctx, x: &AShare, d: u32, ring: Ring) -> Result<AShare, KernelError> {
    check_shift(d, ring)?;
    Ok(trunc1_in_range(ctx, x, d, ring)?)
}

/// [`trunc1`] inside kernels whose shift derives from their own parameters (the power
/// tree, exp_taylor, reciprocal and rsqrt, which return [`TransportError`] to the op table):
/// the shift is asserted in debug builds only. See [`check_shift`].
pub fn trunc1_in_range(
    ctx: &mut Ctx,
    x: &AShare,
    d: u32,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let t = trunc_exact_in_range(ctx, x, d, ring)?;
    Ok(const_plus(ctx.id, 1, &t, ring))
}

/// Fixed-point products of pairs in one step: `trunc1(l_j * r_j, d)` for every pair, with
/// one [`mul`] and one [`trunc1`] over the concatenation.
pub fn mul_trunc_many(
    ctx: &mut Ctx,
    pairs: &[(&AShare, &AShare)],
    d: u32,
    ring: Ring,
) -> Result<Vec<AShare>, TransportError> {
    let n = pairs.first().map_or(0, |p| p.0.len());
    let l: Vec<&AShare> = pairs.iter().map(|p| p.0).collect();
    let r: Vec<&AShare> = pairs.iter().map(|p| p.1).collect();
    let z = mul(ctx, &concat(&l), &concat(&r), ring)?;
    Ok(split(&trunc1_in_range(ctx, &z, d, ring)?, n))
}

/// Cost of [`mul_trunc_many`] with `pairs` pairs of `n` elements.
pub fn mul_trunc_many_cost(n: usize, pairs: usize, ring: Ring) -> Cost {
    mul_cost(n * pairs, ring).then(trunc_cost(n * pairs, ring))
}
