//! The operations of the IR: kernel ops that a plan may hold, and high-level ops that
//! passes must lower first.

use crate::types::PartyId;
use serde::{Deserialize, Serialize};

/// How an owner turns its input file into ring elements before sharing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InputEncoding {
    /// Floats encoded as fixed point at the value's scale.
    Fixed,
    /// Integers taken as they are (scale 0).
    Int,
    /// Integer ids turned into one-hot rows of `depth` entries (PUMA's secure embedding):
    /// an input of shape `[..]` becomes `[.., depth]` with entries 0 or 1 at the value's scale.
    OneHot {
        /// Number of classes (the vocabulary size).
        depth: usize,
    },
    /// A value that is already secret-shared among the parties: state kept from an earlier
    /// run of the same plan (an [`Op::Output`] to no party, such as a generation step's key
    /// and value cache). Each party brings its own share; nothing is sent and nothing is
    /// encoded. The input's owner is meaningless for it.
    State,
}

/// One piece of a piecewise function on `[breaks[i-1], breaks[i])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Piece {
    /// The constant 0.
    Zero,
    /// The identity x.
    Identity,
    /// The polynomial `sum coeffs[i] * x^i`.
    Poly(Vec<f64>),
}

/// An IR operation. Every op has one output value.
///
/// Elementwise binary ops broadcast numpy-style. Operands of `Add`/`Sub` have the same scale;
/// `Mul`/`MatMul` add the scales of their operands (the compiler inserts [`Op::Trunc`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    // ---- sources ----
    /// A graph input owned by `owner`; shared by the owner at run time.
    Input {
        /// Input name (the ONNX input name).
        name: String,
        /// Party that supplies the data.
        owner: PartyId,
        /// How the data is encoded before sharing.
        encoding: InputEncoding,
    },
    /// A tensor of the model owner's weights file, shared by the owner (or public).
    Weight {
        /// Name of the tensor in the weights file.
        name: String,
    },
    /// A public constant, encoded at the value's scale.
    Const {
        /// Values, row-major.
        values: Vec<f64>,
    },

    // ---- local arithmetic ----
    /// a + b.
    Add,
    /// a - b.
    Sub,
    /// -a.
    Neg,
    /// a * b, elementwise. Secret × secret costs one round.
    Mul,
    /// Batched matrix product `[.., m, k] x [.., k, n]`, batch dims broadcast.
    MatMul,
    /// Divide by `2^bits` (arithmetic shift). Secret: the truncation protocol.
    Trunc {
        /// Bits to drop.
        bits: u32,
    },
    /// Multiply by `2^bits` (local).
    Shl {
        /// Bits to shift in.
        bits: u32,
    },

    // ---- ring conversions (Ditto's mixed rings) ----
    /// Z_2^64 at scale s → Z_2^32 at scale `s - shift`: divide by `2^shift` as [`Op::Trunc`]
    /// does (a secret operand runs the truncation protocol, floor(x/2^shift) or one more; a
    /// public one shifts arithmetically), then keep the low 32 bits of each share (local).
    /// With `shift == 0` only the local drop runs, with no communication. The value is kept
    /// when the truncated result fits Z_2^32, `|x / 2^shift| < 2^31`; otherwise it wraps
    /// modulo 2^32.
    Downcast {
        /// Bits to truncate before the ring is narrowed (at most the operand's scale).
        shift: u32,
    },
    /// Z_2^32 at scale s → Z_2^64 at scale `s + shift`: lift the value into the big ring,
    /// then multiply by `2^shift` (local). A public operand is sign-extended. A secret one
    /// runs Ditto's protocol (the positive-range trick with a helper's correlated mask, the
    /// kernel `convert::upcast_share`: 2 rounds).
    ///
    /// **Precondition:** `|x| < 2^30` for the ring element x (|x| < 2^(k-2), k = 32; the ends
    /// ±2^30 are exact too). Beyond it a secret operand's result is still congruent to x modulo 2^32 but is off by
    /// ±2^32 with probability (|x| - 2^30) / 2^31; a public operand is always exact.
    Upcast {
        /// Bits to shift in after the ring is widened.
        shift: u32,
    },

    // ---- public shape ops (local) ----
    /// Same elements, new shape (the output type's shape).
    Reshape,
    /// Permute axes.
    Transpose {
        /// Output axis i is input axis `perm[i]`.
        perm: Vec<usize>,
    },
    /// `start..end` with `step` along `axis`.
    Slice {
        /// Axis.
        axis: usize,
        /// First index.
        start: usize,
        /// One past the last index.
        end: usize,
        /// Stride (≥ 1).
        step: usize,
    },
    /// Concatenate all operands along `axis`.
    Concat {
        /// Axis.
        axis: usize,
    },
    /// Broadcast to the output type's shape.
    Broadcast,
    /// Select `indices` along `axis` (public indices).
    Gather {
        /// Axis.
        axis: usize,
        /// Indices into that axis.
        indices: Vec<usize>,
    },
    /// Zero padding: `pads[i] = (before, after)` elements along axis i.
    Pad {
        /// Elements added before and after, per axis.
        pads: Vec<(usize, usize)>,
    },
    /// Sum over `axes`, keeping them as size-1 dims.
    ReduceSum {
        /// Axes to reduce.
        axes: Vec<usize>,
    },

    // ---- protocol kernels ----
    /// Bits `[x >= t]` for each threshold t (fixed point at the input scale). Output shape
    /// `[thresholds.len(), ..x]`, integers 0/1 at scale 0. All comparisons share rounds.
    Ge {
        /// Thresholds, real values.
        thresholds: Vec<f64>,
    },
    /// Multiply by bits: `a * b` where `b` holds 0/1 integers (scale 0), no truncation.
    /// Shares the round structure of `Mul`; kept apart so the cost report names selects.
    Select,
    /// max(x, 0).
    Relu,
    /// Maximum along `axis` (kept as size 1) by a comparison tree.
    MaxAxis {
        /// Axis.
        axis: usize,
    },
    /// `(1 + x / 2^iters)^(2^iters)`: Taylor/limit exp, PUMA's recipe.
    ExpTaylor {
        /// Number of squarings t.
        iters: u32,
    },
    /// 1/x for x > 0: normalise by the most significant bit, then Goldschmidt/Newton.
    Reciprocal {
        /// Newton iterations after the initial linear guess.
        iters: u32,
    },
    /// 1/sqrt(x) for x > 0: normalise by the most significant bit, then Newton.
    Rsqrt {
        /// Newton iterations after the initial linear guess.
        iters: u32,
    },
    /// 1/sqrt(x) for x > 0: normalise by the most significant bit, then Goldschmidt's
    /// coupled iteration (SecFormer, MPC-REFERENCE §2.4): `m = (3 - g) / 2`, `g <- g m²`,
    /// `y <- y m`, from the linear guess y and `g = u y²`.
    RsqrtGoldschmidt {
        /// Goldschmidt iterations after the initial linear guess.
        iters: u32,
    },
    /// `sum coeffs[i] * x^i`, powers by a log-depth tree, one truncation at the end.
    Poly {
        /// Coefficients, constant first.
        coeffs: Vec<f64>,
    },
    /// Piecewise function: `pieces[0]` below `breaks[0]`, `pieces[i]` on
    /// `[breaks[i-1], breaks[i])`, the last piece above the last break.
    /// `pieces.len() == breaks.len() + 1`.
    PiecewisePoly {
        /// Breakpoints, increasing.
        breaks: Vec<f64>,
        /// The pieces.
        pieces: Vec<Piece>,
    },
    /// Correlated randomness for [`Op::SinSeries`] with `terms` sine terms, made by the three
    /// parties from their own randomness before any input exists (no dealer, no operand): a
    /// random angle t that no party knows (row 0, in ring units: t / 2^k of a turn), then
    /// shares of `sin(2π j t / 2^k)` and `cos(2π j t / 2^k)` for j = 1..=terms (rows 2j - 1
    /// and 2j) at the value's scale ([`crate::typing::sin_prep_scale`]). Shape
    /// `[2 terms + 1, ..]`, where `..` is the shape of the `sin_series` operand it serves.
    SinPrep {
        /// Number of sine terms K.
        terms: u32,
    },
    /// `coeffs[0] + sum_j coeffs[j] sin(2π j x / period)`, j = 1..K (SecFormer's Fourier
    /// series, MPC-REFERENCE §2.4): one opening of `x - t` against the angle of its second
    /// operand, a [`Op::SinPrep`] of K terms, then local products and one truncation.
    SinSeries {
        /// The constant, then the K sine coefficients.
        coeffs: Vec<f64>,
        /// Period of the first term, in the units of x.
        period: f64,
    },
    /// Reveal the value to `to` as graph output `name`. The only op that reconstructs a secret.
    /// With `to` empty nothing is revealed: every party keeps its share as state named
    /// `name`, for a later run's [`InputEncoding::State`] input.
    Output {
        /// Output name (the ONNX output name).
        name: String,
        /// Parties that learn it.
        to: Vec<PartyId>,
    },

    // ---- high-level ops (lowered by passes, never in a plan) ----
    /// Exact GeLU, x * Phi(x).
    Gelu,
    /// erf(x).
    Erf,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + exp(-x)).
    Sigmoid,
    /// x * sigmoid(x).
    Silu,
    /// exp(x).
    Exp,
    /// Softmax along `axis`.
    Softmax {
        /// Axis.
        axis: usize,
    },
    /// x / sqrt(mean(x^2 over `axis`) + eps) (tract's RmsNorm; LayerNorm after centering).
    RmsNorm {
        /// Axis.
        axis: usize,
        /// Epsilon.
        eps: f64,
    },
    /// a / b elementwise with a secret divisor.
    Div,
    /// sqrt(x).
    Sqrt,
}

/// What kind of instruction an op is. [`Op::class`] is the one exhaustive list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// Brings data in: `input`, `weight`, `const`; the output type is declared.
    Source,
    /// No communication on any operand (linear arithmetic, shape ops).
    Local,
    /// A protocol kernel: communicates when an operand is secret.
    Protocol,
    /// Reconstructs a secret for the parties it names (`output`).
    Reveal,
    /// A high-level op that the passes must lower; never in a plan.
    HighLevel,
}

impl Op {
    /// The class of this op. Every variant is listed: a new op must say what it is.
    pub fn class(&self) -> OpClass {
        match self {
            Op::Input { .. } | Op::Weight { .. } | Op::Const { .. } | Op::SinPrep { .. } => {
                OpClass::Source
            }
            Op::Add
            | Op::Sub
            | Op::Neg
            | Op::Shl { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Concat { .. }
            | Op::Broadcast
            | Op::Gather { .. }
            | Op::Pad { .. }
            | Op::ReduceSum { .. } => OpClass::Local,
            Op::Mul
            | Op::MatMul
            | Op::Trunc { .. }
            | Op::Ge { .. }
            | Op::Select
            | Op::Relu
            | Op::MaxAxis { .. }
            | Op::ExpTaylor { .. }
            | Op::Reciprocal { .. }
            | Op::Rsqrt { .. }
            | Op::RsqrtGoldschmidt { .. }
            | Op::Poly { .. }
            | Op::PiecewisePoly { .. }
            | Op::SinSeries { .. }
            | Op::Downcast { .. }
            | Op::Upcast { .. } => OpClass::Protocol,
            Op::Output { .. } => OpClass::Reveal,
            Op::Gelu
            | Op::Erf
            | Op::Tanh
            | Op::Sigmoid
            | Op::Silu
            | Op::Exp
            | Op::Softmax { .. }
            | Op::RmsNorm { .. }
            | Op::Div
            | Op::Sqrt => OpClass::HighLevel,
        }
    }

    /// True when a plan may hold this op (the VM has a kernel for it).
    pub fn is_kernel(&self) -> bool {
        self.class() != OpClass::HighLevel
    }

    /// True for instructions that need no input or weight: correlated randomness the
    /// parties make before any input exists (`sin_prep`).
    pub fn input_independent(&self) -> bool {
        matches!(self, Op::SinPrep { .. })
    }

    /// True for sources, whose output type is declared rather than computed.
    pub fn is_source(&self) -> bool {
        self.class() == OpClass::Source
    }
    /// Lower-case name used in the text form and cost reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Weight { .. } => "weight",
            Op::Const { .. } => "const",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Neg => "neg",
            Op::Mul => "mul",
            Op::MatMul => "matmul",
            Op::Trunc { .. } => "trunc",
            Op::Shl { .. } => "shl",
            Op::Downcast { .. } => "downcast",
            Op::Upcast { .. } => "upcast",
            Op::Reshape => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice { .. } => "slice",
            Op::Concat { .. } => "concat",
            Op::Broadcast => "broadcast",
            Op::Gather { .. } => "gather",
            Op::ReduceSum { .. } => "reduce_sum",
            Op::Pad { .. } => "pad",
            Op::Ge { .. } => "ge",
            Op::Select => "select",
            Op::Relu => "relu",
            Op::MaxAxis { .. } => "max_axis",
            Op::ExpTaylor { .. } => "exp_taylor",
            Op::Reciprocal { .. } => "reciprocal",
            Op::Rsqrt { .. } => "rsqrt",
            Op::RsqrtGoldschmidt { .. } => "rsqrt_goldschmidt",
            Op::Poly { .. } => "poly",
            Op::PiecewisePoly { .. } => "piecewise_poly",
            Op::SinPrep { .. } => "sin_prep",
            Op::SinSeries { .. } => "sin_series",
            Op::Output { .. } => "output",
            Op::Gelu => "gelu",
            Op::Erf => "erf",
            Op::Tanh => "tanh",
            Op::Sigmoid => "sigmoid",
            Op::Silu => "silu",
            Op::Exp => "exp",
            Op::Softmax { .. } => "softmax",
            Op::RmsNorm { .. } => "rms_norm",
            Op::Div => "div",
            Op::Sqrt => "sqrt",
        }
    }

    /// Number of operands the op takes; `None` for variadic ops (`Concat`).
    pub fn arity(&self) -> Option<usize> {
        crate::typing::arity(self)
    }
}
