//! Position-wise functions of a one-hot integer input as compile-time lookup tables
//! (LLaMA's rotary `Cos`/`Sin` of `position_ids * inv_freq`).
//!
//! A [`Lut`] value v satisfies `v[x] = table[id[p(x)], x]`: each element depends only on
//! the id at one position. Elementwise ops, casts, einsums and binary ops with constants,
//! axis insertions, removals and moves, and concatenations of such values rewrite the table
//! at compile time. Any other use materializes it: `one_hot · table` (a matmul of the
//! client's one-hot rows with the table, one truncation), as in the secure embedding.

use super::known::{fold, from_f64, to_f64};
use super::lower::Lowerer;
use super::values::{Known, Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use ndarray::{concatenate, ArrayD, ArrayViewD, Axis, IxDyn};
use std::collections::HashSet;
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::TypedConcat;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::source::TypedSource;

/// A value given by a table indexed by one-hot ids.
#[derive(Clone, Debug)]
pub(super) struct Lut {
    /// The one-hot input `[ids.., depth]`.
    pub oh: ValueId,
    /// For each value axis: the ids axis it runs along, or `None` for a table axis.
    pub axes: Vec<Option<usize>>,
    /// `[depth, ..]`, one dim per value axis (size 1 along ids axes).
    pub table: ArrayD<f64>,
    /// Name of the node that made it (for weight names and caching).
    pub name: String,
    /// True when the table is derived from the owner's weights.
    pub owner: bool,
}

/// Elementwise operators that have a lowering on secrets; the others need a table.
const ARITHMETIC: &[&str] = &[
    "GeluExact",
    "Tanh",
    "Erf",
    "Sigmoid",
    "Silu",
    "Exp",
    "Sqrt",
    "Neg",
    "Square",
    "Recip",
    "Rsqrt",
    "PowConst",
    "Not",
    "IsNan",
];

/// Integer sources that reach, through casts, axis ops, einsums, concats and binary or
/// elementwise ops, an elementwise function with no secret lowering: those become one-hot
/// inputs of depth = their last dim (the sequence length) and are lowered by tables.
pub(super) fn plan_tables(model: &TypedModel, known: &HashSet<usize>) -> HashSet<usize> {
    let mut out = HashSet::new();
    for node in model.nodes() {
        let is_int_source = node.op_as::<TypedSource>().is_some()
            && !known.contains(&node.id)
            && node.outputs[0].fact.datum_type.is_integer();
        if !is_int_source {
            continue;
        }
        let mut todo = vec![node.id];
        let mut seen = HashSet::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            for inlet in model.outlet_successors(OutletId::new(id, 0)) {
                let succ = model.node(inlet.node);
                if let Some(ew) = succ.op_as::<ElementWiseOp>() {
                    if !ARITHMETIC.contains(&ew.0.name().as_str()) {
                        out.insert(node.id);
                    }
                    todo.push(succ.id);
                } else if succ.op_as::<Cast>().is_some()
                    || succ.op_as::<AxisOp>().is_some()
                    || succ.op_as::<EinSum>().is_some()
                    || succ.op_as::<TypedConcat>().is_some()
                    || succ.op_as::<TypedBinOp>().is_some()
                {
                    todo.push(succ.id);
                }
            }
        }
    }
    out
}

impl Lowerer<'_> {
    /// The identity table of a one-hot input: `v = id`.
    pub fn lut_source(&self, oh: ValueId, depth: usize, name: &str) -> Lut {
        let rank = self.shape(oh).len() - 1;
        let mut shape = vec![depth];
        shape.extend(std::iter::repeat_n(1, rank));
        let table = ArrayD::from_shape_fn(IxDyn(&shape), |ix| ix[0] as f64);
        Lut {
            oh,
            axes: (0..rank).map(Some).collect(),
            table,
            name: name.to_string(),
            owner: false,
        }
    }

    /// Lowers `node` on table operands when it keeps them tables; `None` hands it to the
    /// ordinary lowering (which materializes the tables).
    pub fn lut_op(&mut self, node: &TypedNode) -> Result<Option<Val>, CompileError> {
        let ins: Vec<Val> = (0..node.inputs.len())
            .map(|i| self.input(node, i))
            .collect::<Result<_, _>>()?;
        if !ins.iter().any(|v| matches!(v, Val::Lut(_))) {
            return Ok(None);
        }
        let tables_only = ins.iter().all(|v| matches!(v, Val::Lut(_) | Val::Known(_)));
        if !tables_only {
            return Ok(None);
        }
        let lut = if node.op_as::<ElementWiseOp>().is_some() || node.op_as::<Cast>().is_some() {
            self.lut_map(node, &ins)?
        } else if let Some(op) = node.op_as::<AxisOp>() {
            self.lut_axis(&ins, op)
        } else if node.op_as::<EinSum>().is_some() || node.op_as::<TypedBinOp>().is_some() {
            self.lut_per_id(node, &ins)?
        } else if let Some(op) = node.op_as::<TypedConcat>() {
            self.lut_concat(&ins, op.axis)
        } else {
            None
        };
        Ok(lut.map(|mut l| {
            l.name = node.name.clone();
            Val::Lut(l)
        }))
    }

    /// An elementwise op or cast applied to the table itself.
    fn lut_map(&self, node: &TypedNode, ins: &[Val]) -> Result<Option<Lut>, CompileError> {
        let Some(Val::Lut(l)) = ins.first() else {
            return Ok(None);
        };
        let Some(arg) = self.typed_like(node, 0, &l.table) else {
            return Ok(None);
        };
        let Ok(t) = fold(node, vec![arg]) else {
            return Ok(None);
        };
        let table = to_f64(&t[0]).map_err(|e| self.unsupported(node, e))?;
        Ok(Some(Lut { table, ..l.clone() }))
    }

    /// `a` as a tensor of the datum type of `node`'s input `i`.
    fn typed_like(&self, node: &TypedNode, i: usize, a: &ArrayD<f64>) -> Option<Arc<Tensor>> {
        let dt = self
            .model
            .outlet_fact(*node.inputs.get(i)?)
            .ok()?
            .datum_type;
        let t = from_f64(a);
        Some(Arc::new(t.cast_to_dt(dt).ok()?.into_owned()))
    }

    /// Axis insertions, removals and moves rearrange the table; reshapes materialize.
    fn lut_axis(&self, ins: &[Val], op: &AxisOp) -> Option<Lut> {
        let Some(Val::Lut(l)) = ins.first() else {
            return None;
        };
        let mut l = l.clone();
        match op {
            AxisOp::Add(i) => {
                l.axes.insert(*i, None);
                l.table = l.table.insert_axis(Axis(i + 1));
            }
            AxisOp::Rm(i) if l.table.shape()[i + 1] == 1 => {
                l.axes.remove(*i);
                l.table = l.table.index_axis_move(Axis(i + 1), 0);
            }
            AxisOp::Move(from, to) => {
                let a = l.axes.remove(*from);
                l.axes.insert(*to, a);
                let mut perm: Vec<usize> = (1..=l.axes.len()).collect();
                let p = perm.remove(*from);
                perm.insert(*to, p);
                perm.insert(0, 0);
                l.table = l
                    .table
                    .permuted_axes(IxDyn(&perm))
                    .as_standard_layout()
                    .to_owned();
            }
            _ => return None,
        }
        Some(l)
    }

    /// An einsum or binary op with constants, evaluated by tract once per id value on the
    /// table's row. A constant must not vary along an ids axis (it is cut to one slice
    /// there), and an einsum must not sum over one; otherwise the table is materialized.
    fn lut_per_id(&self, node: &TypedNode, ins: &[Val]) -> Result<Option<Lut>, CompileError> {
        let luts: Vec<&Lut> = ins
            .iter()
            .filter_map(|v| if let Val::Lut(l) = v { Some(l) } else { None })
            .collect();
        let [l] = luts[..] else { return Ok(None) };
        let Some((axes, id_axes)) = self.lut_out_axes(node, ins, l) else {
            return Ok(None);
        };
        let mut consts: Vec<Option<Arc<Tensor>>> = Vec::new();
        for (v, ids) in ins.iter().zip(&id_axes) {
            consts.push(match v {
                Val::Known(k) => match one_slice(&k.t, ids) {
                    Some(t) => Some(t),
                    None => return Ok(None),
                },
                _ => None,
            });
        }
        let depth = l.table.shape()[0];
        let pos = ins
            .iter()
            .position(|v| matches!(v, Val::Lut(_)))
            .unwrap_or(0);
        let mut rows = Vec::with_capacity(depth);
        for d in 0..depth {
            let row = l.table.index_axis(Axis(0), d).to_owned();
            let Some(row) = self.typed_like(node, pos, &row) else {
                return Ok(None);
            };
            let args = consts
                .iter()
                .map(|c| c.clone().unwrap_or_else(|| row.clone()))
                .collect();
            let Ok(out) = fold(node, args) else {
                return Ok(None);
            };
            let out = to_f64(&out[0]).map_err(|e| self.unsupported(node, e))?;
            rows.push(out.insert_axis(Axis(0)));
        }
        let views: Vec<ArrayViewD<f64>> = rows.iter().map(|r| r.view()).collect();
        let table =
            concatenate(Axis(0), &views).map_err(|e| self.unsupported(node, e.to_string()))?;
        let ok = table.ndim() == axes.len() + 1
            && axes
                .iter()
                .enumerate()
                .all(|(k, a)| a.is_none() || table.shape()[k + 1] == 1);
        let owner = l.owner || ins.iter().any(|v| matches!(v, Val::Known(k) if k.owner));
        Ok(ok.then(|| Lut {
            oh: l.oh,
            axes,
            table,
            name: l.name.clone(),
            owner,
        }))
    }

    /// For an einsum or binary op on one table operand: the ids axis of each output axis,
    /// and for each operand the axes that run along an ids axis.
    #[allow(clippy::type_complexity)]
    fn lut_out_axes(
        &self,
        node: &TypedNode,
        ins: &[Val],
        l: &Lut,
    ) -> Option<(Vec<Option<usize>>, Vec<Vec<usize>>)> {
        let pos = ins.iter().position(|v| matches!(v, Val::Lut(_)))?;
        if let Some(op) = node.op_as::<EinSum>() {
            let (ins_s, outs_s) = op.axes.to_strs();
            let labels: Vec<char> = ins_s[pos].chars().collect();
            let out: Vec<char> = outs_s.first()?.chars().collect();
            let id_of = |c: char| labels.iter().position(|&x| x == c).and_then(|q| l.axes[q]);
            if labels
                .iter()
                .zip(&l.axes)
                .any(|(c, a)| a.is_some() && !out.contains(c))
            {
                return None;
            }
            let axes = out.iter().map(|&c| id_of(c)).collect();
            let id_axes = ins_s
                .iter()
                .map(|s| {
                    s.chars()
                        .enumerate()
                        .filter(|&(_, c)| id_of(c).is_some())
                        .map(|(q, _)| q)
                        .collect()
                })
                .collect();
            return Some((axes, id_axes));
        }
        let out_rank = node.outputs[0].fact.rank();
        let mut axes = vec![None; out_rank.checked_sub(l.axes.len())?];
        axes.extend(l.axes.iter().copied());
        let id_axes = ins
            .iter()
            .map(|v| match v {
                Val::Known(k) => {
                    let off = out_rank.saturating_sub(k.t.rank());
                    (0..k.t.rank())
                        .filter(|&q| axes.get(q + off).is_some_and(|a| a.is_some()))
                        .collect()
                }
                _ => Vec::new(),
            })
            .collect();
        Some((axes, id_axes))
    }

    /// Concatenation of tables of the same ids along a table axis.
    fn lut_concat(&self, ins: &[Val], axis: usize) -> Option<Lut> {
        let luts: Vec<&Lut> = ins
            .iter()
            .filter_map(|v| if let Val::Lut(l) = v { Some(l) } else { None })
            .collect();
        let first = luts.first()?;
        let same = luts.len() == ins.len()
            && luts
                .iter()
                .all(|l| l.oh == first.oh && l.axes == first.axes);
        if !same || first.axes[axis].is_some() {
            return None;
        }
        let views: Vec<ArrayViewD<f64>> = luts.iter().map(|l| l.table.view()).collect();
        let table = concatenate(Axis(axis + 1), &views).ok()?;
        Some(Lut {
            table,
            ..(*first).clone()
        })
    }

    /// The value of a table: `one_hot · table`, truncated, arranged in the value's axes.
    pub fn lut_materialize(&mut self, node: &TypedNode, l: &Lut) -> Result<Sec, CompileError> {
        let key = (format!("{}#lut", l.name), self.f);
        if let Some(&v) = self.cache.get(&key) {
            return Ok(Sec::plain(v));
        }
        let depth = l.table.shape()[0];
        let ids = self.shape(l.oh)[..self.shape(l.oh).len() - 1].to_vec();
        let kept: Vec<usize> = l.axes.iter().filter_map(|a| *a).collect();
        if (0..ids.len()).any(|i| !kept.contains(&i) && ids[i] != 1) {
            return Err(self.unsupported(node, "a table value lost an ids axis"));
        }
        let table_axes: Vec<usize> = (0..l.axes.len()).filter(|&k| l.axes[k].is_none()).collect();
        let e: Vec<usize> = table_axes.iter().map(|&k| l.table.shape()[k + 1]).collect();
        let cols: usize = e.iter().product();
        let t2 = ArrayD::from_shape_vec(IxDyn(&[depth, cols]), l.table.iter().copied().collect())
            .map_err(|e| self.unsupported(node, e.to_string()))?;
        let k = Known {
            t: Arc::new(from_f64(&t2)),
            owner: l.owner,
            name: format!("{}[table]", l.name),
        };
        let w = self.materialize(&k, &t2, "", self.f);
        let mut ms = ids.clone();
        ms.push(cols);
        let m = self.emit(Op::MatMul, &[l.oh, w], &node.name);
        let m = self.rescale(m, self.f, &node.name);
        let mut cur: Vec<usize> = kept.iter().map(|&i| ids[i]).collect();
        cur.extend(&e);
        let m = self.reshape(m, &cur, &node.name);
        let perm: Vec<usize> = l
            .axes
            .iter()
            .enumerate()
            .map(|(k, a)| match a {
                Some(i) => kept.iter().position(|x| x == i).unwrap_or(0),
                None => kept.len() + table_axes.iter().position(|&t| t == k).unwrap_or(0),
            })
            .collect();
        let v = self.transpose(m, &perm, &node.name);
        self.cache.insert(key, v);
        Ok(Sec::plain(v))
    }
}

/// `t` cut to its first slice along `axes` when it is constant along them; `None` when it
/// varies there.
fn one_slice(t: &Arc<Tensor>, axes: &[usize]) -> Option<Arc<Tensor>> {
    if axes.iter().all(|&a| t.shape()[a] == 1) {
        return Some(t.clone());
    }
    let a = to_f64(t).ok()?;
    let mut cut = a.clone();
    for &ax in axes {
        cut = cut
            .slice_axis(Axis(ax), ndarray::Slice::from(0..1))
            .to_owned();
    }
    let back = cut.broadcast(a.raw_dim())?;
    if back != a.view() {
        return None;
    }
    Some(Arc::new(
        from_f64(&cut).cast_to_dt(t.datum_type()).ok()?.into_owned(),
    ))
}
