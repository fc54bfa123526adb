//! Dense f64 tensors and the shape operations of the plaintext interpreter. Every function
//! checks its attributes against the shapes and returns a message instead of panicking.

use crate::types::broadcast_shapes;

/// A row-major tensor of reals.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: Vec<f64>,
}

/// Result of a tensor operation: the tensor or what is wrong with the operands.
pub type TResult = Result<Tensor, String>;

impl Tensor {
    /// A tensor of `shape` holding `data`; the caller guarantees the length.
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor { shape, data }
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        Tensor::new(
            self.shape.clone(),
            self.data.iter().map(|&x| f(x)).collect(),
        )
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Source offsets of an output of shape `out` whose dim `d` steps the source by `step[d]`.
fn gather_offsets(out: &[usize], step: &[usize], base: usize) -> Vec<usize> {
    let n: usize = out.iter().product();
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; out.len()];
    let mut src = base;
    for _ in 0..n {
        offs.push(src);
        for d in (0..out.len()).rev() {
            idx[d] += 1;
            src += step[d];
            if idx[d] < out[d] {
                break;
            }
            src -= step[d] * idx[d];
            idx[d] = 0;
        }
    }
    offs
}

/// Numpy-style broadcast of `t` to `to`.
pub fn broadcast_to(t: &Tensor, to: &[usize]) -> TResult {
    if broadcast_shapes(&t.shape, to).as_deref() != Some(to) {
        return Err(format!("cannot broadcast {:?} to {to:?}", t.shape));
    }
    let off = to.len() - t.shape.len();
    let st = strides(&t.shape);
    let step: Vec<usize> = (0..to.len())
        .map(|d| match d.checked_sub(off) {
            Some(i) if t.shape[i] != 1 => st[i],
            _ => 0,
        })
        .collect();
    let data = gather_offsets(to, &step, 0)
        .into_iter()
        .map(|o| t.data[o])
        .collect();
    Ok(Tensor::new(to.to_vec(), data))
}

/// Elementwise `f(a, b)` with numpy broadcasting.
pub fn binary(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> TResult {
    let shape = broadcast_shapes(&a.shape, &b.shape)
        .ok_or_else(|| format!("shapes {:?} and {:?} do not broadcast", a.shape, b.shape))?;
    let (a, b) = (broadcast_to(a, &shape)?, broadcast_to(b, &shape)?);
    let data = a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect();
    Ok(Tensor::new(shape, data))
}

/// Batched matrix product `[.., m, k] x [.., k, n]` with broadcast batch dims.
pub fn matmul(a: &Tensor, b: &Tensor) -> TResult {
    let (ra, rb) = (a.shape.len(), b.shape.len());
    if ra < 2 || rb < 2 || a.shape[ra - 1] != b.shape[rb - 2] {
        return Err(format!("cannot multiply {:?} by {:?}", a.shape, b.shape));
    }
    let (m, k, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 1]);
    let batch = broadcast_shapes(&a.shape[..ra - 2], &b.shape[..rb - 2])
        .ok_or("batch dims do not broadcast")?;
    let full = |t: &Tensor, r: usize, c: usize| {
        let mut s = batch.clone();
        s.extend([r, c]);
        broadcast_to(t, &s)
    };
    let (fa, fb) = (full(a, m, k)?, full(b, k, n)?);
    let nb: usize = batch.iter().product();
    let mut data = vec![0.0; nb * m * n];
    for bi in 0..nb {
        let (pa, pb, po) = (bi * m * k, bi * k * n, bi * m * n);
        for i in 0..m {
            for j in 0..n {
                data[po + i * n + j] = (0..k)
                    .map(|l| fa.data[pa + i * k + l] * fb.data[pb + l * n + j])
                    .sum();
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    Ok(Tensor::new(shape, data))
}

/// Permutes axes: output axis i is input axis `perm[i]`.
pub fn transpose(t: &Tensor, perm: &[usize]) -> TResult {
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..t.shape.len()).collect::<Vec<_>>() {
        return Err(format!("{perm:?} is not a permutation of {:?}", t.shape));
    }
    let st = strides(&t.shape);
    let shape: Vec<usize> = perm.iter().map(|&p| t.shape[p]).collect();
    let step: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let data = gather_offsets(&shape, &step, 0)
        .into_iter()
        .map(|o| t.data[o])
        .collect();
    Ok(Tensor::new(shape, data))
}

/// Checks `axis < rank` and splits the shape into (outer, len, inner) around it.
pub fn split_axis(shape: &[usize], axis: usize) -> Result<(usize, usize, usize), String> {
    if axis >= shape.len() {
        return Err(format!("axis {axis} out of range for shape {shape:?}"));
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    Ok((outer, shape[axis], inner))
}

/// Picks the indices `idx` along `axis` (used by slice and gather).
pub fn take(t: &Tensor, axis: usize, idx: &[usize]) -> TResult {
    let (outer, len, inner) = split_axis(&t.shape, axis)?;
    if let Some(&bad) = idx.iter().find(|&&i| i >= len) {
        return Err(format!("index {bad} out of range {len} on axis {axis}"));
    }
    let mut data = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in idx {
            let base = (o * len + i) * inner;
            data.extend_from_slice(&t.data[base..base + inner]);
        }
    }
    let mut shape = t.shape.clone();
    shape[axis] = idx.len();
    Ok(Tensor::new(shape, data))
}

/// Zero padding: `pads[i] = (before, after)` along axis i.
pub fn pad(t: &Tensor, pads: &[(usize, usize)]) -> TResult {
    if pads.len() != t.shape.len() {
        return Err(format!("{} pads for rank {}", pads.len(), t.shape.len()));
    }
    let mut cur = t.clone();
    for (axis, &(before, after)) in pads.iter().enumerate() {
        let (outer, len, inner) = split_axis(&cur.shape, axis)?;
        let mut data = Vec::with_capacity(outer * (len + before + after) * inner);
        for o in 0..outer {
            data.extend(std::iter::repeat_n(0.0, before * inner));
            data.extend_from_slice(&cur.data[o * len * inner..(o + 1) * len * inner]);
            data.extend(std::iter::repeat_n(0.0, after * inner));
        }
        let mut shape = cur.shape.clone();
        shape[axis] = len + before + after;
        cur = Tensor::new(shape, data);
    }
    Ok(cur)
}

/// `start..end` with `step` along `axis`.
pub fn slice(t: &Tensor, axis: usize, start: usize, end: usize, step: usize) -> TResult {
    let (_, len, _) = split_axis(&t.shape, axis)?;
    if step == 0 || start > end || end > len {
        return Err(format!(
            "slice {start}..{end} step {step} of a dim of {len}"
        ));
    }
    let idx: Vec<usize> = (start..end).step_by(step).collect();
    take(t, axis, &idx)
}

/// Concatenates `ts` along `axis`; all other dims must agree.
pub fn concat(ts: &[&Tensor], axis: usize) -> TResult {
    let first = ts.first().ok_or("concat of nothing")?;
    let mut shape = first.shape.clone();
    split_axis(&shape, axis)?;
    shape[axis] = 0;
    for t in ts {
        let mut s = t.shape.clone();
        let ok = s.len() == shape.len() && {
            s[axis] = 0;
            s == shape
        };
        if !ok {
            return Err(format!("cannot concat {:?} on axis {axis}", t.shape));
        }
    }
    shape[axis] = ts.iter().map(|t| t.shape[axis]).sum();
    let outer: usize = shape[..axis].iter().product();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for t in ts {
            let chunk: usize = t.shape[axis..].iter().product();
            data.extend_from_slice(&t.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(Tensor::new(shape, data))
}

/// Reduces the lanes along `axis` with `f`, keeping the axis as size 1.
pub fn reduce_axis(t: &Tensor, axis: usize, f: impl Fn(&[f64]) -> f64) -> TResult {
    let (outer, len, inner) = split_axis(&t.shape, axis)?;
    let mut data = Vec::with_capacity(outer * inner);
    let mut lane = vec![0.0; len];
    for o in 0..outer {
        for k in 0..inner {
            for (i, x) in lane.iter_mut().enumerate() {
                *x = t.data[(o * len + i) * inner + k];
            }
            data.push(f(&lane));
        }
    }
    let mut shape = t.shape.clone();
    shape[axis] = 1;
    Ok(Tensor::new(shape, data))
}

/// Rewrites each lane along `axis` in place with `f`.
pub fn map_lanes(t: &Tensor, axis: usize, f: impl Fn(&mut [f64])) -> TResult {
    let (outer, len, inner) = split_axis(&t.shape, axis)?;
    let mut out = t.clone();
    let mut lane = vec![0.0; len];
    for o in 0..outer {
        for k in 0..inner {
            let at = |i: usize| (o * len + i) * inner + k;
            for (i, x) in lane.iter_mut().enumerate() {
                *x = t.data[at(i)];
            }
            f(&mut lane);
            for (i, x) in lane.iter().enumerate() {
                out.data[at(i)] = *x;
            }
        }
    }
    Ok(out)
}
