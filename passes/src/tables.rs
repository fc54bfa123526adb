//! The piecewise-polynomial tables of the activation recipes.
//!
//! PUMA's tables (GeLU, SiLU; policy `puma-paper`) are copied from MPC-REFERENCE §2.1 (puma_benchmarks
//! `bench_bert.py`, `bench_llama7b.py` `hack_silu`). PUMA/SPU evaluate tanh, erf and sigmoid
//! with other machinery (a degree-17 Chebyshev series, Abramowitz–Stegun with a reciprocal,
//! `1/(1+exp(-x))`); our kernels run piecewise polynomials, so those three use our own
//! tables in PUMA's style: clamp to ±1 (or 0/1) outside, an odd polynomial in the middle and
//! a degree-4 polynomial on each side, its mirror image on the other. They were fitted by
//! Chebyshev interpolation (mpmath `chebyfit`; the odd middle piece as a polynomial in x²
//! of f(x)/x). Rounding the coefficients to 18 fraction bits moves the tables by a few
//! 1e-4 (docs/PASSES.md gives the figures; `tests/bounds.rs` checks them).

use mpcc_ir::{Op, Piece};

/// One piece of a [`Piecewise`] table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PieceSpec {
    /// 0.
    Zero,
    /// x.
    Identity,
    /// `sum c[i] x^i`.
    Poly(&'static [f64]),
}

/// A piecewise polynomial: `pieces[i]` on `[breaks[i-1], breaks[i])`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Piecewise {
    /// Breakpoints, increasing.
    pub breaks: &'static [f64],
    /// One more piece than breaks.
    pub pieces: &'static [PieceSpec],
}

impl Piecewise {
    /// The `piecewise_poly` kernel op of this table.
    pub fn op(&self) -> Op {
        let pieces = self.pieces.iter().map(|p| match p {
            PieceSpec::Zero => Piece::Zero,
            PieceSpec::Identity => Piece::Identity,
            PieceSpec::Poly(c) => Piece::Poly(c.to_vec()),
        });
        Op::PiecewisePoly {
            breaks: self.breaks.to_vec(),
            pieces: pieces.collect(),
        }
    }
}

/// PUMA's GeLU: 0 below -4, F0 on [-4, -1.95), F1 on [-1.95, 3), x above.
pub const PUMA_GELU: Piecewise = Piecewise {
    breaks: &[-4.0, -1.95, 3.0],
    pieces: &[
        PieceSpec::Zero,
        PieceSpec::Poly(&[
            -0.5054031199708174,
            -0.42226581151983866,
            -0.11807612951181953,
            -0.011034134030615728,
        ]),
        PieceSpec::Poly(&[
            0.008526321541038084,
            0.5,
            0.3603292692789629,
            0.0,
            -0.037688200365904236,
            0.0,
            0.0018067462606141187,
        ]),
        PieceSpec::Identity,
    ],
};

/// mpcc's refit of PUMA's GeLU: the same pieces and breaks (0 below -4, a cubic on
/// [-4, -1.95), 0.5x plus an even polynomial on [-1.95, 3), x above), coefficients fitted by
/// mpcc (minimax by iteratively reweighted least squares), with the middle piece taken to
/// degree 8: x⁸ = (x⁴)² is computed in the same round as x⁶ = (x³)², so it costs one more
/// product per element and no round. |err| ≤ 4.05e-3 on ℝ (at x = 3, where GeLU meets x),
/// 1.9e-3 at 0, and a mean error under N(0, 1) inputs of 1.2e-3 against PUMA's 5.2e-3.
/// PUMA's verbatim table (policy `puma-paper`) costs all-MiniLM-L6-v2 its 0.9995 cosine.
pub const MPCC_GELU: Piecewise = Piecewise {
    breaks: &[-4.0, -1.95, 3.0],
    pieces: &[
        PieceSpec::Zero,
        PieceSpec::Poly(&[
            -0.49782581704094125,
            -0.4133998355367484,
            -0.11491589756227673,
            -0.010673950107344399,
        ]),
        PieceSpec::Poly(&[
            0.0018684796724158746,
            0.5,
            0.38682641487461716,
            0.0,
            -0.05365291655887876,
            0.0,
            0.004843063127211077,
            0.0,
            -0.0001789252364725047,
        ]),
        PieceSpec::Identity,
    ],
};

/// PUMA's `hack_silu`: 0 below -8, a quadratic on [-8, -4), degree 6 on [-4, 4), x above.
pub const PUMA_SILU: Piecewise = Piecewise {
    breaks: &[-8.0, -4.0, 4.0],
    pieces: &[
        PieceSpec::Zero,
        PieceSpec::Poly(&[
            -0.3067541139982155,
            -0.0819767021525476,
            -0.0055465625580307,
        ]),
        PieceSpec::Poly(&[
            0.0085064025895951,
            0.5,
            0.228143084172827,
            0.0,
            -0.011113046708173,
            0.0,
            0.0002743776353465,
        ]),
        PieceSpec::Identity,
    ],
};

/// mpcc's SiLU: 0 below -8, a quartic P on [-8, -3), 0.5x plus an even polynomial of
/// degree 8 on [-3, 3), `x + P(-x)` on [3, 8) (SiLU(x) = x + SiLU(-x)), x above.
/// Coefficients fitted by mpcc (minimax by iteratively reweighted least squares, as
/// [`MPCC_GELU`]). |err| ≤ 2.7e-3 on ℝ, at ±8 where the clamps meet 8 σ(-8); 3.2e-4 on
/// [-8, 8); mean 1.9e-4 under N(0, 4) inputs. PUMA's `hack_silu` ([`PUMA_SILU`], policy
/// `puma-paper`) is off by 7.2e-2 just above 4, which costs SmolLM2-135M a logit cosine of
/// 0.993 against onnxruntime. Its powers (2, 3, 4, 6, 8) are GeLU's: three tree levels, as
/// PUMA's table. The clamps stay at ±8 (moving them to ±10 would cut the error at the
/// clamps to 4.5e-4 but double the kernel's domain shift, x/8 instead of x/4, and its
/// degree-8 term would then lose 3e-3 to the fixed point).
pub const MPCC_SILU: Piecewise = Piecewise {
    breaks: &[-8.0, -3.0, 3.0, 8.0],
    pieces: &[
        PieceSpec::Zero,
        PieceSpec::Poly(&[
            -0.7035267343420274,
            -0.3130898857322066,
            -0.05301574299986202,
            -0.004000194044528636,
            -0.00011200645151315802,
        ]),
        PieceSpec::Poly(&[
            0.00031732601877904965,
            0.5,
            0.24795663029207846,
            0.0,
            -0.018680577054487127,
            0.0,
            0.0012233184563442898,
            0.0,
            -3.859106757542197e-05,
        ]),
        PieceSpec::Poly(&[
            -0.7035267343420274,
            1.3130898857322066,
            -0.05301574299986202,
            0.004000194044528636,
            -0.00011200645151315802,
        ]),
        PieceSpec::Identity,
    ],
};

/// tanh: ±1 beyond ±4, degree 4 on [1.5, 4) and its mirror, odd degree 7 on [-1.5, 1.5).
pub const TANH: Piecewise = Piecewise {
    breaks: &[-4.0, -1.5, 1.5, 4.0],
    pieces: &[
        PieceSpec::Poly(&[-1.0]),
        PieceSpec::Poly(&[
            -0.17922761247484123,
            0.94197805304627,
            0.4145174028101303,
            0.08215405484097323,
            0.006147204752517011,
        ]),
        PieceSpec::Poly(&[
            0.0,
            0.9989209430407929,
            0.0,
            -0.31754944229851356,
            0.0,
            0.0928331505689275,
            0.0,
            -0.013303464016444012,
        ]),
        PieceSpec::Poly(&[
            0.17922761247484123,
            0.94197805304627,
            -0.4145174028101303,
            0.08215405484097323,
            -0.006147204752517011,
        ]),
        PieceSpec::Poly(&[1.0]),
    ],
};

/// erf: ±1 beyond ±2.5, degree 4 on [1, 2.5) and its mirror, odd degree 5 on [-1, 1).
pub const ERF: Piecewise = Piecewise {
    breaks: &[-2.5, -1.0, 1.0, 2.5],
    pieces: &[
        PieceSpec::Poly(&[-1.0]),
        PieceSpec::Poly(&[
            0.27730494318067433,
            2.1215002072471965,
            1.3437836452571121,
            0.3837795933510995,
            0.041596544671600746,
        ]),
        PieceSpec::Poly(&[
            0.0,
            1.127745162723235,
            0.0,
            -0.364585497002861,
            0.0,
            0.080065297792251,
        ]),
        PieceSpec::Poly(&[
            -0.27730494318067433,
            2.1215002072471965,
            -1.3437836452571121,
            0.3837795933510995,
            -0.041596544671600746,
        ]),
        PieceSpec::Poly(&[1.0]),
    ],
};

/// sigmoid: 0 below -7, 1 above 7, degree 4 on [2, 7) and its mirror about (0, 1/2),
/// 1/2 + odd degree 5 on [-2, 2).
pub const SIGMOID: Piecewise = Piecewise {
    breaks: &[-7.0, -2.0, 2.0, 7.0],
    pieces: &[
        PieceSpec::Zero,
        PieceSpec::Poly(&[
            0.5272138437274047,
            0.3374962431378916,
            0.08411675780542664,
            0.009542608361272801,
            0.00041143004879694024,
        ]),
        PieceSpec::Poly(&[
            0.5,
            0.2497523111232137,
            0.0,
            -0.01969364278335804,
            0.0,
            0.0012248168346598238,
        ]),
        PieceSpec::Poly(&[
            0.47278615627259535,
            0.3374962431378916,
            -0.08411675780542664,
            0.009542608361272801,
            -0.00041143004879694024,
        ]),
        PieceSpec::Poly(&[1.0]),
    ],
};
