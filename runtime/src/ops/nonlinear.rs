//! Nonlinear instructions: the comparison kernels `ge`, `relu` and `max_axis`
//! ([`kernels::boolean`]), the approximation kernels `poly`, `piecewise_poly`, `exp_taylor`
//! ([`kernels::poly`]), `reciprocal` and `rsqrt` ([`kernels::invert`]), SecFormer's
//! `sin_prep` and `sin_series` ([`kernels::sine`]), and the high-level
//! ops that a plan may not hold.
//!
//! A public operand is computed in the clear by the kernel's plaintext reference; a secret
//! one by its protocol. They cost nothing on a public operand.

use super::{secret, Flow, Instr, SimArgs};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::approx::plain;
use crate::kernels::{boolean, invert, poly, sine};
use crate::protocol::{Args, Host};
use crate::ring::{decode, encode};
use crate::share::{AShare, Val};
use crate::sim::fixed::{signed, EventKind, Sim};
use crate::sim::kernels as simk;
use crate::transport::TransportError;
use mpcc_ir::{Piece, Ring, ValueType};

/// `ge`: bits `[x >= t]` for every threshold, threshold-major.
pub(super) struct Ge<'o> {
    pub thresholds: &'o [f64],
}

impl Instr for Ge<'_> {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let ty = args.tys[0];
        let ring = ty.ring;
        let th: Vec<u64> = self
            .thresholds
            .iter()
            .map(|t| encode(*t, ty.scale, ring))
            .collect();
        Ok(match args.vals[0] {
            Val::Pub(v) => Val::Pub(
                th.iter()
                    .flat_map(|t| v.iter().map(move |e| boolean::plain::ge(*e, *t, ring)))
                    .collect(),
            ),
            Val::Sec(s) => Val::Sec(boolean::ge_const(ctx, s, &th, ring)?),
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        let x = tys[0];
        if !secret(tys, 0) {
            return Cost::ZERO;
        }
        boolean::ge_const_cost(x.len(), self.thresholds.len(), x.ring)
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let ty = args.tys[0];
        let (ring, n) = (ty.ring, ty.len());
        let x = args.vals[0];
        let mut out = Vec::with_capacity(n * self.thresholds.len());
        for (k, t) in self.thresholds.iter().enumerate() {
            let t = encode(*t, ty.scale, ring);
            for (i, v) in x.iter().enumerate() {
                s.elem = k * n + i;
                out.push(if ty.vis.is_secret() {
                    s.ge(*v, t, ring, "ge", ty.scale)
                } else {
                    boolean::plain::ge(*v, t, ring)
                });
            }
        }
        Ok(out)
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
}

/// `relu`: `x * [x >= 0]`.
pub(super) struct Relu;

impl Instr for Relu {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let ring = args.tys[0].ring;
        Ok(match args.vals[0] {
            Val::Pub(v) => Val::Pub(v.iter().map(|e| boolean::plain::relu(*e, ring)).collect()),
            Val::Sec(s) => Val::Sec(boolean::relu(ctx, s, ring)?),
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        let x = tys[0];
        if !secret(tys, 0) {
            return Cost::ZERO;
        }
        boolean::relu_cost(x.len(), x.ring)
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let ring = args.tys[0].ring;
        Ok(args.vals[0]
            .iter()
            .map(|e| boolean::plain::relu(*e, ring))
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
}

/// `max_axis`: the maximum along `axis` by a comparison tree.
pub(super) struct MaxAxis {
    pub axis: usize,
}

impl Instr for MaxAxis {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let ty = args.tys[0];
        Ok(match args.vals[0] {
            Val::Pub(v) => Val::Pub(boolean::plain::max_axis(v, &ty.shape, self.axis, ty.ring)),
            Val::Sec(s) => Val::Sec(boolean::max_axis(ctx, s, &ty.shape, self.axis, ty.ring)?),
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        let x = tys[0];
        if !secret(tys, 0) {
            return Cost::ZERO;
        }
        boolean::max_axis_cost(&x.shape, self.axis, x.ring)
    }
    /// Records [`EventKind::CompareRange`] for a secret row whose spread reaches 2^(k-1)
    /// (some pair the tree compares may then wrap).
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let ty = args.tys[0];
        let x = args.vals[0];
        if ty.vis.is_secret() {
            let outer: usize = ty.shape[..self.axis].iter().product();
            let inner: usize = ty.shape[self.axis + 1..].iter().product();
            let len = ty.shape[self.axis];
            for o in 0..outer {
                for i in 0..inner {
                    let lane = (0..len).map(|j| signed(x[(o * len + j) * inner + i], ty.ring));
                    let (lo, hi) =
                        lane.fold((i128::MAX, i128::MIN), |(a, b), v| (a.min(v), b.max(v)));
                    if len > 0 && hi - lo >= 1i128 << (ty.ring.bits() - 1) {
                        s.elem = o * inner + i;
                        s.flag(EventKind::CompareRange, "max_axis", hi - lo, ty.scale);
                    }
                }
            }
        }
        Ok(boolean::plain::max_axis(x, &ty.shape, self.axis, ty.ring))
    }
    fn flow(&self) -> Flow {
        Flow::Reduce(vec![self.axis])
    }
}

/// Runs an approximation kernel, which keeps its operand's ring and scale f: `plain` on each
/// element of a public operand (decode, evaluate, encode), `protocol` on a secret one (an
/// empty operand is free).
fn approx_exec(
    ctx: &mut Ctx,
    args: &Args,
    instr: &impl Instr,
    name: &str,
    protocol: impl FnOnce(&mut Ctx, &AShare, u32, Ring) -> Result<AShare, TransportError>,
) -> Result<Val, RtError> {
    let (f, ring) = (args.tys[0].scale, args.out.ring);
    if args.out.scale != f {
        return Err(RtError::Internal(format!(
            "{name} keeps its operand's scale {f}, but the output has scale {}",
            args.out.scale
        )));
    }
    match args.vals[0] {
        Val::Pub(x) => Ok(Val::Pub(approx_public(instr, x, f, ring, name)?)),
        Val::Sec(x) if x.is_empty() => Ok(Val::Sec(x.clone())),
        Val::Sec(x) => Ok(Val::Sec(protocol(ctx, x, f, ring)?)),
    }
}

/// An approximation kernel on a public operand: `plain` on each element (decode,
/// evaluate, encode).
fn approx_public(
    instr: &impl Instr,
    x: &[u64],
    f: u32,
    ring: Ring,
    name: &str,
) -> Result<Vec<u64>, RtError> {
    x.iter()
        .map(|v| {
            let y = instr.plain(decode(*v, f, ring), f, ring);
            y.map(|y| encode(y, f, ring))
        })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| RtError::Unsupported(name.into()))
}

/// Simulates an approximation kernel: [`approx_public`] on a public operand, `eval` on each
/// element of a secret one.
fn approx_sim(
    s: &mut Sim,
    args: &SimArgs,
    instr: &impl Instr,
    name: &str,
    eval: impl Fn(&mut Sim, u64) -> u64,
) -> Result<Vec<u64>, RtError> {
    let (f, ring) = (args.tys[0].scale, args.out.ring);
    if !args.tys[0].vis.is_secret() {
        return approx_public(instr, args.vals[0], f, ring, name);
    }
    Ok(args.vals[0]
        .iter()
        .enumerate()
        .map(|(i, x)| {
            s.elem = i;
            eval(s, *x)
        })
        .collect())
}

/// Cost of an approximation kernel: `cost(n, f, ring)` on a nonempty secret operand.
fn approx_cost(tys: &[&ValueType], cost: impl FnOnce(usize, u32, Ring) -> Cost) -> Cost {
    let x = tys[0];
    if !secret(tys, 0) || x.is_empty() {
        return Cost::ZERO;
    }
    cost(x.len(), x.scale, x.ring)
}

/// `poly`: `sum coeffs[i] x^i` on a power tree, one truncation at the end.
pub(super) struct Poly<'o> {
    pub coeffs: &'o [f64],
}

impl Instr for Poly<'_> {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "poly", |ctx, x, f, ring| {
            poly::poly(ctx, x, self.coeffs, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, f, ring| poly::poly_cost(n, self.coeffs, f, ring))
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let k = simk::Poly::new(self.coeffs, args.tys[0].scale, args.out.ring);
        approx_sim(s, args, self, "poly", |s, x| k.eval(s, x))
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(plain::poly(self.coeffs, x))
    }
}

/// `piecewise_poly`: PUMA's piecewise polynomials (GeLU).
pub(super) struct PiecewisePoly<'o> {
    pub breaks: &'o [f64],
    pub pieces: &'o [Piece],
}

impl Instr for PiecewisePoly<'_> {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "piecewise_poly", |ctx, x, f, ring| {
            poly::piecewise(ctx, x, self.breaks, self.pieces, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, f, ring| {
            poly::piecewise_cost(n, self.breaks, self.pieces, f, ring)
        })
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (f, ring) = (args.tys[0].scale, args.out.ring);
        let k = simk::Piecewise::new(self.breaks, self.pieces, f, ring);
        approx_sim(s, args, self, "piecewise_poly", |s, x| k.eval(s, x))
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    /// The breaks are taken as their encodings at scale f, as the protocol compares with those.
    fn plain(&self, x: f64, f: u32, ring: Ring) -> Option<f64> {
        let b: Vec<f64> = self
            .breaks
            .iter()
            .map(|b| decode(encode(*b, f, ring), f, ring))
            .collect();
        Some(plain::piecewise(&b, self.pieces, x))
    }
}

/// `exp_taylor`: `(1 + x / 2^iters)^(2^iters)`.
pub(super) struct ExpTaylor {
    pub iters: u32,
}

impl Instr for ExpTaylor {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "exp_taylor", |ctx, x, f, ring| {
            poly::exp_taylor(ctx, x, self.iters, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, f, ring| {
            poly::exp_taylor_cost(n, self.iters, f, ring)
        })
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (f, ring, t) = (args.tys[0].scale, args.out.ring, self.iters);
        approx_sim(s, args, self, "exp_taylor", |s, x| {
            simk::exp_taylor(s, x, t, f, ring)
        })
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(plain::exp_taylor(x, self.iters))
    }
}

/// `reciprocal`: 1/x for x > 0.
pub(super) struct Reciprocal {
    pub iters: u32,
}

impl Instr for Reciprocal {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "reciprocal", |ctx, x, f, ring| {
            invert::reciprocal(ctx, x, self.iters, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, _, ring| {
            invert::reciprocal_cost(n, self.iters, ring)
        })
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let k = simk::Invert::reciprocal(self.iters, args.tys[0].scale, args.out.ring);
        approx_sim(s, args, self, "reciprocal", |s, x| k.eval_reciprocal(s, x))
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(plain::reciprocal(x, self.iters))
    }
}

/// `rsqrt`: 1/sqrt(x) for x > 0.
pub(super) struct Rsqrt {
    pub iters: u32,
}

impl Instr for Rsqrt {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "rsqrt", |ctx, x, f, ring| {
            invert::rsqrt(ctx, x, self.iters, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, _, ring| invert::rsqrt_cost(n, self.iters, ring))
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let k = simk::Invert::rsqrt(self.iters, args.tys[0].scale, args.out.ring);
        approx_sim(s, args, self, "rsqrt", |s, x| k.eval_rsqrt(s, x))
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(plain::rsqrt(x, self.iters))
    }
}

/// `rsqrt_goldschmidt`: 1/sqrt(x) for x > 0 by Goldschmidt's iteration.
pub(super) struct RsqrtGoldschmidt {
    pub iters: u32,
}

impl Instr for RsqrtGoldschmidt {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        approx_exec(ctx, args, self, "rsqrt_goldschmidt", |ctx, x, f, ring| {
            invert::rsqrt_goldschmidt(ctx, x, self.iters, f, ring)
        })
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        approx_cost(tys, |n, _, ring| {
            invert::rsqrt_goldschmidt_cost(n, self.iters, ring)
        })
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let k = simk::Invert::rsqrt(self.iters, args.tys[0].scale, args.out.ring);
        approx_sim(s, args, self, "rsqrt_goldschmidt", |s, x| {
            k.eval_rsqrt_goldschmidt(s, x)
        })
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(plain::rsqrt_goldschmidt(x, self.iters))
    }
}

/// `sin_prep`: the correlated randomness of a sine series ([`sine::sin_prep`]), made before
/// and apart from the inputs (it has no operand).
pub(super) struct SinPrep {
    pub terms: u32,
}

impl Instr for SinPrep {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let out = args.out;
        let n = out.len() / (2 * self.terms as usize + 1);
        Ok(Val::Sec(sine::sin_prep(
            ctx,
            n,
            self.terms as usize,
            out.scale,
            out.ring,
        )?))
    }
    fn cost(&self, _: &[&ValueType], out: &ValueType) -> Cost {
        let n = out.len() / (2 * self.terms as usize + 1);
        if n == 0 {
            return Cost::ZERO;
        }
        sine::sin_prep_cost(n, self.terms as usize, out.ring)
    }
    /// The angle t = 0: every sine 0, every cosine exactly 1 at the material's scale.
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let out = args.out;
        let n = out.len() / (2 * self.terms as usize + 1);
        let one = encode(1.0, out.scale, out.ring);
        Ok((0..out.len())
            .map(|i| {
                let row = i / n.max(1);
                if row > 0 && row.is_multiple_of(2) {
                    one
                } else {
                    0
                }
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
}

/// `sin_series`: `coeffs[0] + sum_j coeffs[j] sin(2π j x / period)` by SecFormer's sine
/// protocol ([`sine::sin_series`]) with the material of its second operand.
pub(super) struct SinSeries<'o> {
    pub coeffs: &'o [f64],
    pub period: f64,
}

impl Instr for SinSeries<'_> {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let (f, ring) = (args.tys[0].scale, args.out.ring);
        match (args.vals[0], args.vals[1]) {
            (Val::Pub(x), _) => Ok(Val::Pub(approx_public(self, x, f, ring, "sin_series")?)),
            (Val::Sec(x), _) if x.is_empty() => Ok(Val::Sec(x.clone())),
            (Val::Sec(x), Val::Sec(prep)) => Ok(Val::Sec(sine::sin_series(
                ctx,
                x,
                prep,
                self.coeffs,
                self.period,
                f,
                args.tys[1].scale,
                ring,
            )?)),
            (Val::Sec(_), Val::Pub(_)) => Err(RtError::Internal(
                "sin_series: its material is public".into(),
            )),
        }
    }
    fn cost(&self, tys: &[&ValueType], _: &ValueType) -> Cost {
        let x = tys[0];
        if !secret(tys, 0) || x.is_empty() {
            return Cost::ZERO;
        }
        sine::sin_series_cost(
            x.len(),
            self.coeffs.len() - 1,
            x.scale,
            tys[1].scale,
            x.ring,
        )
    }
    /// The protocol's arithmetic on the material's values: the opened angle, the public
    /// coefficients at scale q, the sum at scale 3q and the truncation.
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (f, ring) = (args.tys[0].scale, args.out.ring);
        if !args.tys[0].vis.is_secret() {
            return approx_public(self, args.vals[0], f, ring, "sin_series");
        }
        let (x, prep) = (args.vals[0], args.vals[1]);
        let n = x.len();
        let q = args.tys[1].scale / 2;
        let c = sine::angle_factor(self.period, f, ring);
        let m = ring.mask();
        Ok((0..n)
            .map(|i| {
                s.elem = i;
                let delta = x[i].wrapping_mul(c).wrapping_sub(prep[i]) & m;
                let mut acc = encode(self.coeffs[0], 3 * q, ring);
                for (j, cj) in self.coeffs.iter().enumerate().skip(1) {
                    let a = j as f64 * sine::angle(delta, ring);
                    let (ps, pc) = (encode(cj * a.sin(), q, ring), encode(cj * a.cos(), q, ring));
                    let (sj, cjv) = (prep[(2 * j - 1) * n + i], prep[2 * j * n + i]);
                    let t = s.mul(ps, cjv, ring, "sine series: term", 3 * q);
                    acc = s.add(acc, t, ring, "sine series: sum", 3 * q);
                    let t = s.mul(pc, sj, ring, "sine series: term", 3 * q);
                    acc = s.add(acc, t, ring, "sine series: sum", 3 * q);
                }
                if 3 * q == f {
                    acc
                } else {
                    s.trunc(acc, 3 * q - f, ring, "sine series: truncation", 3 * q)
                }
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn plain(&self, x: f64, _: u32, _: Ring) -> Option<f64> {
        Some(sine::plain(self.coeffs, self.period, x))
    }
}

/// A high-level op (`gelu`, `softmax`, `div`, …): the passes lower it to kernels, so a plan
/// that holds one is a compiler bug. Refused; free.
pub(super) struct HighLevel {
    pub name: &'static str,
}

impl Instr for HighLevel {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, _: &Args) -> Result<Val, RtError> {
        Err(RtError::HighLevelOp(self.name))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, _: &SimArgs) -> Result<Vec<u64>, RtError> {
        Err(RtError::HighLevelOp(self.name))
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
}
