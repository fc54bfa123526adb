//! The approximation kernels' plaintext references and error bounds ([`plain`]): exactly
//! what the protocols of `poly`, `piecewise_poly`, `exp_taylor` ([`super::poly`]),
//! `reciprocal` and `rsqrt` ([`super::invert`]) approximate, in f64. The op table computes
//! public operands with them; tests check the protocols against them.
//!
//! Every kernel keeps the input's ring and scale f. Each protocol's doc comment states its
//! rounds, bytes, valid input range and error bound against its [`plain`] reference.

/// Plaintext references of the kernels (exactly what each protocol approximates, in f64),
/// used for public operands and by tests, and the kernels' documented error bounds.
pub mod plain {
    use crate::kernels::invert::RSQRT_GUESS_ERR;
    use crate::kernels::invert::{RECIP_GUESS, RECIP_GUESS_ERR, RSQRT_A, RSQRT_B};
    use crate::kernels::poly::{domain_shift, exp_base_exact};
    use mpcc_ir::{Piece, Ring};

    /// `sum coeffs[i] x^i`.
    pub fn poly(coeffs: &[f64], x: f64) -> f64 {
        coeffs.iter().rev().fold(0.0, |acc, c| acc * x + c)
    }

    /// `(1 + x / 2^t)^(2^t)`.
    pub fn exp_taylor(x: f64, t: u32) -> f64 {
        let mut y = 1.0 + x / (t as f64).exp2();
        for _ in 0..t {
            y *= y;
        }
        y
    }

    /// The piece that x selects: `pieces[j]` with j the number of breaks `<= x`.
    pub fn piece_index(breaks: &[f64], x: f64) -> usize {
        breaks.iter().take_while(|b| x >= **b).count()
    }

    /// A piece as polynomial coefficients.
    pub fn piece_coeffs(piece: &Piece) -> Vec<f64> {
        match piece {
            Piece::Zero => vec![0.0],
            Piece::Identity => vec![0.0, 1.0],
            Piece::Poly(c) => c.clone(),
        }
    }

    /// The piecewise function: `pieces[0]` below `breaks[0]`, `pieces[i]` on
    /// `[breaks[i-1], breaks[i])`, the last piece from the last break on.
    pub fn piecewise(breaks: &[f64], pieces: &[Piece], x: f64) -> f64 {
        pieces
            .get(piece_index(breaks, x))
            .map_or(0.0, |p| poly(&piece_coeffs(p), x))
    }

    /// `(u, e)` with `x = u 2^e`, u in `[0.5, 1)`, for a positive normal x.
    fn binade(x: f64) -> (f64, i32) {
        let e = ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022;
        (x * (-e as f64).exp2(), e)
    }

    /// Goldschmidt's 1/u on `[0.5, 1)`: guess `2.9142 - 2u`, then `iters` steps.
    pub fn goldschmidt(u: f64, iters: u32) -> f64 {
        let mut r = RECIP_GUESS - 2.0 * u;
        let mut e = 1.0 - u * r;
        for _ in 0..iters {
            r *= 1.0 + e;
            e *= e;
        }
        r
    }

    /// The reciprocal kernel's result in f64: normalise x to u in `[0.5, 1)`, Goldschmidt,
    /// scale back. 0 for x <= 0 (outside the valid range).
    pub fn reciprocal(x: f64, iters: u32) -> f64 {
        if x <= 0.0 || !x.is_normal() {
            return 0.0;
        }
        let (u, e) = binade(x);
        goldschmidt(u, iters) * (-e as f64).exp2()
    }

    /// Newton's 1/sqrt(u) on `[0.25, 1)`: linear minimax guess, then `iters` steps.
    pub fn newton_rsqrt(u: f64, iters: u32) -> f64 {
        let mut y = RSQRT_A - RSQRT_B * u;
        for _ in 0..iters {
            y = y * (3.0 - u * y * y) / 2.0;
        }
        y
    }

    /// The rsqrt kernel's result in f64: `x = u 4^m` with u in `[0.25, 1)`, Newton, times
    /// `2^-m`. 0 for x <= 0 (outside the valid range).
    pub fn rsqrt(x: f64, iters: u32) -> f64 {
        if x <= 0.0 || !x.is_normal() {
            return 0.0;
        }
        let (_, e) = binade(x);
        let m = (e + 1).div_euclid(2);
        let u = x * ((-2 * m) as f64).exp2();
        newton_rsqrt(u, iters) * (-m as f64).exp2()
    }

    /// The `rsqrt_goldschmidt` kernel's iteration in f64: the same normalisation and guess
    /// as [`rsqrt`], then `iters` Goldschmidt steps `m = (3 - g)/2`, `g <- g m²`,
    /// `y <- y m` from `g = u y²`.
    pub fn rsqrt_goldschmidt(x: f64, iters: u32) -> f64 {
        if x <= 0.0 || !x.is_normal() {
            return 0.0;
        }
        let (_, e) = binade(x);
        let m = (e + 1).div_euclid(2);
        let u = x * ((-2 * m) as f64).exp2();
        let mut y = RSQRT_A - RSQRT_B * u;
        let mut g = u * y * y;
        for _ in 0..iters {
            let k = (3.0 - g) / 2.0;
            y *= k;
            g *= k * k;
        }
        y * (-m as f64).exp2()
    }

    /// Relative error of [`reciprocal`] against 1/x: `0.0858^(2^iters)`.
    pub fn reciprocal_rel_error(iters: u32) -> f64 {
        RECIP_GUESS_ERR.powi(1 << iters.min(30))
    }

    /// Relative error of [`rsqrt`] against 1/sqrt(x): `d_iters` with `d_0 = 0.08596`,
    /// `d_{j+1} = 1.5 d_j^2 + 0.5 d_j^3`.
    pub fn rsqrt_rel_error(iters: u32) -> f64 {
        (0..iters).fold(RSQRT_GUESS_ERR, |d, _| 1.5 * d * d + 0.5 * d * d * d)
    }

    /// Error bound of the `poly` kernel at x against [`poly`]: [`poly_bound_shifted`] with
    /// no domain shift, `2^-f (1.5 + |x|/2 + sum_{i>=2} (|c_i| i M^(i-1) + M^i / 2))`,
    /// `M = max(1, |x|)`.
    pub fn poly_bound(coeffs: &[f64], x: f64, f: u32) -> f64 {
        poly_bound_shifted(coeffs, x, f, 0)
    }

    /// Error bound of a polynomial evaluated on a power tree with domain shift s (powers of
    /// `z = x / 2^s`, coefficients `c_i 2^(si)`): `2^-f (1.5 + |x|/2 + sum_{i>=2} (|c_i|
    /// 2^(si) i M^(i-1) + M^i / 2))`, `M = max(1, |z|)`. Each built power `z^j` is within
    /// `(j-1) M^(j-1)` ulp, each coefficient within half an ulp, and the final truncation adds
    /// one ulp (outside truncation failures, see the kernel).
    pub fn poly_bound_shifted(coeffs: &[f64], x: f64, f: u32, s: u32) -> f64 {
        let m = (x.abs() / (s as f64).exp2()).max(1.0);
        let lin = if coeffs.len() > 1 { x.abs() / 2.0 } else { 0.0 };
        let terms: f64 = coeffs
            .iter()
            .enumerate()
            .skip(2)
            .filter(|(_, c)| **c != 0.0)
            .map(|(i, c)| {
                let scaled = c.abs() * ((s * i as u32) as f64).exp2();
                scaled * i as f64 * m.powi(i as i32 - 1) + m.powi(i as i32) / 2.0
            })
            .sum();
        (1.5 + lin + terms) / (f as f64).exp2()
    }

    /// Error bound of the `exp_taylor` kernel at x against [`exp_taylor`] (scale f in
    /// `ring`): the base is exact (or one ulp off without `exp_base_exact`), then each
    /// squaring of y doubles the error times |y| and adds one ulp (about `2^(t-f)` near 0).
    pub fn exp_taylor_bound(x: f64, t: u32, f: u32, ring: Ring) -> f64 {
        let ulp = (-(f as f64)).exp2();
        if t == 0 {
            return 0.0;
        }
        let mut y = (1.0 + x / (t as f64).exp2()).abs();
        let mut e = if exp_base_exact(t, f, ring) { 0.0 } else { ulp };
        for _ in 0..t {
            e = 2.0 * y * e + e * e + ulp;
            y *= y;
        }
        e * 1.01
    }

    /// Error bound of the `piecewise_poly` kernel at x: [`poly_bound_shifted`] of the
    /// selected piece with the function's [`domain_shift`].
    pub fn piecewise_bound(breaks: &[f64], pieces: &[Piece], x: f64, f: u32) -> f64 {
        let s = domain_shift(breaks, pieces);
        pieces
            .get(piece_index(breaks, x))
            .map_or(0.0, |p| poly_bound_shifted(&piece_coeffs(p), x, f, s))
    }

    /// Error bound of the `reciprocal` kernel against [`reciprocal`] on the valid range:
    /// `(12 + 6 iters) 2^-f / x + 2^-f` (a relative `(12 + 6 iters) 2^-f` from the rounding
    /// in the normalised domain, plus one ulp from scaling back).
    pub fn reciprocal_bound(x: f64, iters: u32, f: u32) -> f64 {
        let ulp = (-(f as f64)).exp2();
        (12.0 + 6.0 * iters as f64) * ulp / x + ulp
    }

    /// Error bound of the `rsqrt` kernel against [`rsqrt`] on the valid range:
    /// `16 2^-f / sqrt(x) + 2^-f` (Newton damps earlier rounding; the last step's rounding,
    /// the normalised value's ulp and the scaling back remain).
    pub fn rsqrt_bound(x: f64, _iters: u32, f: u32) -> f64 {
        let ulp = (-(f as f64)).exp2();
        16.0 * ulp / x.sqrt() + ulp
    }
}
