//! The typing rule of every op: [`output_type`] gives the type of a node's output from its op
//! and its operands' types; [`check_source`] checks the declared type of a source.
//!
//! This is the one place where the shape, scale, ring and visibility rules live. The verifier
//! ([`crate::Graph::verify`]), the passes' emitter and the ONNX front end all call it, so a rule
//! cannot drift between them. Every match over [`Op`] here is exhaustive: a new op does not
//! compile until its rule is written.
//!
//! The rules, in short:
//! - **Ring.** Every operand lives in the output's ring, except for the two ring conversions:
//!   `downcast` takes Z_2^64 to Z_2^32, `upcast` takes Z_2^32 to Z_2^64.
//! - **Visibility.** A computed value's visibility is the join of its operands'
//!   ([`Vis::join`]); sources declare theirs; `output` keeps its operand's type.
//! - **Scale.** `add`/`sub`/`div`/`concat` need equal operand scales; `mul`/`matmul` add them;
//!   `select` takes bits at scale 0 as its second operand; `trunc` lowers the scale by its bits,
//!   `shl` raises it; `downcast` lowers it by its shift, `upcast` raises it by its shift;
//!   `ge` gives bits at scale 0; every other op keeps its operand's scale.
//! - **Shape.** Binary elementwise ops broadcast numpy-style; shape ops compute theirs from
//!   their attributes; `reshape` and `broadcast` take the declared shape, which must hold the
//!   same number of elements or be a broadcast target.

use crate::op::{InputEncoding, Op, Piece};
use crate::types::{broadcast_shapes, Ring, ValueType, Vis, N_PARTIES};

/// A typing failure: what is wrong with an op's operands, attributes or declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TypeError(pub String);

type TResult<T> = Result<T, TypeError>;

/// The most iterations (squarings, Newton steps) an iterative kernel may run: each costs a
/// round or more, and `exp_taylor` divides by 2^iters, which must stay inside the ring.
pub const MAX_ITERS: u32 = 32;

fn fail<T>(message: impl Into<String>) -> TResult<T> {
    Err(TypeError(message.into()))
}

/// Checks the declared type of a source (`input`, `weight`, `const`).
pub fn check_source(op: &Op, declared: &ValueType) -> TResult<()> {
    if let Op::Input {
        owner, encoding, ..
    } = op
    {
        if *owner as usize >= N_PARTIES {
            return fail(format!("owner {owner} is not a party"));
        }
        if !declared.vis.is_secret() {
            return fail("an input must be secret");
        }
        match encoding {
            InputEncoding::OneHot { depth } if declared.shape.last() != Some(depth) => {
                fail(format!("one-hot input's last dim must be {depth}"))
            }
            InputEncoding::OneHot { .. }
            | InputEncoding::Fixed
            | InputEncoding::Int
            | InputEncoding::State => Ok(()),
        }
    } else if let Op::Weight { .. } = op {
        match declared.vis {
            Vis::Owner | Vis::Public => Ok(()),
            Vis::Client | Vis::Secret => fail("a weight is the owner's or public"),
        }
    } else if let Op::SinPrep { terms } = op {
        if *terms == 0 || *terms > MAX_SIN_TERMS {
            return fail(format!(
                "{terms} sine terms; a series has 1 to {MAX_SIN_TERMS}"
            ));
        }
        if declared.shape.first() != Some(&(2 * *terms as usize + 1)) {
            return fail(format!(
                "the first axis of {terms} terms' material must hold {} rows",
                2 * terms + 1
            ));
        }
        if declared.vis != Vis::Secret {
            return fail("sine material is secret to every party");
        }
        if !declared.scale.is_multiple_of(2)
            || declared.scale == 0
            || 3 * declared.scale / 2 + 6 > declared.ring.bits()
        {
            return fail(format!(
                "sine material at scale {} in {}: an even scale 2q with 3q + 6 <= {} bits",
                declared.scale,
                declared.ring,
                declared.ring.bits()
            ));
        }
        Ok(())
    } else if let Op::Const { values } = op {
        if values.len() != declared.len() {
            return fail(format!(
                "{} values for {} elements",
                values.len(),
                declared.len()
            ));
        }
        if declared.vis != Vis::Public {
            return fail("a constant is public");
        }
        Ok(())
    } else {
        fail(format!("'{}' is not a source", op.name()))
    }
}

/// The most terms of a sine series ([`Op::SinPrep`], [`Op::SinSeries`]).
pub const MAX_SIN_TERMS: u32 = 32;

/// The scale `2q` of [`Op::SinPrep`] material serving an operand at scale `f` in `ring`:
/// each of its sines and cosines is a product of two factors encoded at scale q, and the
/// series multiplies them by public coefficients at scale q, so a sum at scale 3q must fit
/// below 2^(k-2) with 3 bits to spare: `q = min(f, (k - 6) / 3)` (Z64: 19, Z32: 8), and at
/// least 1.
pub fn sin_prep_scale(ring: Ring, f: u32) -> u32 {
    2 * f.min((ring.bits() - 6) / 3).max(1)
}

/// Checks a sine series' attributes and its material against its operand x.
fn check_sin_series(coeffs: &[f64], period: f64, x: &ValueType, prep: &ValueType) -> TResult<()> {
    let terms = coeffs.len().saturating_sub(1);
    if terms == 0 || terms > MAX_SIN_TERMS as usize {
        return fail(format!(
            "{terms} sine terms; a series has 1 to {MAX_SIN_TERMS}"
        ));
    }
    if coeffs.iter().any(|c| !c.is_finite()) {
        return fail("coefficients must be finite");
    }
    if !(period.is_finite() && period > 0.0) {
        return fail(format!("period {period}: it must be positive and finite"));
    }
    let mut want = vec![2 * terms + 1];
    want.extend(&x.shape);
    if prep.shape != want || prep.ring != x.ring || !prep.vis.is_secret() {
        return fail(format!(
            "its material must be secret, in {} with shape {want:?}; has {prep}",
            x.ring
        ));
    }
    let q2 = sin_prep_scale(x.ring, x.scale);
    if prep.scale != q2 {
        return fail(format!(
            "its material must have scale {q2}, has {}",
            prep.scale
        ));
    }
    if 3 * q2 / 2 < x.scale {
        return fail(format!(
            "scale {} is finer than a sine series in {} computes (at most {})",
            x.scale,
            x.ring,
            3 * q2 / 2
        ));
    }
    // |c0| + sqrt(2) sum |c_j| at scale 3q below 2^(k-2).
    let bound = coeffs[0].abs()
        + std::f64::consts::SQRT_2 * coeffs[1..].iter().map(|c| c.abs()).sum::<f64>();
    if bound * (3.0 * q2 as f64 / 2.0).exp2() >= ((x.ring.bits() - 2) as f64).exp2() {
        return fail(format!(
            "coefficients summing to {bound} overflow the series' sum in {}",
            x.ring
        ));
    }
    // x · (2^(k-f) / period) must be a multiple of x's unit that resolves the angle.
    let turn = ((x.ring.bits() - x.scale) as f64).exp2() / period;
    if turn < 1024.0 {
        return fail(format!(
            "period {period} at scale {} leaves {turn:.0} ring units per turn in {}; at least 1024",
            x.scale, x.ring
        ));
    }
    Ok(())
}

/// The number of operands `op` takes; `None` for variadic ops (`concat`, at least one).
pub fn arity(op: &Op) -> Option<usize> {
    Some(match op {
        Op::Input { .. } | Op::Weight { .. } | Op::Const { .. } | Op::SinPrep { .. } => 0,
        Op::Add | Op::Sub | Op::Mul | Op::MatMul | Op::Select | Op::Div | Op::SinSeries { .. } => 2,
        Op::Concat { .. } => return None,
        Op::Neg
        | Op::Trunc { .. }
        | Op::Shl { .. }
        | Op::Downcast { .. }
        | Op::Upcast { .. }
        | Op::Reshape
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Broadcast
        | Op::Gather { .. }
        | Op::Pad { .. }
        | Op::ReduceSum { .. }
        | Op::Ge { .. }
        | Op::Relu
        | Op::MaxAxis { .. }
        | Op::ExpTaylor { .. }
        | Op::Reciprocal { .. }
        | Op::Rsqrt { .. }
        | Op::RsqrtGoldschmidt { .. }
        | Op::Poly { .. }
        | Op::PiecewisePoly { .. }
        | Op::Output { .. }
        | Op::Gelu
        | Op::Erf
        | Op::Tanh
        | Op::Sigmoid
        | Op::Silu
        | Op::Exp
        | Op::Softmax { .. }
        | Op::RmsNorm { .. }
        | Op::Sqrt => 1,
    })
}

/// The output type of a non-source `op` applied to operands of types `ins`.
///
/// `shape` is the declared output shape; only `reshape` and `broadcast` read it (they need
/// it; for every other op it may be `None`). Sources have declared types: use
/// [`check_source`].
pub fn output_type(op: &Op, ins: &[&ValueType], shape: Option<&[usize]>) -> TResult<ValueType> {
    match arity(op) {
        Some(n) if ins.len() != n => {
            return fail(format!("takes {n} operands, has {}", ins.len()));
        }
        None if ins.is_empty() => return fail("takes at least one operand"),
        Some(_) | None => {}
    }
    if let Some(first) = ins.first() {
        if let Some(t) = ins.iter().find(|t| t.ring != first.ring) {
            return fail(format!(
                "operands in rings {} and {}: every operand lives in one ring",
                first.ring, t.ring
            ));
        }
    }
    let vis = ins.iter().fold(Vis::Public, |acc, t| acc.join(t.vis));
    let x = || ins[0];
    // (shape, scale) of the output; ring and visibility follow the operands.
    let (out_shape, scale) = match op {
        Op::Input { .. } | Op::Weight { .. } | Op::Const { .. } | Op::SinPrep { .. } => {
            return fail(format!("'{}' is a source: its type is declared", op.name()));
        }
        Op::SinSeries { coeffs, period } => {
            check_sin_series(coeffs, *period, x(), ins[1])?;
            // The angle's material carries no information: the result is x's.
            return Ok(x().clone());
        }
        Op::Add | Op::Sub | Op::Div => {
            same_scale(ins)?;
            (broadcast2(ins)?, x().scale)
        }
        Op::Mul => (broadcast2(ins)?, x().scale + ins[1].scale),
        Op::Select => {
            if ins[1].scale != 0 {
                return fail("select's second operand must hold bits at scale 0");
            }
            (broadcast2(ins)?, x().scale)
        }
        Op::MatMul => (
            matmul_shape(&x().shape, &ins[1].shape)?,
            x().scale + ins[1].scale,
        ),
        Op::Trunc { bits } => {
            if *bits > x().scale {
                return fail(format!("trunc by {bits} from scale {}", x().scale));
            }
            (x().shape.clone(), x().scale - bits)
        }
        Op::Shl { bits } => {
            if x().scale + bits >= x().ring.bits() {
                return fail(format!(
                    "shl by {bits} from scale {} leaves no bits of {}",
                    x().scale,
                    x().ring
                ));
            }
            (x().shape.clone(), x().scale + bits)
        }
        Op::Downcast { shift } => return convert(x(), Ring::Z64, Ring::Z32, -(*shift as i64), vis),
        Op::Upcast { shift } => return convert(x(), Ring::Z32, Ring::Z64, *shift as i64, vis),
        Op::Reshape => {
            let s = declared(shape, op)?;
            if s.iter().product::<usize>() != x().len() {
                return fail(format!("reshape {:?} to {s:?} changes the size", x().shape));
            }
            (s.to_vec(), x().scale)
        }
        Op::Broadcast => {
            let s = declared(shape, op)?;
            if broadcast_shapes(&x().shape, s).as_deref() != Some(s) {
                return fail(format!("{:?} does not broadcast to {s:?}", x().shape));
            }
            (s.to_vec(), x().scale)
        }
        Op::Transpose { perm } => {
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..x().shape.len()).collect::<Vec<_>>() {
                return fail(format!(
                    "{perm:?} is not a permutation of {} axes",
                    x().shape.len()
                ));
            }
            (perm.iter().map(|&p| x().shape[p]).collect(), x().scale)
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => {
            let d = axis_len(x(), *axis)?;
            if *step == 0 || start > end || *end > d {
                return fail(format!(
                    "slice {start}..{end} step {step} of an axis of {d} elements"
                ));
            }
            let mut s = x().shape.clone();
            s[*axis] = (end - start).div_ceil(*step);
            (s, x().scale)
        }
        Op::Concat { axis } => (concat_shape(ins, *axis)?, x().scale),
        Op::Gather { axis, indices } => {
            let d = axis_len(x(), *axis)?;
            if let Some(i) = indices.iter().find(|&&i| i >= d) {
                return fail(format!("index {i} out of range for an axis of {d}"));
            }
            let mut s = x().shape.clone();
            s[*axis] = indices.len();
            (s, x().scale)
        }
        Op::Pad { pads } => {
            if pads.len() != x().shape.len() {
                return fail(format!("{} pads for rank {}", pads.len(), x().shape.len()));
            }
            let s = x().shape.iter().zip(pads).map(|(d, (b, a))| d + b + a);
            (s.collect(), x().scale)
        }
        Op::ReduceSum { axes } => {
            let mut s = x().shape.clone();
            for (i, &a) in axes.iter().enumerate() {
                axis_len(x(), a)?;
                if axes[..i].contains(&a) {
                    return fail(format!("axis {a} reduced twice"));
                }
                s[a] = 1;
            }
            (s, x().scale)
        }
        Op::MaxAxis { axis } => {
            if axis_len(x(), *axis)? == 0 {
                return fail("max over an empty axis");
            }
            let mut s = x().shape.clone();
            s[*axis] = 1;
            (s, x().scale)
        }
        Op::Softmax { axis } | Op::RmsNorm { axis, .. } => {
            axis_len(x(), *axis)?;
            (x().shape.clone(), x().scale)
        }
        Op::Ge { thresholds } => {
            if thresholds.iter().any(|t| !t.is_finite()) {
                return fail("thresholds must be finite");
            }
            let mut s = vec![thresholds.len()];
            s.extend(&x().shape);
            (s, 0)
        }
        Op::Poly { coeffs } => {
            if coeffs.is_empty() {
                return fail("empty polynomial");
            }
            (x().shape.clone(), x().scale)
        }
        Op::PiecewisePoly { breaks, pieces } => {
            check_pieces(breaks, pieces)?;
            (x().shape.clone(), x().scale)
        }
        Op::Output { to, .. } => {
            // No party: the value stays shared, kept as state (see `Op::Output`).
            if to.iter().any(|&p| p as usize >= N_PARTIES) {
                return fail(format!("output parties {to:?} invalid"));
            }
            return Ok(x().clone());
        }
        Op::ExpTaylor { iters }
        | Op::Reciprocal { iters }
        | Op::Rsqrt { iters }
        | Op::RsqrtGoldschmidt { iters } => {
            if *iters > MAX_ITERS {
                return fail(format!(
                    "{iters} iterations; a kernel runs at most {MAX_ITERS}"
                ));
            }
            (x().shape.clone(), x().scale)
        }
        Op::Neg
        | Op::Relu
        | Op::Gelu
        | Op::Erf
        | Op::Tanh
        | Op::Sigmoid
        | Op::Silu
        | Op::Exp
        | Op::Sqrt => (x().shape.clone(), x().scale),
    };
    Ok(ValueType {
        shape: out_shape,
        ring: x().ring,
        scale,
        vis,
    })
}

/// The type of a ring conversion of `x` from ring `from` to ring `to` that changes the scale
/// by `delta` bits: the operand must live in `from`, a lowered scale must not go below 0,
/// and a raised one must leave bits of `to` for the integer part.
fn convert(x: &ValueType, from: Ring, to: Ring, delta: i64, vis: Vis) -> TResult<ValueType> {
    if x.ring != from {
        return fail(format!("takes a value in {from}, has one in {}", x.ring));
    }
    let scale = x.scale as i64 + delta;
    if scale < 0 {
        return fail(format!("shift by {} from scale {}", -delta, x.scale));
    }
    if scale >= to.bits() as i64 {
        return fail(format!("scale {scale} leaves no bits of {to}"));
    }
    Ok(ValueType {
        shape: x.shape.clone(),
        ring: to,
        scale: scale as u32,
        vis,
    })
}

fn declared<'a>(shape: Option<&'a [usize]>, op: &Op) -> TResult<&'a [usize]> {
    shape.ok_or_else(|| TypeError(format!("'{}' needs its output shape", op.name())))
}

fn axis_len(t: &ValueType, axis: usize) -> TResult<usize> {
    t.shape
        .get(axis)
        .copied()
        .ok_or_else(|| TypeError(format!("axis {axis} out of range for shape {:?}", t.shape)))
}

fn same_scale(ins: &[&ValueType]) -> TResult<()> {
    match ins.iter().find(|t| t.scale != ins[0].scale) {
        Some(t) => fail(format!(
            "operand scales differ: {} and {}",
            ins[0].scale, t.scale
        )),
        None => Ok(()),
    }
}

fn broadcast2(ins: &[&ValueType]) -> TResult<Vec<usize>> {
    broadcast_shapes(&ins[0].shape, &ins[1].shape).ok_or_else(|| {
        TypeError(format!(
            "shapes {:?} and {:?} do not broadcast",
            ins[0].shape, ins[1].shape
        ))
    })
}

/// The output shape of a batched matmul `[.., m, k] x [.., k, n]`.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> TResult<Vec<usize>> {
    if a.len() < 2 || b.len() < 2 {
        return fail("matmul operands need rank ≥ 2");
    }
    if a[a.len() - 1] != b[b.len() - 2] {
        return fail(format!("inner dims differ: {a:?} x {b:?}"));
    }
    let mut s = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2])
        .ok_or_else(|| TypeError(format!("batch dims of {a:?} and {b:?} do not broadcast")))?;
    s.push(a[a.len() - 2]);
    s.push(b[b.len() - 1]);
    Ok(s)
}

fn concat_shape(ins: &[&ValueType], axis: usize) -> TResult<Vec<usize>> {
    same_scale(ins)?;
    let first = &ins[0].shape;
    axis_len(ins[0], axis)?;
    let mut s = first.clone();
    s[axis] = 0;
    for t in ins {
        let ok = t.shape.len() == first.len()
            && t.shape
                .iter()
                .zip(first)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !ok {
            return fail(format!(
                "cannot concatenate {:?} and {:?} along axis {axis}",
                first, t.shape
            ));
        }
        s[axis] += t.shape[axis];
    }
    Ok(s)
}

fn check_pieces(breaks: &[f64], pieces: &[Piece]) -> TResult<()> {
    if pieces.len() != breaks.len() + 1 {
        return fail("needs one more piece than breaks");
    }
    if breaks.iter().any(|b| !b.is_finite()) || breaks.windows(2).any(|w| w[0] >= w[1]) {
        return fail("breaks must be finite and increase");
    }
    for p in pieces {
        match p {
            Piece::Poly(c) if c.is_empty() => return fail("empty polynomial"),
            Piece::Poly(_) | Piece::Zero | Piece::Identity => {}
        }
    }
    Ok(())
}
