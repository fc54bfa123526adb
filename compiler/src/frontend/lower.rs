//! The walk over tract's decluttered model: sources, constants, folding, dispatch of each
//! operator to its lowering, and the graph outputs.

use super::known::{fold, to_f64};
use super::values::{Known, Sec, Val};
use super::{CompileError, FrontendOptions};
use mpcc_ir::{Graph, InputEncoding, Op, ValueId, ValueType, Vis, WeightTensor, CLIENT};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{
    CumSum, Gather, MultiBroadcastTo, Pad, Slice, TypedConcat,
};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::logic::Iff;
use tract_onnx::tract_core::ops::nn::{Reduce, RmsNorm, Softmax};
use tract_onnx::tract_core::ops::quant::DequantizeLinearF32;
use tract_onnx::tract_core::ops::source::TypedSource;

/// State of one lowering: the IR being built and what each tract outlet became.
pub(super) struct Lowerer<'a> {
    /// The decluttered model.
    pub model: &'a TypedModel,
    /// The owner's initializers, which the model holds as sources, by name.
    pub secrets: &'a super::ownership::Secrets,
    /// Front end options.
    pub opts: &'a FrontendOptions,
    /// The IR graph.
    pub g: Graph,
    /// Owner weights referenced by `weight` nodes.
    pub tensors: Vec<WeightTensor>,
    /// Lowered value of each tract outlet.
    pub vals: HashMap<OutletId, Val>,
    /// Materialized known tensors, by (weight name, scale).
    pub cache: HashMap<(String, u32), ValueId>,
    /// One-hot depth of each integer source used as gather indices, by node id.
    pub one_hot: HashMap<usize, usize>,
    /// Integer sources lowered through lookup tables (one-hot of depth = last dim).
    pub tables: std::collections::HashSet<usize>,
    /// Fraction bits f.
    pub f: u32,
    /// Counter that keeps the names of compile-time intermediates apart.
    pub tmp: usize,
    /// The first node that its typing rule refused (a front end bug), reported when the
    /// lowering of the ONNX node that emitted it ends.
    pub type_error: Option<(&'static str, mpcc_ir::typing::TypeError)>,
}

/// Lowers the typed model to an IR graph and the owner's weight tensors.
pub(super) fn lower(
    model: &TypedModel,
    opts: &FrontendOptions,
    secrets: &super::ownership::Secrets,
) -> Result<(Graph, Vec<WeightTensor>), CompileError> {
    let known = known_nodes(model, secrets);
    let mut l = Lowerer {
        model,
        secrets,
        opts,
        g: Graph::new(opts.frac_bits),
        tensors: Vec::new(),
        vals: HashMap::new(),
        cache: HashMap::new(),
        one_hot: super::gather::plan_one_hot(model, &known),
        tables: super::lut::plan_tables(model, &known),
        f: opts.frac_bits,
        tmp: 0,
        type_error: None,
    };
    let order = model
        .eval_order()
        .map_err(|e| CompileError::bug_from("tract's model has no evaluation order", e))?;
    for id in order {
        l.node(model.node(id))?;
    }
    l.outputs()?;
    let g = drop_dead(l.g)?;
    let mut tensors = l.tensors;
    tensors.retain(|t| {
        g.nodes
            .iter()
            .any(|n| matches!(&n.op, Op::Weight { name } if *name == t.name))
    });
    Ok((g, tensors))
}

/// The nodes whose values are known at compile time: constants, the owner's initializers
/// (sources named in `secrets`) and nodes computed from known values only.
pub(super) fn known_nodes(
    model: &TypedModel,
    secrets: &super::ownership::Secrets,
) -> std::collections::HashSet<usize> {
    let mut known = std::collections::HashSet::new();
    for node in model.nodes() {
        let is_source = node.op_as::<TypedSource>().is_some();
        let k = if is_source {
            secrets.contains_key(&node.name)
        } else {
            node.outputs.iter().all(|o| o.fact.konst.is_some())
                || (!node.inputs.is_empty() && node.inputs.iter().all(|i| known.contains(&i.node)))
        };
        if k {
            known.insert(node.id);
        }
    }
    known
}

/// Drops the nodes that no output needs ([`mpcc_passes::dead_code::dead_code`]), then the
/// weights that nothing reads (`dead_code` keeps every source; the front end materializes
/// some weights that a later fold or rewrite leaves unused, and those must not be shipped).
/// Graph inputs stay even when unused: the plan declares every model input.
fn drop_dead(mut g: Graph) -> Result<Graph, CompileError> {
    mpcc_passes::dead_code::dead_code(&mpcc_passes::PassCtx::default(), &mut g)?;
    let mut used = vec![false; g.values.len()];
    g.nodes
        .iter()
        .flat_map(|n| &n.inputs)
        .for_each(|v| used[v.index()] = true);
    let unused_weight =
        |n: &mpcc_ir::Node| matches!(n.op, Op::Weight { .. }) && !used[n.output.index()];
    if !g.nodes.iter().any(unused_weight) {
        return Ok(g);
    }
    let g = mpcc_passes::rewrite::rebuild(&g, |_, n| {
        Ok(if unused_weight(n) {
            mpcc_passes::rewrite::Rewrite::Drop
        } else {
            mpcc_passes::rewrite::Rewrite::Keep
        })
    })?;
    Ok(g)
}

impl Lowerer<'_> {
    /// The error for an operator (or a use of it) that has no lowering.
    pub fn unsupported(&self, node: &TypedNode, reason: impl Into<String>) -> CompileError {
        CompileError::Unsupported {
            op: node.op.name().to_string(),
            node: node.name.clone(),
            reason: reason.into(),
        }
    }

    /// The concrete shape of `node`'s output `slot`.
    pub fn out_shape(&self, node: &TypedNode) -> Result<Vec<usize>, CompileError> {
        let fact = &node.outputs[0].fact;
        fact.shape
            .as_concrete()
            .map(|s| s.to_vec())
            .ok_or_else(|| CompileError::NotConcrete {
                op: node.op.name().to_string(),
                node: node.name.clone(),
                shape: format!("{:?}", fact.shape),
            })
    }

    /// The lowered value of `node`'s input `i`.
    pub fn input(&self, node: &TypedNode, i: usize) -> Result<Val, CompileError> {
        node.inputs
            .get(i)
            .and_then(|o| self.vals.get(o))
            .cloned()
            .ok_or_else(|| self.unsupported(node, format!("input {i} was not lowered")))
    }

    fn node(&mut self, node: &TypedNode) -> Result<(), CompileError> {
        if node.outputs.len() != 1 {
            return Err(self.unsupported(node, "operators with several outputs are not supported"));
        }
        let val = if let Some(t) = self.secrets.get(&node.name) {
            Val::Known(Known {
                t: t.clone(),
                owner: true,
                name: node.name.clone(),
            })
        } else if node.op_as::<TypedSource>().is_some() {
            self.source(node)?
        } else if let Some(k) = self.known_node(node)? {
            Val::Known(k)
        } else {
            self.lower_op(node)?
        };
        if let Some((op, e)) = self.type_error.take() {
            let what = format!(
                "lowering ONNX node '{}' ({}) made a {op} that its typing rule refuses",
                node.name,
                node.op.name()
            );
            return Err(CompileError::bug_from(what, e));
        }
        self.vals.insert(OutletId::new(node.id, 0), val);
        Ok(())
    }

    /// A graph input: client-owned and secret. Floats are fixed point at scale f; integers
    /// that index a table are one-hot rows; other integers (masks) are shared as integers
    /// (scale 0, so the plan declares them int64) and shifted to scale f locally.
    fn source(&mut self, node: &TypedNode) -> Result<Val, CompileError> {
        let mut shape = self.out_shape(node)?;
        let table_depth = self
            .tables
            .contains(&node.id)
            .then(|| self.opts.table_depth.or(shape.last().copied()))
            .flatten();
        let depth = self.one_hot.get(&node.id).copied().or(table_depth);
        let dt = node.outputs[0].fact.datum_type;
        let (encoding, scale) = match depth {
            Some(depth) => {
                shape.push(depth);
                (InputEncoding::OneHot { depth }, self.f)
            }
            None if dt.is_float() => (InputEncoding::Fixed, self.f),
            None => (InputEncoding::Int, 0),
        };
        let ty = ValueType::z64(&shape, scale, Vis::Client);
        let op = Op::Input {
            name: node.name.clone(),
            owner: CLIENT,
            encoding,
        };
        let id = self.g.add(op, &[], ty, &node.name);
        Ok(match depth {
            Some(depth) if !self.one_hot.contains_key(&node.id) => {
                Val::Lut(self.lut_source(id, depth, &node.name))
            }
            Some(depth) => Val::OneHot { id, depth },
            None => Val::Sec(Sec::plain(self.rescale(id, self.f, &node.name))),
        })
    }

    /// A constant, or a node whose operands are all known (folded with tract).
    fn known_node(&mut self, node: &TypedNode) -> Result<Option<Known>, CompileError> {
        let ins: Vec<Val> = (0..node.inputs.len())
            .map(|i| self.input(node, i))
            .collect::<Result<_, _>>()?;
        let owner_in = ins.iter().any(|v| matches!(v, Val::Known(k) if k.owner));
        let all_known = ins.iter().all(|v| matches!(v, Val::Known(_)));
        let konst = node.outputs[0].fact.konst.clone();
        let t = match konst {
            // tract knows the value: a constant, or something it derived from constants and
            // shapes. The owner's initializers are sources, so nothing here is theirs.
            Some(t) => {
                let name = node.name.clone();
                return Ok(Some(Known {
                    t,
                    owner: false,
                    name,
                }));
            }
            None if all_known => {
                let ts = ins
                    .iter()
                    .filter_map(|v| match v {
                        Val::Known(k) => Some(k.t.clone()),
                        _ => None,
                    })
                    .collect();
                let mut outs = fold(node, ts)
                    .map_err(|e| self.unsupported(node, format!("cannot fold: {e}")))?;
                outs.remove(0)
            }
            None => return Ok(None),
        };
        Ok(Some(Known {
            t,
            owner: owner_in,
            name: node.name.clone(),
        }))
    }

    fn lower_op(&mut self, node: &TypedNode) -> Result<Val, CompileError> {
        if let Some(v) = self.lut_op(node)? {
            Ok(v)
        } else if let Some(op) = node.op_as::<EinSum>() {
            self.einsum(node, op)
        } else if let Some(op) = node.op_as::<TypedBinOp>() {
            self.binop(node, op.0.name())
        } else if let Some(op) = node.op_as::<ElementWiseOp>() {
            match self.quantize(node, &op.0.name())? {
                Some(v) => Ok(v),
                None => self.unary(node, op),
            }
        } else if let Some(op) = node.op_as::<DequantizeLinearF32>() {
            self.dequantize(node, op.scale, op.zero_point)
        } else if let Some(op) = node.op_as::<Reduce>() {
            self.reduce(node, op)
        } else if let Some(op) = node.op_as::<Softmax>() {
            self.softmax(node, op)
        } else if let Some(op) = node.op_as::<RmsNorm>() {
            self.rms_norm(node, op)
        } else if let Some(op) = node.op_as::<AxisOp>() {
            self.axis_op(node, op)
        } else if node.op_as::<MultiBroadcastTo>().is_some() {
            self.broadcast(node)
        } else if let Some(op) = node.op_as::<Slice>() {
            self.slice(node, op)
        } else if let Some(op) = node.op_as::<Pad>() {
            self.pad(node, op)
        } else if let Some(op) = node.op_as::<TypedConcat>() {
            self.concat(node, op.axis)
        } else if let Some(op) = node.op_as::<Gather>() {
            self.gather(node, op.axis)
        } else if let Some(op) = node.op_as::<Cast>() {
            self.cast(node, op.to)
        } else if node.op_as::<Iff>().is_some() {
            self.iff(node)
        } else if let Some(op) = node.op_as::<CumSum>() {
            self.cumsum(node, op)
        } else if let Some(op) = node.op_as::<Conv>() {
            self.conv(node, op)
        } else {
            Err(self.unsupported(node, "no lowering for this operator on run-time data"))
        }
    }

    /// Reveals every model output to the client, at scale f.
    fn outputs(&mut self) -> Result<(), CompileError> {
        let outlets = self
            .model
            .output_outlets()
            .map_err(|e| CompileError::bug_from("tract lists no model outputs", e))?
            .to_vec();
        for o in outlets {
            let node = self.model.node(o.node);
            let name = self.model.outlet_label(o).unwrap_or(&node.name).to_string();
            let val = self
                .vals
                .get(&o)
                .cloned()
                .ok_or_else(|| CompileError::bug(format!("output '{name}' was not lowered")))?;
            let v = self.sec(node, &val)?.id;
            let v = self.rescale(v, self.f, &node.name);
            let ty = self.g.ty(v).clone();
            let op = Op::Output {
                name,
                to: vec![CLIENT],
            };
            self.g.add(op, &[v], ty, &node.name);
        }
        Ok(())
    }

    /// A known tensor as f64.
    pub fn known_f64(&self, node: &TypedNode, k: &Known) -> Result<ArrayD<f64>, CompileError> {
        to_f64(&k.t).map_err(|e| self.unsupported(node, format!("constant '{}': {e}", k.name)))
    }

    /// Any value as an IR value holding reals: one-hot ids become the id values, known
    /// tensors are materialized at scale f.
    pub fn sec(&mut self, node: &TypedNode, v: &Val) -> Result<Sec, CompileError> {
        let origin = node.name.as_str();
        Ok(match v {
            Val::Sec(s) => s.clone(),
            Val::OneHot { id, depth } => {
                let arange = ArrayD::from_shape_fn(IxDyn(&[*depth, 1]), |ix| ix[0] as f64);
                let c = self.constant(&arange, 0, origin);
                let mut shape = self.shape(*id);
                let last = shape.len() - 1;
                shape[last] = 1;
                let m = self.emit(Op::MatMul, &[*id, c], origin);
                shape.pop();
                let r = self.reshape(m, &shape, origin);
                self.ranged(r, Some((0.0, (*depth - 1) as f64)))
            }
            Val::Known(k) => {
                let a = self.known_f64(node, k)?;
                Sec::plain(self.materialize(k, &a, "", self.f))
            }
            Val::Lut(l) => self.lut_materialize(node, l)?,
        })
    }
}
