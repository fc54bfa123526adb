//! Recognises an additive attention mask on the operand of a `softmax`, so that a recipe
//! which is not shift-invariant (MPCFormer's 2Quad) can multiply by the mask instead of
//! adding it.
//!
//! Hugging Face exports hide a position from attention by adding a large negative number to
//! its score: BERT-style encoders compute `(1 - attention_mask) · L`, the decoders
//! `Where(causal ∧ mask, 0, L)` (which the front end lowers to `L + keep · (-L)`), with `L`
//! -10⁴ or the float minimum clamped to the format. Under the exact softmax, `e^L` is 0 to
//! any fixed-point precision; under 2Quad, `(x + L + 5)²` is the largest weight of the row.
//!
//! [`additive_mask`] matches `add(s, m)` where `m` is not derived from the owner's weights
//! (client or public) and is, element by element, `α + β·b` for public scalars `α`, `β` and
//! a value `b` whose every element is 0 or 1, with `{α, α + β} = {0, L}` and `L <= -30`
//! (`e^-30 ≈ 9e-14`, below the resolution of every fixed-point format the compiler accepts,
//! so the exact softmax gives those positions weight 0 too). It returns `s` and how the
//! "keep" bits (1 where `m = 0`) follow from `b`. A value is known to be 0 or 1 when it is
//! the input `attention_mask` (the client's run checks that every element is 0 or 1), a
//! constant of zeros and ones, a reshape, broadcast, transpose, slice or concat of such, a
//! product of two such, or `1 - b` of one. Anything else is not a mask: the match fails and
//! the lowering adds `m` as the model says.
//!
//! The match reads only the graph's structure and its public constants, never a weight, so
//! the plan still depends on the architecture alone.

use mpcc_ir::{Graph, InputEncoding, Op, ValueId, Vis};

/// The most a masked position may add to its score (see the module doc).
pub const MASK_FILL_MAX: f64 = -30.0;

/// `add(scores, m)` with `m` an additive mask: `m = 0` where `keep` is 1, and at most
/// [`MASK_FILL_MAX`] where it is 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdditiveMask {
    /// The scores the mask is added to.
    pub scores: ValueId,
    /// A value whose elements are 0 or 1.
    pub bits: ValueId,
    /// True when the kept positions are where `bits` is 0 (`keep = 1 - bits`).
    pub complement: bool,
}

/// The additive mask on `x`, when `x` is `add(scores, m)` of the form the module doc
/// describes; `defs` is [`crate::rewrite::definitions`] of `graph`.
pub fn additive_mask(graph: &Graph, defs: &[Option<usize>], x: ValueId) -> Option<AdditiveMask> {
    let node = &graph.nodes[defs[x.index()]?];
    let Op::Add = node.op else {
        return None;
    };
    let [a, b] = node.inputs[..] else {
        return None;
    };
    [(a, b), (b, a)].into_iter().find_map(|(s, m)| {
        if !matches!(graph.ty(m).vis, Vis::Client | Vis::Public) {
            return None;
        }
        let (bits, alpha, beta) = affine_in_bits(graph, defs, m, 0)?;
        // m = β·b (hidden where b = 1) or α·(1 - b) (hidden where b = 0).
        let complement = if alpha == 0.0 && beta <= MASK_FILL_MAX {
            true
        } else if alpha <= MASK_FILL_MAX && alpha + beta == 0.0 {
            false
        } else {
            return None;
        };
        Some(AdditiveMask {
            scores: s,
            bits,
            complement,
        })
    })
}

/// How deep the structural matches look (masks are a handful of nodes).
const DEPTH: usize = 16;

/// `(b, α, β)` with `v = α + β·b` element by element and every element of `b` 0 or 1.
fn affine_in_bits(
    graph: &Graph,
    defs: &[Option<usize>],
    v: ValueId,
    depth: usize,
) -> Option<(ValueId, f64, f64)> {
    if is_bits(graph, defs, v, depth) {
        return Some((v, 0.0, 1.0));
    }
    if depth > DEPTH {
        return None;
    }
    let node = &graph.nodes[defs[v.index()]?];
    let scalar = |x: ValueId| public_scalar(graph, defs, x);
    let inner = |x: ValueId| affine_in_bits(graph, defs, x, depth + 1);
    let (x, y) = match node.inputs[..] {
        [x] => (x, None),
        [x, y] => (x, Some(y)),
        _ => return None,
    };
    if let (Op::Neg, None) = (&node.op, y) {
        return inner(x).map(|(b, a, c)| (b, -a, -c));
    }
    let y = y?;
    // `(k, other operand, k is the left one)` for a public scalar operand `k`.
    let (k, other, left) = match (scalar(x), scalar(y)) {
        (_, Some(k)) => (k, x, false),
        (Some(k), None) => (k, y, true),
        (None, None) => return None,
    };
    let (b, a, c) = inner(other)?;
    if matches!(node.op, Op::Mul) {
        Some((b, a * k, c * k))
    } else if matches!(node.op, Op::Add) {
        Some((b, a + k, c))
    } else if matches!(node.op, Op::Sub) && left {
        Some((b, k - a, -c))
    } else if matches!(node.op, Op::Sub) {
        Some((b, a - k, c))
    } else {
        None
    }
}

/// True when every element of `v` is known to be 0 or 1 (see the module doc).
fn is_bits(graph: &Graph, defs: &[Option<usize>], v: ValueId, depth: usize) -> bool {
    if depth > DEPTH {
        return false;
    }
    let Some(i) = defs[v.index()] else {
        return false;
    };
    let node = &graph.nodes[i];
    let bits = |x: &ValueId| is_bits(graph, defs, *x, depth + 1);
    if let Op::Input { name, encoding, .. } = &node.op {
        return name == "attention_mask" && *encoding == InputEncoding::Int;
    }
    if let Op::Const { values } = &node.op {
        return values.iter().all(|x| *x == 0.0 || *x == 1.0);
    }
    if let (Op::Sub, [one, x]) = (&node.op, &node.inputs[..]) {
        return public_scalar(graph, defs, *one) == Some(1.0) && bits(x);
    }
    let passes_bits = matches!(
        node.op,
        Op::Shl { .. }
            | Op::Reshape
            | Op::Broadcast
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Concat { .. }
            | Op::Mul
    );
    passes_bits && node.inputs.iter().all(bits)
}

/// The value of a public constant whose elements are all equal.
fn public_scalar(graph: &Graph, defs: &[Option<usize>], v: ValueId) -> Option<f64> {
    let node = &graph.nodes[defs[v.index()]?];
    let Op::Const { values } = &node.op else {
        return None;
    };
    let first = *values.first()?;
    (graph.ty(v).vis == Vis::Public && values.iter().all(|x| *x == first)).then_some(first)
}
