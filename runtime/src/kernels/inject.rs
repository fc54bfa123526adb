//! Bit injection: a bit in the split form of [`super::carry::Split`] (role 0 holds `c`,
//! roles 1 and 2 hold `v`, bit `b = c ^ v`) to replicated arithmetic shares of `b` (0/1),
//! or of `x * b` for a secret `x` (a multiplexer), in two rounds.
//!
//! With `w = 1 - 2v`, `b = c + v - 2cv = v + c·w`. Role 0 shares `c = c_0 + c_1` (c_0 from
//! the PRG it shares with role 2, c_1 sent to role 1); then `b = T_1 + T_2` with
//! `T_1 = c_1·w` at role 1 and `T_2 = v + c_0·w` at role 2. The result's shares are
//! `f_0 = r`, `f_1 = s` (PRG values role 0 shares with roles 2 and 1) and
//! `f_2 = T_1 + T_2 - r - s`: role 2 sends `T_2 - r` to role 1 in the first round, role 1
//! sends `T_1 - s` to role 2 in the second.
//!
//! For `x * b = x·v + c·x·w`, the terms `x_j c_l w` that no party can form are
//! `u = c_0 x_1 + c_1 x_0`, known to role 0, which it shares like `c`. Then
//! `T_1 = (x_1 + x_2)(v + c_1 w) + u_1 w` and `T_2 = x_0 v + (c_0 (x_0 + x_2) + u_0) w`.
//!
//! Bytes per bit (k-bit ring): role 0 sends k (2k for a multiplexer), role 1 k, role 2 k.

use super::bits::{bytes_of, draw, reader, BitReader, BitWriter, Counts, Roles, Stream};
use super::carry::Split;
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::share::AShare;
use crate::transport::TransportError;
use mpcc_ir::Ring;

/// Role 1's and role 2's half of the injected value for one bit.
fn half(rel: usize, v: u64, c: u64, u: u64, x: Option<(u64, u64)>, m: u64) -> u64 {
    let w = 1u64.wrapping_sub(v.wrapping_mul(2));
    let val = match (rel, x) {
        (1, None) => c.wrapping_mul(w),
        (_, None) => v.wrapping_add(c.wrapping_mul(w)),
        // role 1: x = (x_1, x_2).
        (1, Some((x1, x2))) => {
            let s = x1.wrapping_add(x2);
            s.wrapping_mul(v.wrapping_add(c.wrapping_mul(w)))
                .wrapping_add(u.wrapping_mul(w))
        }
        // role 2: x = (x_2, x_0).
        (_, Some((x2, x0))) => x0.wrapping_mul(v).wrapping_add(
            c.wrapping_mul(x0.wrapping_add(x2))
                .wrapping_add(u)
                .wrapping_mul(w),
        ),
    };
    val & m
}

/// Injects the split bits `s` into arithmetic shares, multiplied by `x` when given
/// (`x` has one element per bit). `roles` and `t` describe the blocks as in
/// [`super::compare`]: bit `j*n + e` belongs to the block of element `e`. Two rounds.
pub fn inject(
    ctx: &mut Ctx,
    s: &Split,
    x: Option<&AShare>,
    roles: &Roles,
    t: usize,
    ring: Ring,
) -> Result<AShare, TransportError> {
    let p = inject_a(ctx, s, x, roles, t, ring)?;
    let mut w = BitWriter::new();
    p.send_b(&mut w, ring);
    let (from_prev, _) = ctx.exchange(Some(&w.finish()), None, true, false)?;
    let mut rd = reader(
        &from_prev,
        Pending::recv_b_bits(ctx, roles.counts(), t, ring),
        ctx.prev(),
    )?;
    Ok(p.finish(ctx, &mut rd, roles, ring))
}

/// An injection after its first round: the shares of roles 0 and 1 are final; role 2 still
/// needs `T_1 - s` from role 1.
pub struct Pending {
    out: AShare,
    to_next: Vec<u64>,
    t: usize,
    n: usize,
}

/// The first round of [`inject`]: role 0 shares `c` (and `u`), role 2 sends `T_2 - r`.
pub fn inject_a(
    ctx: &mut Ctx,
    s: &Split,
    x: Option<&AShare>,
    roles: &Roles,
    t: usize,
    ring: Ring,
) -> Result<Pending, TransportError> {
    let (m, k) = (ring.mask(), ring.bits());
    let tn = s.c.len();
    let n = tn.checked_div(t).unwrap_or(0);
    let mut out = AShare {
        a: vec![0; tn],
        b: vec![0; tn],
    };
    let (mut to_next, mut to_prev) = (BitWriter::new(), BitWriter::new());
    for r in 0..3 {
        let rel = Roles::rel(ctx.id, r);
        let cnt = roles.count(r) * t;
        let idx = (0..t).flat_map(|j| roles.range(r).map(move |e| j * n + e));
        match rel {
            0 => {
                let c0 = draw(ctx, Stream::Own, cnt, k);
                let u0 = if x.is_some() {
                    draw(ctx, Stream::Own, cnt, k)
                } else {
                    Vec::new()
                };
                let rr = draw(ctx, Stream::Own, cnt, k);
                let ss = draw(ctx, Stream::Next, cnt, k);
                for (q, c) in idx.enumerate() {
                    let c1 = s.c[c].wrapping_sub(c0[q]) & m;
                    to_next.push(c1, k);
                    if let Some(x) = x {
                        let u = c0[q]
                            .wrapping_mul(x.b[c])
                            .wrapping_add(c1.wrapping_mul(x.a[c]));
                        to_next.push(u.wrapping_sub(u0[q]) & m, k);
                    }
                    out.a[c] = rr[q];
                    out.b[c] = ss[q];
                }
            }
            1 => {
                let ss = draw(ctx, Stream::Own, cnt, k);
                for (q, c) in idx.enumerate() {
                    out.a[c] = ss[q];
                }
            }
            _ => {
                let c0 = draw(ctx, Stream::Next, cnt, k);
                let u0 = if x.is_some() {
                    draw(ctx, Stream::Next, cnt, k)
                } else {
                    Vec::new()
                };
                let rr = draw(ctx, Stream::Next, cnt, k);
                for (q, c) in idx.enumerate() {
                    let xv = x.map(|x| (x.a[c], x.b[c]));
                    let u = if x.is_some() { u0[q] } else { 0 };
                    let t2 = half(2, s.v[c], c0[q], u, xv, m);
                    to_prev.push(t2.wrapping_sub(rr[q]) & m, k);
                    out.a[c] = t2.wrapping_sub(rr[q]) & m;
                    out.b[c] = rr[q];
                }
            }
        }
    }
    let (from_prev, from_next) =
        ctx.exchange(Some(&to_next.finish()), Some(&to_prev.finish()), true, true)?;
    let r1 = Roles::block(ctx.id, 1);
    let cnt1 = (roles.count(r1) * t) as u64;
    let per = if x.is_some() { 2 } else { 1 };
    let mut rp = reader(&from_prev, cnt1 * per * k as u64, ctx.prev())?;
    let mut rn = reader(&from_next, cnt1 * k as u64, ctx.next())?;
    let mut pend = Vec::with_capacity(cnt1 as usize);
    for j in 0..t {
        for e in roles.range(r1) {
            let c = j * n + e;
            let c1 = rp.pull(k);
            let u1 = if x.is_some() { rp.pull(k) } else { 0 };
            let t1 = half(1, s.v[c], c1, u1, x.map(|x| (x.a[c], x.b[c])), m);
            let mine = t1.wrapping_sub(out.a[c]) & m;
            pend.push(mine);
            out.b[c] = mine.wrapping_add(rn.pull(k)) & m;
        }
    }
    Ok(Pending {
        out,
        to_next: pend,
        t,
        n,
    })
}

impl Pending {
    /// The shares so far: final at the parties in role 0 or 1 of an element's block.
    pub fn partial(&self) -> &AShare {
        &self.out
    }
    /// Appends role 1's second-round message (`T_1 - s`, k bits each) to `w`.
    pub fn send_b(&self, w: &mut BitWriter, ring: Ring) {
        w.push_all(&self.to_next, ring.bits());
    }
    /// Bits of the second-round message this party receives (as role 2).
    pub fn recv_b_bits(ctx: &Ctx, counts: Counts, t: usize, ring: Ring) -> u64 {
        (counts.of_role(ctx.id, 2) * t) as u64 * ring.bits() as u64
    }
    /// Bits of the second-round message party `id` sends (as role 1).
    pub fn send_b_bits(id: u8, counts: Counts, t: usize, ring: Ring) -> u64 {
        (counts.of_role(id, 1) * t) as u64 * ring.bits() as u64
    }
    /// Completes role 2's shares from the previous party's message.
    pub fn finish(mut self, ctx: &Ctx, rd: &mut BitReader, roles: &Roles, ring: Ring) -> AShare {
        let (m, k) = (ring.mask(), ring.bits());
        for j in 0..self.t {
            for e in roles.range(Roles::block(ctx.id, 2)) {
                let c = j * self.n + e;
                self.out.a[c] = self.out.a[c].wrapping_add(rd.pull(k)) & m;
            }
        }
        self.out
    }
}

/// Cost of [`inject`] of `t` bits per element over `n` elements (`mux`: with a multiplicand).
pub fn inject_cost(n: usize, t: usize, ring: Ring, mux: bool) -> Cost {
    if n * t == 0 {
        return Cost::ZERO;
    }
    let counts = Counts::contiguous(n);
    let bytes = std::array::from_fn(|p| {
        let id = p as u8;
        inject_a_bytes(id, counts, t, ring, mux)
            + bytes_of(Pending::send_b_bits(id, counts, t, ring))
    });
    Cost {
        rounds: 2,
        bytes,
        macs: (n * t) as u64 * if mux { 6 } else { 2 },
    }
}

/// Bytes party `id` sends in the first round of [`inject`].
pub fn inject_a_bytes(id: u8, counts: Counts, t: usize, ring: Ring, mux: bool) -> u64 {
    let k = ring.bits() as u64;
    let cnt = |rel: usize| (counts.of_role(id, rel) * t) as u64;
    let per = if mux { 2 } else { 1 };
    bytes_of(cnt(0) * per * k) + bytes_of(cnt(2) * k)
}

/// One-round injection of weighted sums of split bits: for each weight vector `wts[j]`
/// (one public weight per threshold), shares of `Σ_i wts[j][i] · b_{i,e}` for every element
/// e, where `b_{i,e} = c ^ v` is bit `i*n + e` of `s`.
///
/// With `w = 1 - 2v`, `b = v + c·w`. Role 0 sends `c + α` to role 1 and `c + β` to role 2
/// (α from its PRG with role 2, β from its PRG with role 1). Role 2 sends role 1 the
/// correction `Σ_i W_i α_i w_i - ρ`, role 1 sends role 2 `Σ_i W_i β_i w_i - σ`, all in the
/// same round (ρ, σ: PRG values role 0 shares with roles 2 and 1). Both then compute
/// `f_2 = Σ_i W_i (v_i + (c_i + mask_i) w_i) - correction + own PRG value`
/// `= Σ_i W_i b_i + ρ + σ`; role 0 holds `f_0 = -ρ`, `f_1 = -σ`.
/// Rounds: 1. Bytes per element: role 0 sends `2·t·k` bits (t per neighbour), roles 1 and 2
/// `wts.len()·k` bits each.
pub fn inject_dot(
    ctx: &mut Ctx,
    s: &Split,
    wts: &[Vec<u64>],
    roles: &Roles,
    t: usize,
    ring: Ring,
) -> Result<Vec<AShare>, TransportError> {
    let (m, k, nt) = (ring.mask(), ring.bits(), wts.len());
    let n = s.c.len().checked_div(t).unwrap_or(0);
    let mut out = vec![
        AShare {
            a: vec![0; n],
            b: vec![0; n],
        };
        nt
    ];
    let (r0, r1, r2) = (0..3).fold((0, 0, 0), |acc, r| match Roles::rel(ctx.id, r) {
        0 => (r, acc.1, acc.2),
        1 => (acc.0, r, acc.2),
        _ => (acc.0, acc.1, r),
    });
    // Draws, in block order on every stream (see the module docs of `compare`).
    let mut draws: [Vec<u64>; 4] = Default::default();
    for r in 0..3 {
        let cnt = roles.count(r);
        match Roles::rel(ctx.id, r) {
            0 => {
                draws[0] = draw(ctx, Stream::Own, cnt * (t + nt), k);
                draws[1] = draw(ctx, Stream::Next, cnt * (t + nt), k);
            }
            1 => draws[2] = draw(ctx, Stream::Own, cnt * (t + nt), k),
            _ => draws[3] = draw(ctx, Stream::Next, cnt * (t + nt), k),
        }
    }
    let (mut to_next, mut to_prev) = (BitWriter::new(), BitWriter::new());
    // Role 0: masked bits to both neighbours; its shares are the negated PRG values.
    for (q, e) in roles.range(r0).enumerate() {
        let (al, be) = (&draws[0][q * (t + nt)..], &draws[1][q * (t + nt)..]);
        for i in 0..t {
            to_next.push(s.c[i * n + e].wrapping_add(al[i]) & m, k);
            to_prev.push(s.c[i * n + e].wrapping_add(be[i]) & m, k);
        }
        for j in 0..nt {
            out[j].a[e] = al[t + j].wrapping_neg() & m;
            out[j].b[e] = be[t + j].wrapping_neg() & m;
        }
    }
    // Roles 1 and 2: corrections `Σ W mask w - (own PRG value)`.
    let corr = |mask: &[u64], e: usize, j: usize| -> u64 {
        let mut acc = 0u64;
        for i in 0..t {
            let w = 1u64.wrapping_sub(s.v[i * n + e].wrapping_mul(2));
            acc = acc.wrapping_add(wts[j][i].wrapping_mul(mask[i]).wrapping_mul(w));
        }
        acc.wrapping_sub(mask[t + j]) & m
    };
    for (q, e) in roles.range(r1).enumerate() {
        let be = &draws[2][q * (t + nt)..];
        for j in 0..nt {
            to_next.push(corr(be, e, j), k);
            out[j].a[e] = be[t + j].wrapping_neg() & m;
        }
    }
    for (q, e) in roles.range(r2).enumerate() {
        let al = &draws[3][q * (t + nt)..];
        for j in 0..nt {
            to_prev.push(corr(al, e, j), k);
            out[j].b[e] = al[t + j].wrapping_neg() & m;
        }
    }
    let (from_prev, from_next) =
        ctx.exchange(Some(&to_next.finish()), Some(&to_prev.finish()), true, true)?;
    let (c1, c2) = (roles.count(r1) as u64, roles.count(r2) as u64);
    let k64 = k as u64;
    let mut rp = reader(
        &from_prev,
        (c1 * t as u64 + c2 * nt as u64) * k64,
        ctx.prev(),
    )?;
    let mut rn = reader(
        &from_next,
        (c2 * t as u64 + c1 * nt as u64) * k64,
        ctx.next(),
    )?;
    // f_2 = Σ W (v + masked·w) - received correction + own PRG value.
    let f2 = |rd: &mut BitReader,
              e: usize,
              own: &[u64],
              masked: &[u64],
              out: &mut [AShare],
              role1: bool| {
        for j in 0..nt {
            let mut acc = 0u64;
            for i in 0..t {
                let v = s.v[i * n + e];
                let w = 1u64.wrapping_sub(v.wrapping_mul(2));
                acc = acc.wrapping_add(
                    wts[j][i].wrapping_mul(v.wrapping_add(masked[i].wrapping_mul(w))),
                );
            }
            let val = acc.wrapping_sub(rd.pull(k)).wrapping_add(own[t + j]) & m;
            if role1 {
                out[j].b[e] = val;
            } else {
                out[j].a[e] = val;
            }
        }
    };
    let m1: Vec<Vec<u64>> = roles.range(r1).map(|_| rp.pull_all(t, k)).collect();
    let m2: Vec<Vec<u64>> = roles.range(r2).map(|_| rn.pull_all(t, k)).collect();
    for (q, e) in roles.range(r2).enumerate() {
        let own = draws[3][q * (t + nt)..].to_vec();
        f2(&mut rp, e, &own, &m2[q], &mut out, false);
    }
    for (q, e) in roles.range(r1).enumerate() {
        let own = draws[2][q * (t + nt)..].to_vec();
        f2(&mut rn, e, &own, &m1[q], &mut out, true);
    }
    Ok(out)
}

/// Cost of [`inject_dot`] of `t` bits per element and `nt` weight vectors.
pub fn inject_dot_cost(n: usize, t: usize, nt: usize, ring: Ring) -> Cost {
    if n * t == 0 {
        return Cost::ZERO;
    }
    let counts = Counts::contiguous(n);
    let k = ring.bits() as u64;
    let bytes = std::array::from_fn(|p| {
        let cnt = |rel: usize| counts.of_role(p as u8, rel) as u64;
        let (t, nt) = (t as u64, nt as u64);
        bytes_of((cnt(0) * t + cnt(1) * nt) * k) + bytes_of((cnt(0) * t + cnt(2) * nt) * k)
    });
    Cost {
        rounds: 1,
        bytes,
        macs: (n * t * (nt + 1)) as u64,
    }
}

/// A one-round multiplexer after its messages were written: what role 1 and 2 need to
/// finish once the replies arrive.
pub struct Mux1 {
    out: AShare,
    own: [Vec<u64>; 3],
}

/// Per-element PRG fields of [`mux1_send`]: masks of E, F and c, then the output mask.
const MUX1_FIELDS: usize = 4;

/// One-round multiplexer `x * b` for split bits `b = c ^ v` (one per element of x).
///
/// With `w = 1 - 2v` and `X = x_0 + x_1` (known to role 0):
/// `x·b = E + F·v + x_2·v + c·(x_2·w)` with `E = X·c` and `F = X·(1 - 2c)`. Role 0 sends
/// `E, F, c` masked by α (its PRG with role 2) to role 1 and masked by β (its PRG with
/// role 1) to role 2; role 2 sends role 1 `α_E + α_F·v + α_c·x_2·w - ρ` and role 1 sends
/// role 2 the same with β and σ, in the same round. Both compute
/// `f_2 = x·b + ρ + σ`; role 0 holds `f_0 = -ρ`, `f_1 = -σ`, known before the round.
/// Rounds: 1. Bits per element: role 0 sends 6k, roles 1 and 2 k each (the two-round
/// [`inject`] multiplexer sends 4k in all).
///
/// This half draws the masks and appends the messages to `to_next` and `to_prev`; role 0's
/// shares are already final in [`Mux1::partial`].
pub fn mux1_send(
    ctx: &mut Ctx,
    s: &Split,
    x: &AShare,
    roles: &Roles,
    ring: Ring,
    to_next: &mut BitWriter,
    to_prev: &mut BitWriter,
) -> Mux1 {
    let (m, k, n) = (ring.mask(), ring.bits(), x.len());
    let f = MUX1_FIELDS;
    let mut out = AShare {
        a: vec![0; n],
        b: vec![0; n],
    };
    let mut own: [Vec<u64>; 3] = Default::default();
    let mut d: [Vec<u64>; 2] = Default::default();
    for r in 0..3 {
        let cnt = roles.count(r) * f;
        match Roles::rel(ctx.id, r) {
            0 => {
                d[0] = draw(ctx, Stream::Own, cnt, k);
                d[1] = draw(ctx, Stream::Next, cnt, k);
            }
            1 => own[1] = draw(ctx, Stream::Own, cnt, k),
            _ => own[2] = draw(ctx, Stream::Next, cnt, k),
        }
    }
    let block = |rel: usize| Roles::block(ctx.id, rel);
    for (q, e) in roles.range(block(0)).enumerate() {
        let big = x.a[e].wrapping_add(x.b[e]);
        let c = s.c[e];
        let vals = [
            big.wrapping_mul(c),
            big.wrapping_mul(1u64.wrapping_sub(c.wrapping_mul(2))),
            c,
        ];
        for (i, v) in vals.iter().enumerate() {
            to_next.push(v.wrapping_add(d[0][q * f + i]) & m, k);
            to_prev.push(v.wrapping_add(d[1][q * f + i]) & m, k);
        }
        out.a[e] = d[0][q * f + 3].wrapping_neg() & m;
        out.b[e] = d[1][q * f + 3].wrapping_neg() & m;
    }
    // Corrections `mask_E + mask_F·v + mask_c·x_2·w - own output mask`.
    let corr = |mask: &[u64], v: u64, x2: u64| -> u64 {
        let w = 1u64.wrapping_sub(v.wrapping_mul(2));
        mask[0]
            .wrapping_add(mask[1].wrapping_mul(v))
            .wrapping_add(mask[2].wrapping_mul(x2).wrapping_mul(w))
            .wrapping_sub(mask[3])
            & m
    };
    for (q, e) in roles.range(block(1)).enumerate() {
        to_next.push(corr(&own[1][q * f..], s.v[e], x.b[e]), k);
        out.a[e] = own[1][q * f + 3].wrapping_neg() & m;
    }
    for (q, e) in roles.range(block(2)).enumerate() {
        to_prev.push(corr(&own[2][q * f..], s.v[e], x.a[e]), k);
        out.b[e] = own[2][q * f + 3].wrapping_neg() & m;
    }
    Mux1 { out, own }
}

impl Mux1 {
    /// The shares so far: final at each block's role 0.
    pub fn partial(&self) -> &AShare {
        &self.out
    }
    /// Bits party `id` sends to its (next, previous) party, for blocks of sizes `counts`.
    pub fn send_bits(id: u8, counts: Counts, ring: Ring) -> (u64, u64) {
        let cnt = |rel: usize| counts.of_role(id, rel) as u64;
        let k = ring.bits() as u64;
        (3 * cnt(0) * k + cnt(1) * k, 3 * cnt(0) * k + cnt(2) * k)
    }
    /// Bits party `id` receives from its (previous, next) party: the mirror of
    /// [`Mux1::send_bits`].
    pub fn recv_bits(id: u8, counts: Counts, ring: Ring) -> (u64, u64) {
        let cnt = |rel: usize| counts.of_role(id, rel) as u64;
        let k = ring.bits() as u64;
        (3 * cnt(1) * k + cnt(2) * k, 3 * cnt(2) * k + cnt(1) * k)
    }
    /// Completes roles 1 and 2 from the messages of the previous (`rp`) and next (`rn`)
    /// party, read in the order [`mux1_send`] wrote them.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        ctx: &Ctx,
        s: &Split,
        x: &AShare,
        roles: &Roles,
        ring: Ring,
        rp: &mut BitReader,
        rn: &mut BitReader,
    ) -> AShare {
        let (m, k, f) = (ring.mask(), ring.bits(), MUX1_FIELDS);
        let (b1, b2) = (Roles::block(ctx.id, 1), Roles::block(ctx.id, 2));
        let m1: Vec<Vec<u64>> = roles.range(b1).map(|_| rp.pull_all(3, k)).collect();
        let m2: Vec<Vec<u64>> = roles.range(b2).map(|_| rn.pull_all(3, k)).collect();
        let f2 = |vals: &[u64], v: u64, x2: u64, corr: u64, own: u64| -> u64 {
            let w = 1u64.wrapping_sub(v.wrapping_mul(2));
            vals[0]
                .wrapping_add(vals[1].wrapping_mul(v))
                .wrapping_add(x2.wrapping_mul(v))
                .wrapping_add(vals[2].wrapping_mul(x2).wrapping_mul(w))
                .wrapping_sub(corr)
                .wrapping_add(own)
                & m
        };
        for (q, e) in roles.range(b2).enumerate() {
            let corr = rp.pull(k);
            self.out.a[e] = f2(&m2[q], s.v[e], x.a[e], corr, self.own[2][q * f + 3]);
        }
        for (q, e) in roles.range(b1).enumerate() {
            let corr = rn.pull(k);
            self.out.b[e] = f2(&m1[q], s.v[e], x.b[e], corr, self.own[1][q * f + 3]);
        }
        self.out
    }
}
