//! Removes nodes whose value no output needs. Sources (`input`, `weight`) stay, since the
//! plan declares them and their owners supply them; `output` nodes are the roots.
//!
//! Before:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<2,z64,f18> @ "x"
//! v1 = mul v0, v0 : client<2,z64,f36> @ "unused"
//! v2 = neg v0 : client<2,z64,f18> @ "neg"
//! v3 = output {"name":"y","to":[1]} v2 : client<2,z64,f18> @ "y"
//! ```
//! After:
//! ```text
//! graph frac_bits=18
//! v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<2,z64,f18> @ "x"
//! v1 = neg v0 : client<2,z64,f18> @ "neg"
//! v2 = output {"name":"y","to":[1]} v1 : client<2,z64,f18> @ "y"
//! ```
//!
//! Error: none (the outputs are unchanged). Cost: removes the dead nodes' cost.

use crate::rewrite::{rebuild, Rewrite};
use crate::{PassCtx, PassError};
use mpcc_ir::{Graph, Op};

/// Drops every node that no `output` depends on, except sources.
pub fn dead_code(_ctx: &PassCtx<'_>, graph: &mut Graph) -> Result<(), PassError> {
    let live = liveness(graph);
    *graph = rebuild(graph, |_, node| {
        Ok(if live[node.output.index()] {
            Rewrite::Keep
        } else {
            Rewrite::Drop
        })
    })?;
    Ok(())
}

/// Marks the values that outputs need, and the sources.
fn liveness(graph: &Graph) -> Vec<bool> {
    let mut live = vec![false; graph.values.len()];
    for node in graph.nodes.iter().rev() {
        let root = matches!(
            node.op,
            Op::Input { .. } | Op::Weight { .. } | Op::Output { .. }
        );
        if root || live[node.output.index()] {
            live[node.output.index()] = true;
            for v in &node.inputs {
                live[v.index()] = true;
            }
        }
    }
    live
}
