//! The IR graph: typed values and single-output nodes in topological order, with its verifier.

use crate::op::{InputEncoding, Op, Piece};
use crate::types::{broadcast_shapes, Ring, ValueType, Vis, N_PARTIES};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Handle of an IR value (and of the plan slot that holds it). Prints as `v3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueId(pub u32);

impl ValueId {
    /// The index into [`Graph::values`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// One operation with its operands, its output and the ONNX node it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The operation.
    pub op: Op,
    /// Operands; each is defined by an earlier node.
    pub inputs: Vec<ValueId>,
    /// The value this node defines.
    pub output: ValueId,
    /// Name of the ONNX node this op was lowered from (for costs and errors).
    pub origin: String,
}

/// A dataflow graph of tensor ops.
///
/// **Invariant:** `nodes` are in topological order: every operand of a node is the output of
/// an earlier node, and every value is the output of exactly one node. [`Graph::verify`]
/// checks this once so later code may assume it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Type of each value, indexed by [`ValueId`].
    pub values: Vec<ValueType>,
    /// Nodes in execution order.
    pub nodes: Vec<Node>,
    /// Default fraction bits of fixed-point values.
    pub frac_bits: u32,
}

/// A verifier finding: which node, which op, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("node {index} ({op} from ONNX node '{origin}'): {message}")]
pub struct VerifyError {
    /// Position of the node in [`Graph::nodes`].
    pub index: usize,
    /// The op's name.
    pub op: &'static str,
    /// The ONNX node it came from.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl Graph {
    /// An empty graph with `frac_bits` fraction bits by default.
    pub fn new(frac_bits: u32) -> Graph {
        Graph {
            values: Vec::new(),
            nodes: Vec::new(),
            frac_bits,
        }
    }

    /// Appends a node that defines a new value of type `ty`; returns that value.
    pub fn add(&mut self, op: Op, inputs: &[ValueId], ty: ValueType, origin: &str) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ty);
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            output: id,
            origin: origin.to_string(),
        });
        id
    }

    /// The type of `v`.
    pub fn ty(&self, v: ValueId) -> &ValueType {
        &self.values[v.index()]
    }

    /// Checks the structural invariants and the typing rules of every node.
    /// With `kernels_only`, also refuses high-level ops that a plan may not hold.
    pub fn verify(&self, kernels_only: bool) -> Result<(), VerifyError> {
        let mut defined = vec![false; self.values.len()];
        for (index, node) in self.nodes.iter().enumerate() {
            let err = |message: String| VerifyError {
                index,
                op: node.op.name(),
                origin: node.origin.clone(),
                message,
            };
            for &i in &node.inputs {
                if i.index() >= self.values.len() || !defined[i.index()] {
                    return Err(err(format!("operand {i} is not defined before its use")));
                }
            }
            let o = node.output.index();
            if o >= self.values.len() {
                return Err(err(format!("output {} has no type", node.output)));
            }
            if defined[o] {
                return Err(err(format!("output {} is defined twice", node.output)));
            }
            defined[o] = true;
            if kernels_only && !node.op.is_kernel() {
                return Err(err(
                    "high-level op left in a plan: a lowering pass did not run".into(),
                ));
            }
            if let Some(n) = node.op.arity() {
                if node.inputs.len() != n {
                    return Err(err(format!(
                        "takes {n} operands, has {}",
                        node.inputs.len()
                    )));
                }
            }
            self.check_types(node).map_err(err)?;
        }
        Ok(())
    }

    fn check_types(&self, node: &Node) -> Result<(), String> {
        let out = self.ty(node.output);
        let ins: Vec<&ValueType> = node.inputs.iter().map(|&v| self.ty(v)).collect();
        let vis_join = ins.iter().fold(Vis::Public, |acc, t| acc.join(t.vis));
        for t in &ins {
            if t.ring != out.ring && !matches!(node.op, Op::CastRing { .. }) {
                return Err(format!(
                    "operand in ring {} but output in ring {}",
                    t.ring, out.ring
                ));
            }
        }
        match &node.op {
            Op::Input {
                owner, encoding, ..
            } => {
                if *owner as usize >= N_PARTIES {
                    return Err(format!("owner {owner} is not a party"));
                }
                if !out.vis.is_secret() {
                    return Err("an input must be secret".into());
                }
                if let InputEncoding::OneHot { depth } = encoding {
                    if out.shape.last() != Some(depth) {
                        return Err(format!("one-hot input's last dim must be {depth}"));
                    }
                }
            }
            Op::Const { values } => {
                if values.len() != out.len() {
                    return Err(format!(
                        "{} values for {} elements",
                        values.len(),
                        out.len()
                    ));
                }
                if out.vis != Vis::Public {
                    return Err("a constant is public".into());
                }
            }
            Op::Add | Op::Sub | Op::Mul | Op::Select => {
                let b = broadcast_shapes(&ins[0].shape, &ins[1].shape).ok_or_else(|| {
                    format!(
                        "shapes {:?} and {:?} do not broadcast",
                        ins[0].shape, ins[1].shape
                    )
                })?;
                if b != out.shape {
                    return Err(format!(
                        "output shape {:?}, broadcast gives {b:?}",
                        out.shape
                    ));
                }
                let want = match node.op {
                    Op::Mul => ins[0].scale + ins[1].scale,
                    Op::Select => {
                        if ins[1].scale != 0 {
                            return Err("select's second operand must hold bits at scale 0".into());
                        }
                        ins[0].scale
                    }
                    _ => {
                        if ins[0].scale != ins[1].scale {
                            return Err(format!(
                                "operand scales differ: {} and {}",
                                ins[0].scale, ins[1].scale
                            ));
                        }
                        ins[0].scale
                    }
                };
                if out.scale != want {
                    return Err(format!("output scale {}, expected {want}", out.scale));
                }
            }
            Op::MatMul => {
                let (a, b) = (&ins[0].shape, &ins[1].shape);
                if a.len() < 2 || b.len() < 2 {
                    return Err("matmul operands need rank ≥ 2".into());
                }
                if a[a.len() - 1] != b[b.len() - 2] {
                    return Err(format!("inner dims differ: {a:?} x {b:?}"));
                }
                let batch = broadcast_shapes(&a[..a.len() - 2], &b[..b.len() - 2])
                    .ok_or("batch dims do not broadcast")?;
                let mut want = batch;
                want.push(a[a.len() - 2]);
                want.push(b[b.len() - 1]);
                if want != out.shape {
                    return Err(format!("output shape {:?}, expected {want:?}", out.shape));
                }
                if out.scale != ins[0].scale + ins[1].scale {
                    return Err("matmul output scale must be the sum of operand scales".into());
                }
            }
            Op::Trunc { bits } => {
                if ins[0].scale < *bits || out.scale != ins[0].scale - bits {
                    return Err(format!(
                        "trunc by {bits} from scale {} to {}",
                        ins[0].scale, out.scale
                    ));
                }
            }
            Op::Reshape => {
                if ins[0].len() != out.len() {
                    return Err(format!(
                        "reshape {:?} to {:?} changes the size",
                        ins[0].shape, out.shape
                    ));
                }
            }
            Op::Transpose { perm } => {
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..ins[0].shape.len()).collect::<Vec<_>>() {
                    return Err(format!("{perm:?} is not a permutation"));
                }
                let want: Vec<usize> = perm.iter().map(|&p| ins[0].shape[p]).collect();
                if want != out.shape {
                    return Err(format!("output shape {:?}, expected {want:?}", out.shape));
                }
            }
            Op::Pad { pads } => {
                let want: Option<Vec<usize>> = (pads.len() == ins[0].shape.len()).then(|| {
                    ins[0]
                        .shape
                        .iter()
                        .zip(pads)
                        .map(|(d, (b, a))| d + b + a)
                        .collect()
                });
                if want.as_ref() != Some(&out.shape) {
                    return Err(format!(
                        "pads {pads:?} of {:?} do not give {:?}",
                        ins[0].shape, out.shape
                    ));
                }
            }
            Op::Ge { thresholds } => {
                let mut want = vec![thresholds.len()];
                want.extend(&ins[0].shape);
                if want != out.shape || out.scale != 0 {
                    return Err(format!("output must be {want:?} bits at scale 0"));
                }
            }
            Op::PiecewisePoly { breaks, pieces } => {
                if pieces.len() != breaks.len() + 1 {
                    return Err("needs one more piece than breaks".into());
                }
                if breaks.windows(2).any(|w| w[0] >= w[1]) {
                    return Err("breaks must increase".into());
                }
                if pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Poly(c) if c.is_empty()))
                {
                    return Err("empty polynomial".into());
                }
            }
            Op::Output { to, .. } => {
                if to.is_empty() || to.iter().any(|&p| p as usize >= N_PARTIES) {
                    return Err(format!("output parties {to:?} invalid"));
                }
            }
            _ => {}
        }
        let derived_vis = matches!(
            node.op,
            Op::Input { .. } | Op::Weight { .. } | Op::Const { .. } | Op::Output { .. }
        );
        if !derived_vis && out.vis != vis_join {
            return Err(format!(
                "visibility {} but operands give {}",
                out.vis.name(),
                vis_join.name()
            ));
        }
        Ok(())
    }

    /// The ring of a fresh fixed-point value in this graph.
    pub fn default_ring(&self) -> Ring {
        Ring::Z64
    }
}
