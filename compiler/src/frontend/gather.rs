//! Gathers and index arithmetic: PUMA's secure embedding (one-hot client ids times the
//! table), table lookups at secret computed indices (comparison bits times row
//! differences), public-index gathers, and CumSum as a product with a public triangle.

use super::lower::Lowerer;
use super::values::{Known, Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use ndarray::{ArrayD, Axis, IxDyn, Slice as NdSlice};
use std::collections::HashMap;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{CumSum, Gather};
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::source::TypedSource;

/// The one-hot depth of every integer input that reaches a `Gather` from a known table
/// as its indices (directly or through axis ops and integer casts): the largest table.
pub(super) fn plan_one_hot(
    model: &TypedModel,
    known: &std::collections::HashSet<usize>,
) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    for node in model.nodes() {
        let is_int_source = node.op_as::<TypedSource>().is_some()
            && !known.contains(&node.id)
            && node.outputs[0].fact.datum_type.is_integer();
        if !is_int_source {
            continue;
        }
        let mut depth = 0;
        let mut todo = vec![OutletId::new(node.id, 0)];
        while let Some(o) = todo.pop() {
            for inlet in model.outlet_successors(o) {
                let succ = model.node(inlet.node);
                let passes = succ.op_as::<AxisOp>().is_some()
                    || succ.op_as::<Cast>().is_some_and(|c| c.to.is_integer());
                if passes {
                    todo.push(OutletId::new(succ.id, 0));
                } else if let Some(g) = succ.op_as::<Gather>() {
                    let table = model.outlet_fact(succ.inputs[0]).ok();
                    let known_table = known.contains(&succ.inputs[0].node);
                    if let Some(t) = table.filter(|_| inlet.slot == 1 && known_table) {
                        if let Some(d) = t.shape.as_concrete().and_then(|s| s.get(g.axis)) {
                            depth = depth.max(*d);
                        }
                    }
                }
            }
        }
        if depth > 0 {
            out.insert(node.id, depth);
        }
    }
    out
}

impl Lowerer<'_> {
    /// `Gather(data, indices)` along `axis`.
    pub fn gather(&mut self, node: &TypedNode, axis: usize) -> Result<Val, CompileError> {
        let data = self.input(node, 0)?;
        let idx = self.input(node, 1)?;
        match (&data, &idx) {
            (Val::Known(k), Val::OneHot { id, depth }) if axis == 0 => {
                self.gather_one_hot(node, k, *id, *depth)
            }
            (Val::Known(k), Val::Sec(s)) if axis == 0 => self.gather_secret_index(node, k, s),
            (_, Val::Known(i)) if i.owner => Err(self.unsupported(
                node,
                "its indices are computed from the owner's weights, and gathering at secret \
                 indices from run-time data has no lowering (if they are structure, pass \
                 --public NAME for the initializers they come from)",
            )),
            (_, Val::Known(i)) => self.gather_public(node, &data, i, axis),
            _ => Err(self.unsupported(
                node,
                "gather needs a constant table (axis 0) or constant indices",
            )),
        }
    }

    /// The table as `[rows, row_len]`.
    fn table_2d(&self, node: &TypedNode, k: &Known) -> Result<ArrayD<f64>, CompileError> {
        let t = self.known_f64(node, k)?;
        let rows = t.shape().first().copied().unwrap_or(1);
        let len = t.len() / rows.max(1);
        t.into_shape_with_order(IxDyn(&[rows, len]))
            .map_err(|e| self.unsupported(node, e.to_string()))
    }

    /// Secure embedding: one-hot rows `[.., depth]` times the table `[depth, d]`.
    fn gather_one_hot(
        &mut self,
        node: &TypedNode,
        k: &Known,
        id: ValueId,
        depth: usize,
    ) -> Result<Val, CompileError> {
        let table = self.table_2d(node, k)?;
        let rows = table.shape()[0];
        let mut oh = id;
        let mut variant = format!("[{}x{}]", rows, table.shape()[1]);
        let table = if depth > rows {
            let last = self.shape(id).len() - 1;
            let op = Op::Slice {
                axis: last,
                start: 0,
                end: rows,
                step: 1,
            };
            oh = self.emit(op, &[id], &node.name);
            table
        } else {
            variant = format!("[0..{depth}]");
            table
                .slice_axis(Axis(0), NdSlice::from(0..depth))
                .to_owned()
        };
        let w = self.materialize_layout(k, &table, &variant, self.f, depth >= rows);
        let mut shape = self.shape(oh);
        let last = shape.len() - 1;
        shape[last] = table.shape()[1];
        let (so, sw) = (self.scale(oh), self.scale(w));
        let m = self.emit(Op::MatMul, &[oh, w], &node.name);
        let m = self.rescale(m, so.max(sw), &node.name);
        let out = self.out_shape(node)?;
        Ok(Val::Sec(Sec::plain(self.reshape(m, &out, &node.name))))
    }

    /// Lookup at secret integer indices x in `lo..=hi` (the tracked range, clipped to the
    /// table): `T[lo] + sum_c [x >= c + 1/2] * (T[c+1] - T[c])`, one comparison per row
    /// boundary and a matmul of bits (scale 0) with the row differences.
    fn gather_secret_index(
        &mut self,
        node: &TypedNode,
        k: &Known,
        x: &Sec,
    ) -> Result<Val, CompileError> {
        let table = self.table_2d(node, k)?;
        let rows = table.shape()[0];
        let (lo, hi) = x.range.unwrap_or((0.0, rows as f64 - 1.0));
        if lo.round() < 0.0 || hi.round() > rows as f64 - 1.0 {
            return Err(self.unsupported(
                node,
                format!(
                    "indices may reach {lo}..={hi} but the table has {rows} rows (is the sequence longer than the model's positions?)"
                ),
            ));
        }
        let (lo, hi) = (lo.round() as usize, hi.round() as usize);
        let out = self.out_shape(node)?;
        let base = table.index_axis(Axis(0), lo).to_owned().into_dyn();
        if hi == lo {
            let b = base.broadcast(IxDyn(&out)).map(|v| v.to_owned());
            let b = b.ok_or_else(|| self.unsupported(node, "table row does not fit the output"))?;
            return Ok(Val::Known(Known {
                t: std::sync::Arc::new(super::known::from_f64(&b)),
                owner: k.owner,
                name: format!("{}[row{lo}]", k.name),
            }));
        }
        let ts: Vec<f64> = (lo..hi).map(|c| c as f64 + 0.5).collect();
        let xs = self.shape(x.id);
        let mut gs = vec![ts.len()];
        gs.extend(&xs);
        let bits = self.emit(
            Op::Ge {
                thresholds: ts.clone(),
            },
            &[x.id],
            &node.name,
        );
        let perm: Vec<usize> = (1..=xs.len()).chain([0]).collect();
        let bits = self.transpose(bits, &perm, &node.name);
        let mut bs = xs.clone();
        bs.push(ts.len());
        if bs.len() < 2 {
            bs.insert(0, 1);
        }
        let bits = self.reshape(bits, &bs, &node.name);
        let upper = table.slice_axis(Axis(0), NdSlice::from(lo + 1..=hi));
        let lower = table.slice_axis(Axis(0), NdSlice::from(lo..hi));
        let delta = (&upper - &lower).into_dyn();
        let variant = format!("[delta{lo}..{hi}]");
        let dw = self.materialize_layout(k, &delta, &variant, self.f, false);
        let mut ms = bs.clone();
        let last = ms.len() - 1;
        ms[last] = table.shape()[1];
        let m = self.emit(Op::MatMul, &[bits, dw], &node.name);
        let bw = self.materialize_layout(k, &base, &format!("[row{lo}]"), self.f, false);
        let s = self.add_sub(
            node,
            &Val::Sec(Sec::plain(m)),
            &Val::Sec(Sec::plain(bw)),
            false,
        )?;
        let s = self.sec(node, &s)?;
        Ok(Val::Sec(Sec::plain(self.reshape(s.id, &out, &node.name))))
    }

    /// Gather at public indices from run-time data.
    fn gather_public(
        &mut self,
        node: &TypedNode,
        data: &Val,
        idx: &Known,
        axis: usize,
    ) -> Result<Val, CompileError> {
        let (v, depth) = match data {
            Val::OneHot { id, depth } => (*id, Some(*depth)),
            other => (self.sec(node, other)?.id, None),
        };
        let shape = self.shape(v);
        let dim = shape[axis] as i64;
        let indices: Vec<usize> = self
            .known_f64(node, idx)?
            .iter()
            .map(|&i| if i < 0.0 { i as i64 + dim } else { i as i64 })
            .map(|i| usize::try_from(i).ok().filter(|&i| (i as i64) < dim))
            .collect::<Option<_>>()
            .ok_or_else(|| self.unsupported(node, "gather index out of range"))?;
        let identity =
            indices.iter().enumerate().all(|(i, &j)| i == j) && indices.len() as i64 == dim;
        let g = if identity {
            v
        } else {
            self.emit(Op::Gather { axis, indices }, &[v], &node.name)
        };
        let mut out = self.out_shape(node)?;
        if let Some(depth) = depth {
            out.push(depth);
            return Ok(Val::OneHot {
                id: self.reshape(g, &out, &node.name),
                depth,
            });
        }
        Ok(Val::Sec(Sec::plain(self.reshape(g, &out, &node.name))))
    }

    /// `CumSum` along an axis: a local product with a public 0/1 triangle.
    pub fn cumsum(&mut self, node: &TypedNode, op: &CumSum) -> Result<Val, CompileError> {
        let a = self.input(node, 0)?;
        let x = self.sec(node, &a)?;
        let shape = self.shape(x.id);
        let len = shape[op.axis];
        let tri = ArrayD::from_shape_fn(IxDyn(&[len, len]), |ix| {
            let (j, i) = (ix[0], ix[1]);
            let take = match (op.reverse, op.exclusive) {
                (false, false) => j <= i,
                (false, true) => j < i,
                (true, false) => j >= i,
                (true, true) => j > i,
            };
            take as u8 as f64
        });
        let u = self.constant(&tri, 0, &node.name);
        let rank = shape.len();
        let perm: Vec<usize> = (0..rank)
            .filter(|&i| i != op.axis)
            .chain([op.axis])
            .collect();
        let t = self.transpose(x.id, &perm, &node.name);
        let mut ts: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        if ts.len() < 2 {
            ts.insert(0, 1);
        }
        let t = self.reshape(t, &ts, &node.name);
        let m = self.emit(Op::MatMul, &[t, u], &node.name);
        let back: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let m = self.reshape(m, &back, &node.name);
        let mut inv = vec![0; rank];
        perm.iter().enumerate().for_each(|(i, &p)| inv[p] = i);
        let id = self.transpose(m, &inv, &node.name);
        let range = x
            .range
            .map(|(lo, hi)| (lo.min(0.0) * len as f64, hi.max(0.0) * len as f64));
        Ok(Val::Sec(self.ranged(id, range)))
    }
}
