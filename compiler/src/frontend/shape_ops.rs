//! Shape operators on run-time values: AxisOp (add/remove/move axes, reshape),
//! MultiBroadcastTo, Slice and Concat. On a one-hot input they act on the leading dims and
//! keep the one-hot dim last.

use super::lower::Lowerer;
use super::values::{Sec, Val};
use super::CompileError;
use mpcc_ir::{Op, ValueId};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode, Slice};
use tract_onnx::tract_core::ops::change_axes::AxisOp;

/// The permutation of tract's `Move(from, to)` on `rank` axes.
fn move_perm(rank: usize, from: usize, to: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rank).collect();
    let a = order.remove(from);
    order.insert(to, a);
    order
}

impl Lowerer<'_> {
    /// Applies a shape-only op to a run-time value: `f` gets the IR value and its target
    /// shape (the one-hot dim included) and returns the new IR value.
    fn on_shape(
        &mut self,
        node: &TypedNode,
        f: impl FnOnce(&mut Self, ValueId, Vec<usize>) -> Result<ValueId, CompileError>,
    ) -> Result<Val, CompileError> {
        let a = self.input(node, 0)?;
        let mut shape = self.out_shape(node)?;
        match a {
            Val::OneHot { id, depth } => {
                shape.push(depth);
                Ok(Val::OneHot {
                    id: f(self, id, shape)?,
                    depth,
                })
            }
            other => {
                let s = self.sec(node, &other)?;
                let id = f(self, s.id, shape)?;
                Ok(Val::Sec(self.ranged(id, s.range)))
            }
        }
    }

    /// `AxisOp`: moves become transposes, everything else a reshape to the output shape.
    pub fn axis_op(&mut self, node: &TypedNode, op: &AxisOp) -> Result<Val, CompileError> {
        let name = node.name.clone();
        self.on_shape(node, |l, v, shape| {
            Ok(match op {
                AxisOp::Move(from, to) => {
                    let perm = move_perm(l.shape(v).len(), *from, *to);
                    l.transpose(v, &perm, &name)
                }
                _ => l.reshape(v, &shape, &name),
            })
        })
    }

    /// `MultiBroadcastTo`: an explicit broadcast to the output shape.
    pub fn broadcast(&mut self, node: &TypedNode) -> Result<Val, CompileError> {
        let name = node.name.clone();
        self.on_shape(node, |l, v, shape| {
            if l.shape(v) == shape {
                return Ok(v);
            }
            Ok(l.emit_to(Op::Broadcast, &[v], &shape, &name))
        })
    }

    /// `Slice` with constant bounds.
    pub fn slice(&mut self, node: &TypedNode, op: &Slice) -> Result<Val, CompileError> {
        let start = op
            .start
            .to_i64()
            .map_err(|_| self.unsupported(node, "symbolic slice start"))?;
        let end = op
            .end
            .to_i64()
            .map_err(|_| self.unsupported(node, "symbolic slice end"))?;
        if start < 0 || end < start {
            return Err(self.unsupported(node, format!("slice {start}..{end}")));
        }
        let (axis, name) = (op.axis, node.name.clone());
        self.on_shape(node, |l, v, _| {
            let op = Op::Slice {
                axis,
                start: start as usize,
                end: end as usize,
                step: 1,
            };
            Ok(l.emit(op, &[v], &name))
        })
    }

    /// `Pad` with zeros (constant mode, value 0): a local op on shares.
    pub fn pad(&mut self, node: &TypedNode, op: &Pad) -> Result<Val, CompileError> {
        let zero = match &op.mode {
            PadMode::Constant(c) => c.cast_to_scalar::<f64>().map(|v| v == 0.0).unwrap_or(false),
            _ => false,
        };
        if !zero {
            return Err(self.unsupported(
                node,
                "only zero padding (mode constant, value 0) is supported",
            ));
        }
        let v = self.input(node, 0)?;
        let s = self.sec(node, &v)?;
        let id = self.rescale(s.id, self.f, &node.name);
        let id = self.emit(
            Op::Pad {
                pads: op.pads.clone(),
            },
            &[id],
            &node.name,
        );
        Ok(Val::Sec(Sec::plain(id)))
    }

    /// `Concat`: every operand at scale f, known ones materialized.
    pub fn concat(&mut self, node: &TypedNode, axis: usize) -> Result<Val, CompileError> {
        let mut ids = Vec::new();
        for i in 0..node.inputs.len() {
            let v = self.input(node, i)?;
            let s = self.sec(node, &v)?;
            ids.push(self.rescale(s.id, self.f, &node.name));
        }
        let id = self.emit(Op::Concat { axis }, &ids, &node.name);
        Ok(Val::Sec(Sec::plain(id)))
    }
}
