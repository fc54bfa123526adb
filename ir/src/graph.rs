//! The IR graph: typed values and single-output nodes in topological order, with its verifier.

use crate::facts::{Facts, NodeFacts, Range};
use crate::op::Op;
use crate::types::{Ring, ValueType};
use crate::typing;
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
    /// Side tables: origin facts and known ranges, keyed by value.
    pub facts: Facts,
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
            facts: Facts::default(),
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

    /// Appends a non-source node whose output type follows from the typing rule
    /// ([`typing::output_type`]); `shape` is the output shape for `reshape` and `broadcast`.
    pub fn add_typed(
        &mut self,
        op: Op,
        inputs: &[ValueId],
        shape: Option<&[usize]>,
        origin: &str,
    ) -> Result<ValueId, typing::TypeError> {
        let ins: Vec<&ValueType> = inputs.iter().map(|&v| self.ty(v)).collect();
        let ty = typing::output_type(&op, &ins, shape)?;
        Ok(self.add(op, inputs, ty, origin))
    }

    /// The origin facts of the node that defines `v`, if known.
    pub fn node_facts(&self, v: ValueId) -> Option<&NodeFacts> {
        self.facts.node.get(&v)
    }

    /// The known range of `v`, if any.
    pub fn range(&self, v: ValueId) -> Option<Range> {
        self.facts.range.get(&v).copied()
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
        let n = self.values.len();
        if let Some(v) = self
            .facts
            .node
            .keys()
            .chain(self.facts.range.keys())
            .find(|v| v.index() >= n)
        {
            return Err(VerifyError {
                index: self.nodes.len(),
                op: "facts",
                origin: String::new(),
                message: format!("a side table names {v}, which the graph does not define"),
            });
        }
        Ok(())
    }

    fn check_types(&self, node: &Node) -> Result<(), String> {
        let out = self.ty(node.output);
        if node.op.is_source() {
            return typing::check_source(&node.op, out).map_err(|e| e.0);
        }
        let ins: Vec<&ValueType> = node.inputs.iter().map(|&v| self.ty(v)).collect();
        let want = typing::output_type(&node.op, &ins, Some(&out.shape)).map_err(|e| e.0)?;
        if want != *out {
            return Err(format!("output type {out}, the typing rule gives {want}"));
        }
        Ok(())
    }

    /// The ring of a fresh fixed-point value in this graph.
    pub fn default_ring(&self) -> Ring {
        Ring::Z64
    }
}
