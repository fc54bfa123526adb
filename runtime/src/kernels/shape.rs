//! Public shape operations on flat row-major buffers. They move elements only, so they apply
//! to public values and to each share component alike, with no communication.

use super::common;
use crate::share::{AShare, Val};
use mpcc_ir::PartyId;

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Broadcasts `x` of shape `from` to `to` (numpy rules; `from` may have fewer dims).
pub fn broadcast(x: &[u64], from: &[usize], to: &[usize]) -> Vec<u64> {
    if from == to {
        return x.to_vec();
    }
    let n: usize = to.iter().product();
    let off = to.len() - from.len();
    let fs = strides(from);
    // Effective stride per output dim: 0 where broadcast.
    let es: Vec<usize> = (0..to.len())
        .map(|d| {
            if d < off || from[d - off] == 1 {
                0
            } else {
                fs[d - off]
            }
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; to.len()];
    let mut src = 0usize;
    for _ in 0..n {
        out.push(x[src]);
        for d in (0..to.len()).rev() {
            idx[d] += 1;
            src += es[d];
            if idx[d] < to[d] {
                break;
            }
            src -= es[d] * idx[d];
            idx[d] = 0;
        }
    }
    out
}

/// Permutes axes: output axis i is input axis `perm[i]`.
pub fn transpose(x: &[u64], shape: &[usize], perm: &[usize]) -> Vec<u64> {
    let st = strides(shape);
    let oshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let es: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let n = x.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; oshape.len()];
    let mut src = 0usize;
    for _ in 0..n {
        out.push(x[src]);
        for d in (0..oshape.len()).rev() {
            idx[d] += 1;
            src += es[d];
            if idx[d] < oshape[d] {
                break;
            }
            src -= es[d] * idx[d];
            idx[d] = 0;
        }
    }
    out
}

/// Indices `idx` along `axis`.
pub fn gather(x: &[u64], shape: &[usize], axis: usize, idx: &[usize]) -> Vec<u64> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let d = shape[axis];
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in idx {
            let base = (o * d + i) * inner;
            out.extend_from_slice(&x[base..base + inner]);
        }
    }
    out
}

/// `start..end` by `step` along `axis`.
pub fn slice(
    x: &[u64],
    shape: &[usize],
    axis: usize,
    start: usize,
    end: usize,
    step: usize,
) -> Vec<u64> {
    let idx: Vec<usize> = (start..end).step_by(step.max(1)).collect();
    gather(x, shape, axis, &idx)
}

/// Concatenates `parts` (each with its shape) along `axis`.
pub fn concat(parts: &[(&[u64], &[usize])], axis: usize) -> Vec<u64> {
    let outer: usize = parts[0].1[..axis].iter().product();
    let total: usize = parts.iter().map(|(x, _)| x.len()).sum();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (x, s) in parts {
            let chunk: usize = s[axis..].iter().product();
            out.extend_from_slice(&x[o * chunk..(o + 1) * chunk]);
        }
    }
    out
}

/// Concatenates VM values (each with its shape) along `axis`. When some part is secret, the
/// public parts join as trivial sharings ([`common::public_as_share`]).
pub fn concat_vals(id: PartyId, vals: &[&Val], shapes: &[&[usize]], axis: usize) -> Val {
    let secret = vals.iter().any(|v| matches!(v, Val::Sec(_)));
    let comps = |pick: usize| -> Vec<Vec<u64>> {
        vals.iter()
            .map(|v| match v {
                Val::Pub(x) if secret => component(&common::public_as_share(id, x), pick),
                Val::Pub(x) => x.clone(),
                Val::Sec(s) => component(s, pick),
            })
            .collect()
    };
    let cat = |parts: Vec<Vec<u64>>| {
        let views: Vec<(&[u64], &[usize])> = parts
            .iter()
            .zip(shapes)
            .map(|(p, s)| (p.as_slice(), *s))
            .collect();
        concat(&views, axis)
    };
    if secret {
        Val::Sec(AShare {
            a: cat(comps(0)),
            b: cat(comps(1)),
        })
    } else {
        Val::Pub(cat(comps(0)))
    }
}

/// Share component `pick` (0: `a`, 1: `b`), copied.
fn component(s: &AShare, pick: usize) -> Vec<u64> {
    if pick == 0 {
        s.a.clone()
    } else {
        s.b.clone()
    }
}

/// Zero padding: `pads[i] = (before, after)` along axis i. Padding each share component with
/// zeros pads the shared value with zeros.
pub fn pad(x: &[u64], shape: &[usize], pads: &[(usize, usize)]) -> Vec<u64> {
    let oshape: Vec<usize> = shape
        .iter()
        .zip(pads)
        .map(|(d, (b, a))| d + b + a)
        .collect();
    let ost = strides(&oshape);
    let mut out = vec![0u64; oshape.iter().product()];
    let mut idx = vec![0usize; shape.len()];
    for &v in x {
        let o: usize = idx
            .iter()
            .zip(pads)
            .zip(&ost)
            .map(|((i, (b, _)), s)| (i + b) * s)
            .sum();
        out[o] = v;
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Sums over `axes` (kept as size 1), wrapping in the ring.
pub fn reduce_sum(x: &[u64], shape: &[usize], axes: &[usize], mask: u64) -> Vec<u64> {
    let mut cur = x.to_vec();
    let mut cur_shape = shape.to_vec();
    for &axis in axes {
        let outer: usize = cur_shape[..axis].iter().product();
        let inner: usize = cur_shape[axis + 1..].iter().product();
        let d = cur_shape[axis];
        let mut out = vec![0u64; outer * inner];
        for o in 0..outer {
            for k in 0..d {
                let src = &cur[(o * d + k) * inner..(o * d + k + 1) * inner];
                let dst = &mut out[o * inner..(o + 1) * inner];
                for (y, v) in dst.iter_mut().zip(src) {
                    *y = y.wrapping_add(*v);
                }
            }
        }
        out.iter_mut().for_each(|v| *v &= mask);
        cur = out;
        cur_shape[axis] = 1;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broadcasting a row over rows and a column over columns gives numpy's result.
    #[test]
    fn broadcast_row_and_column() {
        assert_eq!(broadcast(&[1, 2, 3], &[3], &[2, 3]), vec![1, 2, 3, 1, 2, 3]);
        assert_eq!(broadcast(&[1, 2], &[2, 1], &[2, 3]), vec![1, 1, 1, 2, 2, 2]);
    }

    /// Transposing a 2x3 matrix swaps rows and columns.
    #[test]
    fn transpose_2x3() {
        assert_eq!(
            transpose(&[1, 2, 3, 4, 5, 6], &[2, 3], &[1, 0]),
            vec![1, 4, 2, 5, 3, 6]
        );
    }

    /// Padding a 2x2 matrix by one zero row above and one zero column on the right.
    #[test]
    fn pad_2x2() {
        assert_eq!(
            pad(&[1, 2, 3, 4], &[2, 2], &[(1, 0), (0, 1)]),
            vec![0, 0, 0, 1, 2, 0, 3, 4, 0]
        );
    }

    /// Concat and reduce_sum along the last axis.
    #[test]
    fn concat_and_reduce() {
        let c = concat(&[(&[1, 2], &[2, 1]), (&[3, 4], &[2, 1])], 1);
        assert_eq!(c, vec![1, 3, 2, 4]);
        assert_eq!(reduce_sum(&c, &[2, 2], &[1], u64::MAX), vec![4, 6]);
    }
}
