//! Approximation recipes as data: one enum per kind of op ([`SoftmaxRecipe`],
//! [`ActivationRecipe`], [`NormRecipe`], [`ExpRecipe`], [`ReciprocalRecipe`],
//! [`SqrtRecipe`]) whose variants are the ways to lower it, the tables and iteration counts
//! they carry, and [`Recipes`], one recipe per kind (a policy's, or one node's). A new
//! recipe is a new variant plus its lowering, and a name in [`crate::policy::RECIPES`].
//!
//! The piecewise tables are in [`crate::tables`].

pub use crate::tables::*;
use mpcc_ir::Op;

/// How to lower a softmax.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SoftmaxRecipe {
    /// PUMA's `hack_softmax`: subtract the row maximum, zero the entries below
    /// `max - cutoff`, Taylor exp `(1 + x/2^t)^(2^t)` with `exp_iters` squarings, one
    /// reciprocal per row (`reciprocal_iters` iterations), a broadcast multiply.
    MaxExp {
        /// Squarings of the Taylor exp.
        exp_iters: u32,
        /// Inputs below `max - cutoff` give 0.
        cutoff: f64,
        /// Iterations of the reciprocal kernel.
        reciprocal_iters: u32,
    },
    /// mpcc's softmax: as [`SoftmaxRecipe::MaxExp`] (row maximum, cut-off, one reciprocal
    /// per row), but `e^d` for `d = x - max` as `p(d / 2^t)^(2^t)`, with p the Taylor
    /// polynomial of e of degree `degree` (one `poly` kernel on `d / 2^t`, read at t more
    /// fraction bits for free) and `t = squarings` squarings. With degree 4 and 4 squarings
    /// the exp costs 6 multiplication levels instead of `puma`'s 10 and is more accurate
    /// (`lower_softmax`'s doc has the figures).
    MaxPolyExp {
        /// Degree of the Taylor polynomial (even, so that it is positive on ℝ).
        degree: u32,
        /// Squarings after the polynomial.
        squarings: u32,
        /// Inputs below `max - cutoff` give 0.
        cutoff: f64,
        /// Iterations of the reciprocal kernel.
        reciprocal_iters: u32,
    },
    /// MPCFormer's 2Quad (MPC-REFERENCE §2.3): `(x + shift)² / Σ(x + shift)²` over the row,
    /// one reciprocal per row (`reciprocal_iters` iterations) and a broadcast multiply. No
    /// max, no exp, no comparison. Not a softmax approximation: a model must be retrained
    /// (distilled) with it (see `lower_softmax`'s doc for its error and cost).
    Quad {
        /// The constant added before squaring (MPCFormer: 5).
        shift: f64,
        /// Iterations of the reciprocal kernel.
        reciprocal_iters: u32,
    },
    /// MPCViT's ReLU-softmax (MPC-REFERENCE §2.5): `ReLU(x) / (Σ ReLU(x) + eps)` over the
    /// row, one reciprocal per row. Retrain-required, as 2Quad.
    ReluNorm {
        /// Added to the row sum (MPCViT: 1e-5).
        eps: f64,
        /// Iterations of the reciprocal kernel.
        reciprocal_iters: u32,
    },
    /// MPCViT's scaling attention (MPC-REFERENCE §2.5): `x / n`, n the row length. Linear:
    /// no comparison, no reciprocal. Retrain-required.
    Scale,
}

/// How to lower one elementwise activation (GeLU, erf, tanh, sigmoid or SiLU).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActivationRecipe {
    /// One `piecewise_poly` kernel with this table.
    Piecewise(Piecewise),
    /// One `poly` kernel: `sum c[i] x^i`, coefficients constant first, on all of ℝ.
    Poly(&'static [f64]),
    /// SecFormer's erf (MPC-REFERENCE §2.4): `sum_j coeffs[j-1] sin(j π z / 10)` on
    /// `[-clip, clip)`, -1 below and 1 above, by the sine protocol (`sin_prep`,
    /// `sin_series`) and two comparisons. For GeLU, `0.5 x (1 + erf(x / √2))`.
    FourierErf(&'static FourierErf),
}

/// A Fourier-series erf ([`ActivationRecipe::FourierErf`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FourierErf {
    /// The sine coefficients β_1..β_K of `sin(j π z / half_period)`.
    pub coeffs: &'static [f64],
    /// Half the period of the first term, in units of z (SecFormer: 10).
    pub half_period: f64,
    /// The series holds on `[-clip, clip)`; erf is ±1 outside (SecFormer: 2.5).
    pub clip: f64,
}

/// SecFormer's erf series (`operation/*.py` of its repository; MPC-REFERENCE §2.4).
pub const SECFORMER_ERF: FourierErf = FourierErf {
    coeffs: &[
        1.25772, -0.0299154, 0.382155, -0.0519123, 0.196033, -0.0624557, 0.118029,
    ],
    half_period: 10.0,
    clip: 2.5,
};

/// How to lower an RMS norm (`x / sqrt(mean(x²) + eps)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormRecipe {
    /// `x · rsqrt(sum(x²)·(1/n) + eps)`: one rsqrt kernel (`iters` iterations) per row.
    Rsqrt {
        /// Iterations of the rsqrt kernel.
        iters: u32,
    },
    /// As [`NormRecipe::Rsqrt`] with the `rsqrt_goldschmidt` kernel (SecFormer's
    /// Goldschmidt iteration after the normalisation).
    GoldschmidtRsqrt {
        /// Goldschmidt iterations.
        iters: u32,
    },
}

/// How to lower a bare `exp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExpRecipe {
    /// `(1 + x/2^iters)^(2^iters)`: the `exp_taylor` kernel.
    Taylor {
        /// Squarings.
        iters: u32,
    },
}

/// How to lower a division by a secret (a public constant divisor needs no recipe).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReciprocalRecipe {
    /// `a · reciprocal(b)` with the runtime's reciprocal kernel.
    Kernel {
        /// Iterations of the reciprocal kernel.
        iters: u32,
    },
}

/// How to lower a `sqrt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SqrtRecipe {
    /// `x · rsqrt(x)` (SPU's recipe).
    TimesRsqrt {
        /// Iterations of the rsqrt kernel.
        iters: u32,
    },
}

/// The high-level ops a recipe lowers, one kind per recipe slot of [`Recipes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecipeKind {
    /// `softmax`.
    Softmax,
    /// `gelu`.
    Gelu,
    /// `erf`.
    Erf,
    /// `tanh`.
    Tanh,
    /// `sigmoid`.
    Sigmoid,
    /// `silu`.
    Silu,
    /// `rms_norm`.
    RmsNorm,
    /// `exp`.
    Exp,
    /// `div`.
    Div,
    /// `sqrt`.
    Sqrt,
}

impl RecipeKind {
    /// The kind of recipe that lowers `op`; `None` for ops that no recipe lowers. Every op
    /// is listed, so a new high-level op must say which recipe lowers it.
    pub fn of(op: &Op) -> Option<RecipeKind> {
        Some(match op {
            Op::Softmax { .. } => RecipeKind::Softmax,
            Op::Gelu => RecipeKind::Gelu,
            Op::Erf => RecipeKind::Erf,
            Op::Tanh => RecipeKind::Tanh,
            Op::Sigmoid => RecipeKind::Sigmoid,
            Op::Silu => RecipeKind::Silu,
            Op::RmsNorm { .. } => RecipeKind::RmsNorm,
            Op::Exp => RecipeKind::Exp,
            Op::Div => RecipeKind::Div,
            Op::Sqrt => RecipeKind::Sqrt,
            Op::Input { .. }
            | Op::Weight { .. }
            | Op::Const { .. }
            | Op::Add
            | Op::Sub
            | Op::Neg
            | Op::Mul
            | Op::MatMul
            | Op::Trunc { .. }
            | Op::Shl { .. }
            | Op::Downcast { .. }
            | Op::Upcast { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Concat { .. }
            | Op::Broadcast
            | Op::Gather { .. }
            | Op::Pad { .. }
            | Op::ReduceSum { .. }
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
            | Op::SinPrep { .. }
            | Op::SinSeries { .. }
            | Op::Output { .. } => return None,
        })
    }

    /// The IR name of the op this kind lowers (`softmax`, `gelu`, …).
    pub fn op_name(self) -> &'static str {
        match self {
            RecipeKind::Softmax => "softmax",
            RecipeKind::Gelu => "gelu",
            RecipeKind::Erf => "erf",
            RecipeKind::Tanh => "tanh",
            RecipeKind::Sigmoid => "sigmoid",
            RecipeKind::Silu => "silu",
            RecipeKind::RmsNorm => "rms_norm",
            RecipeKind::Exp => "exp",
            RecipeKind::Div => "div",
            RecipeKind::Sqrt => "sqrt",
        }
    }
}

/// One recipe for one kind of op: what a name in [`crate::policy::RECIPES`] stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Recipe {
    /// For `softmax`.
    Softmax(SoftmaxRecipe),
    /// For `gelu`.
    Gelu(ActivationRecipe),
    /// For `erf`.
    Erf(ActivationRecipe),
    /// For `tanh`.
    Tanh(ActivationRecipe),
    /// For `sigmoid`.
    Sigmoid(ActivationRecipe),
    /// For `silu`.
    Silu(ActivationRecipe),
    /// For `rms_norm`.
    RmsNorm(NormRecipe),
    /// For `exp`.
    Exp(ExpRecipe),
    /// For `div` by a secret.
    Div(ReciprocalRecipe),
    /// For `sqrt`.
    Sqrt(SqrtRecipe),
}

impl Recipe {
    /// The kind of op this recipe lowers.
    pub fn kind(&self) -> RecipeKind {
        match self {
            Recipe::Softmax(_) => RecipeKind::Softmax,
            Recipe::Gelu(_) => RecipeKind::Gelu,
            Recipe::Erf(_) => RecipeKind::Erf,
            Recipe::Tanh(_) => RecipeKind::Tanh,
            Recipe::Sigmoid(_) => RecipeKind::Sigmoid,
            Recipe::Silu(_) => RecipeKind::Silu,
            Recipe::RmsNorm(_) => RecipeKind::RmsNorm,
            Recipe::Exp(_) => RecipeKind::Exp,
            Recipe::Div(_) => RecipeKind::Div,
            Recipe::Sqrt(_) => RecipeKind::Sqrt,
        }
    }
}

/// One recipe per kind of op: a policy's recipes, or the recipes chosen for one node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipes {
    /// Softmax.
    pub softmax: SoftmaxRecipe,
    /// GeLU.
    pub gelu: ActivationRecipe,
    /// erf.
    pub erf: ActivationRecipe,
    /// tanh.
    pub tanh: ActivationRecipe,
    /// The logistic sigmoid.
    pub sigmoid: ActivationRecipe,
    /// SiLU, x·sigmoid(x).
    pub silu: ActivationRecipe,
    /// RMS norm (and LayerNorm after centering).
    pub rms_norm: NormRecipe,
    /// A bare exp.
    pub exp: ExpRecipe,
    /// Division by a secret.
    pub div: ReciprocalRecipe,
    /// Square root.
    pub sqrt: SqrtRecipe,
}

impl Recipes {
    /// The recipe for `kind`.
    pub fn get(&self, kind: RecipeKind) -> Recipe {
        match kind {
            RecipeKind::Softmax => Recipe::Softmax(self.softmax),
            RecipeKind::Gelu => Recipe::Gelu(self.gelu),
            RecipeKind::Erf => Recipe::Erf(self.erf),
            RecipeKind::Tanh => Recipe::Tanh(self.tanh),
            RecipeKind::Sigmoid => Recipe::Sigmoid(self.sigmoid),
            RecipeKind::Silu => Recipe::Silu(self.silu),
            RecipeKind::RmsNorm => Recipe::RmsNorm(self.rms_norm),
            RecipeKind::Exp => Recipe::Exp(self.exp),
            RecipeKind::Div => Recipe::Div(self.div),
            RecipeKind::Sqrt => Recipe::Sqrt(self.sqrt),
        }
    }

    /// Replaces the recipe of `recipe`'s kind.
    pub fn set(&mut self, recipe: Recipe) {
        match recipe {
            Recipe::Softmax(r) => self.softmax = r,
            Recipe::Gelu(r) => self.gelu = r,
            Recipe::Erf(r) => self.erf = r,
            Recipe::Tanh(r) => self.tanh = r,
            Recipe::Sigmoid(r) => self.sigmoid = r,
            Recipe::Silu(r) => self.silu = r,
            Recipe::RmsNorm(r) => self.rms_norm = r,
            Recipe::Exp(r) => self.exp = r,
            Recipe::Div(r) => self.div = r,
            Recipe::Sqrt(r) => self.sqrt = r,
        }
    }
}

/// PUMA's softmax with 10 exp squarings (SPU's default `fxp_exp_iters` is 8; with 8,
/// all-MiniLM-L6-v2's sentence embedding misses a 0.9995 cosine, with 10 it reaches 0.99998),
/// cut-off 14 (PUMA `hack_softmax`) and 3 reciprocal iterations (SPU uses 2 Goldschmidt
/// steps, "about 14 bits"; one more is cheap since it runs once per row).
pub const PUMA_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::MaxExp {
    exp_iters: 10,
    cutoff: 14.0,
    reciprocal_iters: 3,
};

/// mpcc's softmax ([`SoftmaxRecipe::MaxPolyExp`]), `puma`'s since it is both cheaper and
/// more accurate than [`PUMA_SOFTMAX`]: the exp as the degree-4 Taylor polynomial of d/16,
/// squared 4 times (6 multiplication levels against 10; worst row of 128 off by 2.9e-4
/// against 3.4e-3); PUMA's cut-off 14; 2 reciprocal iterations (relative error 0.0858^4 =
/// 5.4e-5, SPU's count). all-MiniLM-L6-v2 at sequence 128 (with [`MPCC_RMS_NORM`]): 2.04 GB
/// and 1,501 rounds against 2.20 GB and 1,657, cosine 0.999975 against 0.999974.
pub const MPCC_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::MaxPolyExp {
    degree: 4,
    squarings: 4,
    cutoff: 14.0,
    reciprocal_iters: 2,
};

/// [`MPCC_SOFTMAX`] with one reciprocal iteration instead of two: 3 rounds fewer per softmax,
/// each row's sum inverted within a relative `0.0858^2 = 7.4e-3` (a common factor of the
/// row). A cheaper choice for `mpcc tune` where a layer tolerates it.
pub const MPCC_FAST_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::MaxPolyExp {
    degree: 4,
    squarings: 4,
    cutoff: 14.0,
    reciprocal_iters: 1,
};

/// PUMA's softmax as SPU runs it: SPU's default 8 exp squarings.
pub const PUMA_PAPER_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::MaxExp {
    exp_iters: 8,
    cutoff: 14.0,
    reciprocal_iters: 3,
};

/// A bare exp with 10 squarings (as [`PUMA_SOFTMAX`]).
pub const PUMA_EXP: ExpRecipe = ExpRecipe::Taylor { iters: 10 };

/// A bare exp with SPU's default 8 squarings.
pub const PUMA_PAPER_EXP: ExpRecipe = ExpRecipe::Taylor { iters: 8 };

/// RMS norm with 3 rsqrt iterations (once per row).
pub const PUMA_RMS_NORM: NormRecipe = NormRecipe::Rsqrt { iters: 3 };

/// RMS norm with 2 rsqrt iterations (`puma`'s): relative error 2.0e-4 instead of 5.7e-8 for
/// 3, 6 fewer rounds per norm; all-MiniLM-L6-v2 keeps its 0.999977 cosine and SmolLM2-135M
/// its 13 of 13 argmax positions (cosine ≥ 0.99997).
pub const MPCC_RMS_NORM: NormRecipe = NormRecipe::Rsqrt { iters: 2 };

/// [`MPCC_RMS_NORM`] with one rsqrt iteration instead of two: 6 rounds fewer per norm, each
/// row's scale within a relative 1.14e-2 (a common factor of the row). A cheaper choice for
/// `mpcc tune` where a layer tolerates it.
pub const MPCC_FAST_RMS_NORM: NormRecipe = NormRecipe::Rsqrt { iters: 1 };

/// SecFormer's LayerNorm (MPC-REFERENCE §2.4): the rsqrt by Goldschmidt's iteration, 3 of
/// them after mpcc's normalisation and linear guess (SecFormer runs 7 from y = 1 on inputs
/// in (0, 3), with no normalisation).
pub const SECFORMER_RMS_NORM: NormRecipe = NormRecipe::GoldschmidtRsqrt { iters: 3 };

/// Division with 3 reciprocal iterations.
pub const PUMA_DIV: ReciprocalRecipe = ReciprocalRecipe::Kernel { iters: 3 };

/// Square root with 3 rsqrt iterations.
pub const PUMA_SQRT: SqrtRecipe = SqrtRecipe::TimesRsqrt { iters: 3 };

/// PUMA's policy, with mpcc's refit GeLU and SiLU ([`MPCC_GELU`], [`MPCC_SILU`]), mpcc's
/// softmax exp (a Taylor polynomial and 3 squarings, [`MPCC_SOFTMAX`], 2 reciprocal
/// iterations), a bare exp of 10 squarings ([`PUMA_EXP`]), RMS norm and LayerNorm with 2
/// rsqrt iterations ([`MPCC_RMS_NORM`]); division and sqrt: 3 iterations.
/// `puma-paper` has PUMA's own GeLU and SiLU and SPU's 8 squarings.
pub const PUMA: Recipes = Recipes {
    softmax: MPCC_SOFTMAX,
    gelu: ActivationRecipe::Piecewise(MPCC_GELU),
    erf: ActivationRecipe::Piecewise(ERF),
    tanh: ActivationRecipe::Piecewise(TANH),
    sigmoid: ActivationRecipe::Piecewise(SIGMOID),
    silu: ActivationRecipe::Piecewise(MPCC_SILU),
    rms_norm: MPCC_RMS_NORM,
    exp: PUMA_EXP,
    div: PUMA_DIV,
    sqrt: PUMA_SQRT,
};

/// PUMA's recipes as SPU runs them: PUMA's published GeLU and SiLU coefficients verbatim
/// ([`PUMA_GELU`], [`PUMA_SILU`]) and SPU's default 8 exp squarings (softmax and bare exp).
pub const PUMA_PAPER: Recipes = Recipes {
    softmax: PUMA_PAPER_SOFTMAX,
    gelu: ActivationRecipe::Piecewise(PUMA_GELU),
    silu: ActivationRecipe::Piecewise(PUMA_SILU),
    exp: PUMA_PAPER_EXP,
    ..PUMA
};

/// MPCFormer's Quad GeLU in the paper's form, as Ditto copies it (MPC-REFERENCE §2.3,
/// `gelu_quad`): `0.125x² + 0.25x + 0.5`. One `poly` kernel of degree 2. A retrain-required
/// replacement, not an approximation: |err| vs GeLU is 0.56 on [-2, 2] (at x ≈ -0.52; 0.5 at
/// 0) and 1.50 on [-4, 4] (at -4), growing as 0.125x² outside.
pub const MPCFORMER_GELU: ActivationRecipe = ActivationRecipe::Poly(&[0.5, 0.25, 0.125]);

/// MPCFormer's Quad GeLU as its repository computes it (`src/benchmark/utils.py`):
/// `0.125x² + 0.5x + 0.25`. |err| vs GeLU is 0.25 on [-4, 4] (at 0 and -4), growing as
/// 0.125x² outside. For checkpoints distilled with the repository's code.
pub const MPCFORMER_REPO_GELU: ActivationRecipe = ActivationRecipe::Poly(&[0.25, 0.5, 0.125]);

/// MPCFormer's 2Quad softmax `(x + 5)² / Σ(x + 5)²` with 3 reciprocal iterations (as
/// [`PUMA_SOFTMAX`]; MPCFormer divides with CrypTen's Newton reciprocal).
pub const MPCFORMER_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::Quad {
    shift: 5.0,
    reciprocal_iters: 3,
};

/// MPCViT's ReLU-softmax attention `ReLU(x) / (Σ ReLU(x) + 1e-5)` with 3 reciprocal
/// iterations.
pub const MPCVIT_RELU_SOFTMAX: SoftmaxRecipe = SoftmaxRecipe::ReluNorm {
    eps: 1e-5,
    reciprocal_iters: 3,
};

/// MPCViT's scaling attention `x / n`.
pub const MPCVIT_SCALING: SoftmaxRecipe = SoftmaxRecipe::Scale;

/// MPCViT's recipes (MPC-REFERENCE §2.5): every attention softmax as ReLU-softmax
/// ([`MPCVIT_RELU_SOFTMAX`]) unless an attention map or overrides give a head scaling
/// attention or the softmax; the other ops keep [`PUMA`]'s. Only for models trained with
/// them.
pub const MPCVIT: Recipes = Recipes {
    softmax: MPCVIT_RELU_SOFTMAX,
    ..PUMA
};

/// MPCFormer's recipes (MPC-REFERENCE §2.3): 2Quad softmax ([`MPCFORMER_SOFTMAX`]) and Quad
/// GeLU in the paper's form ([`MPCFORMER_GELU`]); the other ops keep [`PUMA`]'s recipes
/// (MPCFormer runs them with CrypTen's defaults). Only for models distilled with these
/// replacements.
pub const MPCFORMER: Recipes = Recipes {
    softmax: MPCFORMER_SOFTMAX,
    gelu: MPCFORMER_GELU,
    ..PUMA
};

/// SecFormer's choice (MPC-REFERENCE §2.4): retrain the softmax only, as 2Quad
/// ([`MPCFORMER_SOFTMAX`]: SecFormer's numerator is the same `(x + 5)²` and it divides by
/// Goldschmidt, as the reciprocal kernel does after normalising; 3 iterations already reach
/// 18 fraction bits, so SecFormer's 7 would buy nothing here), and SecFormer's GeLU,
/// `0.5x(1 + erf(x/√2))` with a 7-term Fourier series for erf on the sine protocol
/// ([`SECFORMER_GELU`]). Everything else is [`PUMA`]'s.
pub const SECFORMER: Recipes = Recipes {
    softmax: MPCFORMER_SOFTMAX,
    gelu: SECFORMER_GELU,
    rms_norm: SECFORMER_RMS_NORM,
    ..PUMA
};

/// SecFormer's GeLU: `0.5 x (1 + erf(x / √2))` with [`SECFORMER_ERF`].
pub const SECFORMER_GELU: ActivationRecipe = ActivationRecipe::FourierErf(&SECFORMER_ERF);
