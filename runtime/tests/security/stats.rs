//! The statistics of the security tests: chi-square tail probabilities, a uniformity test and
//! a two-sample test for samples of w-bit words, each at the significance level [`ALPHA`].
//!
//! A test is one statistic of one feature (a field of a view, or a combination of two) with
//! its p-value compared to [`ALPHA`]; where a statistic is a family of sub-tests (one per bit
//! position), their p-values are compared to `ALPHA / count` (Bonferroni), so the family
//! counts as one test.

/// Significance level of every test: the probability that a test of a correct protocol
/// fails by chance. The suite runs about 1.5·10^5 tests, so a false alarm in a whole run
/// has probability below 2·10^-4 (Bonferroni; at `ALPHA = 1e-3` and `1e-6` the observed
/// failure counts matched the expected ones, so the tail approximations hold). A leak of
/// the kinds the broken variants plant (a constant, a reused mask, a biased bit) gives
/// p-values below 10^-250. A two-sample test notices a bit whose frequency differs between
/// the two secrets by about 0.1 with 2048 samples (a field that covers one block of a
/// comparison), 0.06 with 6144.
pub const ALPHA: f64 = 1e-9;

/// `ln Γ(x)` for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s: f64 = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// The regularised upper incomplete gamma function `Q(a, x)` (series below `a + 1`,
/// continued fraction above, as in Numerical Recipes' `gammq`).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let lead = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        return (1.0 - sum * lead.exp()).max(0.0);
    }
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    lead.exp() * h
}

/// `P(X >= x)` for X chi-square with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    gamma_q(df / 2.0, x / 2.0)
}

/// A failed test: which statistic, its value and p-value.
#[derive(Debug)]
pub struct Failure {
    /// The statistic ("bits", "low bits", ...).
    pub test: &'static str,
    /// Its value and degrees of freedom, formatted.
    pub detail: String,
    /// Its p-value.
    pub p: f64,
}

/// Bits of a bucket (a histogram over the low or the high bits of a word) for `n` samples
/// of width `w`: at most 8, at most w, and at least 16 expected samples per bucket.
fn bucket_bits(n: usize, w: u32) -> u32 {
    let by_count = ((n / 16).max(1) as f64).log2().floor() as u32;
    w.min(8).min(by_count)
}

/// The low `b` bits of `v` and the top `b` of its `w` bits, as two bucket indices.
fn buckets(v: u64, w: u32, b: u32) -> (usize, usize) {
    let m = (1u64 << b) - 1;
    ((v & m) as usize, ((v >> (w - b)) & m) as usize)
}

/// Ones per bit position.
fn bit_counts(vals: &[u64], w: u32) -> Vec<u64> {
    (0..w)
        .map(|b| vals.iter().map(|v| (v >> b) & 1).sum())
        .collect()
}

/// Uniformity of w-bit words: the chi-square of the ones per bit position (w degrees of
/// freedom: the bits of a uniform word are independent fair coins), and of histograms of
/// the low and of the high bits of the words (`2^b - 1` degrees of freedom).
pub fn uniform(vals: &[u64], w: u32) -> Vec<Failure> {
    let n = vals.len() as f64;
    let mut out = Vec::new();
    let chi: f64 = bit_counts(vals, w)
        .iter()
        .map(|&o| (o as f64 - n / 2.0).powi(2) / (n / 4.0))
        .sum();
    let p = chi2_sf(chi, w as f64);
    if p < ALPHA {
        out.push(Failure {
            test: "uniform bits",
            detail: format!("chi2 {chi:.1}, {w} df"),
            p,
        });
    }
    let b = bucket_bits(vals.len(), w);
    if w <= 2 || b < 2 {
        return out;
    }
    let bins = 1usize << b;
    let (mut lo, mut hi) = (vec![0f64; bins], vec![0f64; bins]);
    for &v in vals {
        let (l, h) = buckets(v, w, b);
        lo[l] += 1.0;
        hi[h] += 1.0;
    }
    let e = n / bins as f64;
    for (test, hist) in [("uniform low bits", lo), ("uniform high bits", hi)] {
        let chi: f64 = hist.iter().map(|o| (o - e).powi(2) / e).sum();
        let p = chi2_sf(chi, (bins - 1) as f64);
        if p < ALPHA {
            out.push(Failure {
                test,
                detail: format!("chi2 {chi:.1}, {} df", bins - 1),
                p,
            });
        }
    }
    out
}

/// Chi-square test of homogeneity of two histograms over the same bins; bins with fewer
/// than 10 samples in both together are pooled into one. Returns (statistic, df, p).
fn homogeneity(a: &[f64], b: &[f64]) -> (f64, usize, f64) {
    let (na, nb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    let mut cells: Vec<(f64, f64)> = Vec::new();
    let mut rest = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        if x + y >= 10.0 {
            cells.push((*x, *y));
        } else {
            rest = (rest.0 + x, rest.1 + y);
        }
    }
    if rest.0 + rest.1 > 0.0 {
        cells.push(rest);
    }
    if cells.len() < 2 {
        return (0.0, 0, 1.0);
    }
    let total = na + nb;
    let chi: f64 = cells
        .iter()
        .map(|(x, y)| {
            let col = x + y;
            let (ea, eb) = (col * na / total, col * nb / total);
            (x - ea).powi(2) / ea + (y - eb).powi(2) / eb
        })
        .sum();
    let df = cells.len() - 1;
    (chi, df, chi2_sf(chi, df as f64))
}

/// Two samples of w-bit words come from one distribution: for every bit position, a 2×2
/// homogeneity test of its ones (at `ALPHA / w` each, which makes no assumption on how
/// the bits of a word depend on each other), and homogeneity tests of the histograms of the
/// low and of the high bits.
pub fn same_distribution(a: &[u64], b: &[u64], w: u32) -> Vec<Failure> {
    let mut out = Vec::new();
    let (ca, cb) = (bit_counts(a, w), bit_counts(b, w));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    for bit in 0..w as usize {
        let (x, y) = (ca[bit] as f64, cb[bit] as f64);
        let (chi, df, p) = homogeneity(&[x, na - x], &[y, nb - y]);
        if p < ALPHA / w as f64 {
            out.push(Failure {
                test: "same bit frequency",
                detail: format!("bit {bit}: {x} vs {y} ones, chi2 {chi:.1}, {df} df"),
                p,
            });
        }
    }
    let bits = bucket_bits(a.len().min(b.len()), w);
    if w <= 2 || bits < 2 {
        return out;
    }
    let bins = 1usize << bits;
    let hist = |s: &[u64]| {
        let (mut lo, mut hi) = (vec![0f64; bins], vec![0f64; bins]);
        for &v in s {
            let (l, h) = buckets(v, w, bits);
            lo[l] += 1.0;
            hi[h] += 1.0;
        }
        (lo, hi)
    };
    let ((la, ha), (lb, hb)) = (hist(a), hist(b));
    for (test, x, y) in [("same low bits", la, lb), ("same high bits", ha, hb)] {
        let (chi, df, p) = homogeneity(&x, &y);
        if p < ALPHA {
            out.push(Failure {
                test,
                detail: format!("chi2 {chi:.1}, {df} df"),
                p,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chi-square tail matches known quantiles.
    #[test]
    fn chi2_quantiles() {
        let close = |got: f64, want: f64| (got / want - 1.0).abs() < 1e-3;
        assert!(close(chi2_sf(3.841_459, 1.0), 0.05));
        assert!(close(chi2_sf(18.307_04, 10.0), 0.05));
        assert!(close(chi2_sf(124.342_1, 100.0), 0.05));
        assert!(close(chi2_sf(37.566_23, 20.0), 0.01));
        assert!(close(chi2_sf(293.247_8, 255.0), 0.05));
        assert!(close(chi2_sf(37.325_7, 1.0), 1e-9));
    }
}
