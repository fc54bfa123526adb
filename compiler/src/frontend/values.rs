//! What a tract outlet became during lowering (a known tensor, a secret IR value or a
//! one-hot input), and the helpers that emit IR nodes with their types.

use super::lower::Lowerer;
use mpcc_ir::{typing, Op, Range, ValueId, ValueType, Vis, WeightTensor};
use ndarray::ArrayD;
use std::sync::Arc;
use tract_onnx::prelude::*;

/// A tensor known at compile time.
#[derive(Clone, Debug)]
pub(super) struct Known {
    /// The value.
    pub t: Arc<Tensor>,
    /// True when it is (derived from) the owner's weights; false for public constants.
    pub owner: bool,
    /// Name of the node that made it (weight names and cache keys start with it).
    pub name: String,
}

/// A value computed at run time: an IR value holding reals at its type's scale.
#[derive(Clone, Debug)]
pub(super) struct Sec {
    /// The IR value.
    pub id: ValueId,
    /// For a boolean made by `Cast(x -> Bool)`: the outlet of x (the mask pattern).
    pub cast_of: Option<OutletId>,
    /// Known bounds of every element, when tracked (index arithmetic).
    pub range: Option<(f64, f64)>,
}

impl Sec {
    /// A value with nothing else known about it.
    pub fn plain(id: ValueId) -> Sec {
        Sec {
            id,
            cast_of: None,
            range: None,
        }
    }
}

/// What a tract outlet lowered to.
#[derive(Clone, Debug)]
pub(super) enum Val {
    /// Known at compile time.
    Known(Known),
    /// Computed at run time.
    Sec(Sec),
    /// A position-wise function of one-hot ids, as a compile-time table.
    Lut(super::lut::Lut),
    /// An integer input held as one-hot rows `[.., depth]` at scale f.
    OneHot {
        /// The IR input value.
        id: ValueId,
        /// Number of classes.
        depth: usize,
    },
}

impl Lowerer<'_> {
    /// A run-time value whose elements lie in `range` when it is known; the range goes to
    /// the graph's side table (`facts.range`), intersected with one known before.
    pub fn ranged(&mut self, id: ValueId, range: Option<(f64, f64)>) -> Sec {
        if let Some((lo, hi)) = range {
            let r = self.g.facts.range.entry(id).or_insert(Range { lo, hi });
            *r = Range {
                lo: r.lo.max(lo),
                hi: r.hi.min(hi),
            };
        }
        Sec {
            id,
            cast_of: None,
            range,
        }
    }

    /// Appends a computed node typed by the IR's typing rule ([`typing::output_type`]). A
    /// node the rule refuses is a front end bug: the first one is kept in `type_error` and
    /// reported when the lowering of the current ONNX node ends (the node gets its first
    /// operand's type meanwhile, so that the lowering can go on to there).
    pub fn emit(&mut self, op: Op, ins: &[ValueId], origin: &str) -> ValueId {
        self.emit_typed(op, ins, None, origin)
    }

    /// Appends a `reshape` or `broadcast` to `shape` (the ops whose rule reads the declared
    /// output shape).
    pub fn emit_to(&mut self, op: Op, ins: &[ValueId], shape: &[usize], origin: &str) -> ValueId {
        self.emit_typed(op, ins, Some(shape), origin)
    }

    fn emit_typed(
        &mut self,
        op: Op,
        ins: &[ValueId],
        shape: Option<&[usize]>,
        origin: &str,
    ) -> ValueId {
        let tys: Vec<&ValueType> = ins.iter().map(|&v| self.g.ty(v)).collect();
        let ty = match typing::output_type(&op, &tys, shape) {
            Ok(ty) => ty,
            Err(e) => {
                let first = tys.first().map(|t| (*t).clone());
                self.type_error.get_or_insert((op.name(), e));
                first.unwrap_or_else(|| ValueType::z64(&[], 0, Vis::Public))
            }
        };
        self.g.add(op, ins, ty, origin)
    }

    /// Index of the node that defines `v` (nodes define values in order).
    pub fn def_index(&self, v: ValueId) -> usize {
        self.g
            .nodes
            .iter()
            .rposition(|n| n.output == v)
            .unwrap_or(0)
    }

    /// Shape of an IR value.
    pub fn shape(&self, v: ValueId) -> Vec<usize> {
        self.g.ty(v).shape.clone()
    }

    /// Scale of an IR value.
    pub fn scale(&self, v: ValueId) -> u32 {
        self.g.ty(v).scale
    }

    /// Brings `v` to `scale` with a local shift up or a truncation down.
    pub fn rescale(&mut self, v: ValueId, scale: u32, origin: &str) -> ValueId {
        let s = self.scale(v);
        if s < scale {
            self.emit(Op::Shl { bits: scale - s }, &[v], origin)
        } else if s > scale {
            self.emit(Op::Trunc { bits: s - scale }, &[v], origin)
        } else {
            v
        }
    }

    /// Reshapes `v` (no node when the shape already matches).
    pub fn reshape(&mut self, v: ValueId, shape: &[usize], origin: &str) -> ValueId {
        if self.g.ty(v).shape == shape {
            return v;
        }
        // A reshape of a reshape reads the first one's operand (the inner one may go dead).
        let def = &self.g.nodes[self.def_index(v)];
        let v = if def.op == Op::Reshape {
            def.inputs[0]
        } else {
            v
        };
        if self.g.ty(v).shape == shape {
            return v;
        }
        self.emit_to(Op::Reshape, &[v], shape, origin)
    }

    /// Permutes the axes of `v` (no node for the identity).
    pub fn transpose(&mut self, v: ValueId, perm: &[usize], origin: &str) -> ValueId {
        let old = self.shape(v);
        let shape: Vec<usize> = perm.iter().map(|&p| old[p]).collect();
        // Moving only size-1 axes keeps the row-major order: a reshape.
        let big: Vec<usize> = perm.iter().copied().filter(|&p| old[p] != 1).collect();
        if big.windows(2).all(|w| w[0] < w[1]) {
            return self.reshape(v, &shape, origin);
        }
        let op = Op::Transpose {
            perm: perm.to_vec(),
        };
        self.emit(op, &[v], origin)
    }

    /// A public constant at `scale`.
    pub fn constant(&mut self, a: &ArrayD<f64>, scale: u32, origin: &str) -> ValueId {
        let ty = ValueType::z64(a.shape(), scale, Vis::Public);
        let values = a.iter().copied().collect();
        self.g.add(Op::Const { values }, &[], ty, origin)
    }

    /// Puts a known tensor (or a compile-time transform of it, named by `variant`) into the
    /// graph at `scale`: an owner weight, or a public constant.
    pub fn materialize(
        &mut self,
        k: &Known,
        a: &ArrayD<f64>,
        variant: &str,
        scale: u32,
    ) -> ValueId {
        let key = (format!("{}{variant}", k.name), scale);
        if let Some(&v) = self.cache.get(&key) {
            return v;
        }
        let v = if k.owner {
            self.weight(&key.0, a, scale, &k.name)
        } else {
            self.constant(a, scale, &k.name)
        };
        self.cache.insert(key, v);
        v
    }

    /// An owner weight node; its data goes to the weights file.
    fn weight(&mut self, name: &str, a: &ArrayD<f64>, scale: u32, origin: &str) -> ValueId {
        if self.tensors.iter().all(|t| t.name != name) {
            self.tensors.push(WeightTensor {
                name: name.to_string(),
                shape: a.shape().to_vec(),
                data: a.iter().map(|&v| v as f32).collect(),
            });
        }
        let vis = if self.opts.public_weights {
            Vis::Public
        } else {
            Vis::Owner
        };
        let ty = ValueType::z64(a.shape(), scale, vis);
        let op = Op::Weight {
            name: name.to_string(),
        };
        self.g.add(op, &[], ty, origin)
    }
}
