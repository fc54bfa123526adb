//! Taint: which elements an out-of-range step has reached. Each element of a value carries
//! the index of the earliest instruction whose out-of-range step it depends on
//! ([`CLEAN`] when none), following the instruction's [`Flow`]. An exact zero factor stops
//! it: in the ring `0 · x = 0` whatever x holds, which is how a softmax's cut-off `select`
//! and a piecewise function's unselected pieces discard wrapped values.

use crate::kernels::matmul::{matmul_dims, matmul_operand};
use crate::kernels::shape;
use crate::ops::{op_sim, Flow, SimArgs};
use crate::protocol::NoHost;
use crate::sim::fixed::{Rounding, Sim};
use mpcc_ir::{Op, ValueType};

/// The taint of an element that no out-of-range step reached.
pub const CLEAN: u32 = u32::MAX;

/// A value's taint: `None` when every element is clean.
pub type Taint = Option<Vec<u32>>;

/// Taints as `u64` for the shape kernels: 0 for clean, origin + 1 otherwise (so that zero
/// padding is clean).
fn encode(t: Option<&[u32]>, n: usize) -> Vec<u64> {
    match t {
        None => vec![0; n],
        Some(t) => t
            .iter()
            .map(|o| if *o == CLEAN { 0 } else { *o as u64 + 1 })
            .collect(),
    }
}

fn decode(v: &[u64]) -> Vec<u32> {
    v.iter()
        .map(|e| if *e == 0 { CLEAN } else { (*e - 1) as u32 })
        .collect()
}

/// Operand i's taint at the output shape.
fn at_out(t: Option<&[u32]>, from: &[usize], to: &[usize]) -> Vec<u32> {
    let n = to.iter().product();
    match t {
        None => vec![CLEAN; n],
        Some(t) if from == to => t.to_vec(),
        Some(t) => decode(&shape::broadcast(&encode(Some(t), t.len()), from, to)),
    }
}

/// The output's taint from the operands' (`vals` are the operand values, for exact zeros).
pub(crate) fn propagate(
    op: &Op,
    flow: Flow,
    vals: &[&[u64]],
    tys: &[&ValueType],
    out: &ValueType,
    taints: &[Option<&[u32]>],
) -> Taint {
    if taints.iter().all(Option::is_none) {
        return None;
    }
    let t = match flow {
        Flow::Source => return None,
        Flow::Move => {
            let enc: Vec<Vec<u64>> = taints
                .iter()
                .zip(tys)
                .map(|(t, ty)| encode(*t, ty.len()))
                .collect();
            let args = SimArgs {
                vals: enc.iter().map(|v| v.as_slice()).collect(),
                tys: tys.to_vec(),
                out,
            };
            let moved = op_sim(&mut Sim::new(Rounding::Floor), &mut NoHost, op, &args);
            decode(&moved.expect("shape ops move any elements"))
        }
        Flow::Elementwise => {
            let parts: Vec<Vec<u32>> = taints
                .iter()
                .zip(tys)
                .map(|(t, ty)| at_out(*t, &ty.shape, &out.shape))
                .collect();
            (0..out.len())
                .map(|i| parts.iter().map(|p| p[i]).min().unwrap_or(CLEAN))
                .collect()
        }
        Flow::Product => {
            let (ta, tb) = (
                at_out(taints[0], &tys[0].shape, &out.shape),
                at_out(taints[1], &tys[1].shape, &out.shape),
            );
            let a = shape::broadcast(vals[0], &tys[0].shape, &out.shape);
            let b = shape::broadcast(vals[1], &tys[1].shape, &out.shape);
            (0..out.len())
                .map(|i| product(a[i], ta[i], b[i], tb[i]))
                .collect()
        }
        Flow::MatMul => matmul(vals, tys, taints),
        Flow::Reduce(axes) => reduce(taints[0], &tys[0].shape, &axes),
    };
    t.iter().any(|o| *o != CLEAN).then_some(t)
}

/// The taint of `a * b`: clean when a clean factor is an exact 0.
fn product(a: u64, ta: u32, b: u64, tb: u32) -> u32 {
    if (a == 0 && ta == CLEAN) || (b == 0 && tb == CLEAN) {
        CLEAN
    } else {
        ta.min(tb)
    }
}

fn matmul(vals: &[&[u64]], tys: &[&ValueType], taints: &[Option<&[u32]>]) -> Vec<u32> {
    let (sa, sb) = (&tys[0].shape, &tys[1].shape);
    let (batch, m, k, n) = matmul_dims(sa, sb);
    let nb: usize = batch.iter().product();
    let (a, b) = (
        matmul_operand(vals[0], sa, &batch),
        matmul_operand(vals[1], sb, &batch),
    );
    let ta = decode(&matmul_operand(
        &encode(taints[0], tys[0].len()),
        sa,
        &batch,
    ));
    let tb = decode(&matmul_operand(
        &encode(taints[1], tys[1].len()),
        sb,
        &batch,
    ));
    let mut out = vec![CLEAN; nb * m * n];
    for bi in 0..nb {
        let (oa, ob) = (bi * m * k, bi * k * n);
        for i in 0..m {
            for kk in 0..k {
                let (av, at) = (a[oa + i * k + kk], ta[oa + i * k + kk]);
                if av == 0 && at == CLEAN {
                    continue;
                }
                let row = &mut out[(bi * m + i) * n..(bi * m + i + 1) * n];
                for (j, o) in row.iter_mut().enumerate() {
                    let q = ob + kk * n + j;
                    *o = (*o).min(product(av, at, b[q], tb[q]));
                }
            }
        }
    }
    out
}

fn reduce(t: Option<&[u32]>, shape: &[usize], axes: &[usize]) -> Vec<u32> {
    let n: usize = shape.iter().product();
    let mut cur = t.map_or_else(|| vec![CLEAN; n], <[u32]>::to_vec);
    let mut cur_shape = shape.to_vec();
    for &axis in axes {
        let outer: usize = cur_shape[..axis].iter().product();
        let inner: usize = cur_shape[axis + 1..].iter().product();
        let d = cur_shape[axis];
        let mut out = vec![CLEAN; outer * inner];
        for o in 0..outer {
            for kk in 0..d {
                for i in 0..inner {
                    let v = cur[(o * d + kk) * inner + i];
                    let y = &mut out[o * inner + i];
                    *y = (*y).min(v);
                }
            }
        }
        cur = out;
        cur_shape[axis] = 1;
    }
    cur
}
