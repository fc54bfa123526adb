//! Dead-node removal after lowering: keeps graph inputs, outputs and what outputs need, and
//! renumbers the values in order.

use mpcc_ir::{Graph, Op, ValueId};

/// Drops nodes whose values no output needs (graph inputs always stay).
pub(super) fn prune(g: Graph) -> Graph {
    let mut live = vec![false; g.values.len()];
    for node in g.nodes.iter().rev() {
        let keep =
            live[node.output.index()] || matches!(node.op, Op::Output { .. } | Op::Input { .. });
        if keep {
            live[node.output.index()] = true;
            node.inputs.iter().for_each(|i| live[i.index()] = true);
        }
    }
    let mut out = Graph::new(g.frac_bits);
    let mut map: Vec<Option<ValueId>> = vec![None; g.values.len()];
    for node in &g.nodes {
        if !live[node.output.index()] {
            continue;
        }
        let ins: Vec<ValueId> = node.inputs.iter().filter_map(|i| map[i.index()]).collect();
        let ty = g.ty(node.output).clone();
        let v = out.add(node.op.clone(), &ins, ty, &node.origin);
        map[node.output.index()] = Some(v);
        if let Some(r) = g.facts.range.get(&node.output) {
            out.facts.range.insert(v, *r);
        }
    }
    out
}
