//! The IR's text form: one line per node, `v3 = matmul v1, v2 : sec<1x16x64,z64,f36> @ "node"`.

use crate::graph::Graph;
use std::fmt;

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "graph frac_bits={}", self.frac_bits)?;
        for node in &self.nodes {
            let attrs = attrs_json(&node.op);
            write!(f, "{} = {}", node.output, node.op.name())?;
            if let Some(a) = attrs {
                write!(f, " {a}")?;
            }
            for (i, v) in node.inputs.iter().enumerate() {
                write!(f, "{}{v}", if i == 0 { " " } else { ", " })?;
            }
            writeln!(f, " : {} @ {:?}", self.ty(node.output), node.origin)?;
        }
        Ok(())
    }
}

/// The op's attributes as a JSON object, or `None` for ops without attributes.
pub fn attrs_json(op: &crate::op::Op) -> Option<String> {
    let v = serde_json::to_value(op).ok()?;
    match v {
        serde_json::Value::Object(m) => m.into_iter().next().map(|(_, inner)| inner.to_string()),
        _ => None,
    }
}
