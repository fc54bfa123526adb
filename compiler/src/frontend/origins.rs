//! Origin facts of the lowered graph (`Graph::facts.node`): the ONNX op type of the node each
//! IR node came from, read from the ONNX protobuf, and the model layer its name names.
//!
//! This is the one place where node names are parsed: later stages (passes, reports) read
//! the side tables.

use mpcc_ir::{Graph, Layer, NodeFacts, Op};
use std::collections::{HashMap, HashSet};
use tract_onnx::pb;

/// Path components that start a numbered layer: `layer.0`, `layers.3`, `h.1`, `block.2`.
const LAYER_WORDS: [&str; 5] = ["layer", "layers", "h", "block", "blocks"];

/// The ONNX nodes of a model, by the name tract gives each when it parses the file.
#[derive(Debug, Default)]
pub(super) struct OnnxNodes {
    /// Op type by tract node name.
    op_types: HashMap<String, String>,
}

impl OnnxNodes {
    /// Reads the nodes of the main graph. tract names a node by its ONNX name, else by its
    /// first output, else `{index}-{op_type}` where `index` counts the graph inputs and the
    /// initializers that are not inputs before it (`tract-onnx`'s `ParsingContext::parse_graph`).
    pub fn new(proto: &pb::ModelProto) -> OnnxNodes {
        let Some(g) = &proto.graph else {
            return OnnxNodes::default();
        };
        let inputs: HashSet<&str> = g.input.iter().map(|i| i.name.as_str()).collect();
        let extra = g.initializer.iter();
        let consts = g.input.len() + extra.filter(|t| !inputs.contains(t.name.as_str())).count();
        let op_types = g
            .node
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let name = match n.output.first() {
                    _ if !n.name.is_empty() => n.name.clone(),
                    Some(out) if !out.is_empty() => out.clone(),
                    Some(_) | None => format!("{}-{}", consts + i, n.op_type),
                };
                (name, n.op_type.clone())
            })
            .collect();
        OnnxNodes { op_types }
    }

    /// The op type of the ONNX node that `origin` (a tract node name, or a name the front end
    /// derived from one) comes from: the node named `origin`, else the one whose name is the
    /// longest prefix of `origin` that a suffix separator of tract or of the front end
    /// follows (`.`, `#`, `[`): `/l/MatMul.fix-rank.1` comes from `/l/MatMul`. `None` for
    /// graph inputs, initializers and names that no ONNX node starts.
    pub fn op_type(&self, origin: &str) -> Option<&str> {
        let mut name = origin;
        loop {
            if let Some(t) = self.op_types.get(name) {
                return Some(t);
            }
            name = &name[..name.rfind(['.', '#', '['])?];
        }
    }
}

/// Fills `graph.facts.node` for every node: the op type from `onnx` (the IR op's name where
/// the origin is no ONNX node: `input`, `weight`, `const`), the layer from [`node_layers`].
pub(super) fn fill_node_facts(graph: &mut Graph, onnx: &OnnxNodes) {
    let layers = node_layers(graph);
    let facts: Vec<_> = graph
        .nodes
        .iter()
        .map(|n| {
            let op_type = onnx.op_type(&n.origin).unwrap_or(n.op.name()).to_string();
            let layer = layers
                .get(n.origin.as_str())
                .copied()
                .unwrap_or(Layer::Other);
            (n.output, NodeFacts { op_type, layer })
        })
        .collect();
    graph.facts.node.extend(facts);
}

/// The layer named by `origin`: the first `layer.N` / `layers.N` / `h.N` / `block.N`
/// (`blocks.N`) in it, split at `/` and `.` (so `/encoder/layer.0/...` and
/// `encoder.layer.0.attention` both give layer 0); else `embeddings` when a component starts
/// with `embed`, `pooler` when one is `pooler`, and `other` otherwise.
pub fn layer_of(origin: &str) -> Layer {
    let parts: Vec<&str> = origin.split(['/', '.']).filter(|p| !p.is_empty()).collect();
    for w in parts.windows(2) {
        let numbered = w[1].bytes().all(|b| b.is_ascii_digit());
        if let (true, true, Ok(n)) = (numbered, LAYER_WORDS.contains(&w[0]), w[1].parse()) {
            return Layer::Index(n);
        }
    }
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    if lower.iter().any(|p| p.starts_with("embed")) {
        Layer::Embeddings
    } else if lower.iter().any(|p| p == "pooler") {
        Layer::Pooler
    } else {
        Layer::Other
    }
}

/// The layer of each origin name of `graph`: [`layer_of`] the name, except that a name whose
/// nodes only bring data in (inputs, weights, constants) and that names no layer takes the
/// layer of its first consumer with another origin. So an initializer named
/// `onnx::MatMul_296.0` that feeds `/encoder/layer.0/attention/self/query/MatMul` is in layer
/// 0, and `input_ids` in the embeddings.
fn node_layers(graph: &Graph) -> HashMap<&str, Layer> {
    let mut first_use: Vec<Option<usize>> = vec![None; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in &node.inputs {
            first_use[v.index()].get_or_insert(i);
        }
    }
    // Per origin: whether all its nodes are sources, and its first consumer.
    let mut seen: HashMap<&str, (bool, Option<usize>)> = HashMap::new();
    for node in &graph.nodes {
        let source = matches!(
            node.op,
            Op::Input { .. } | Op::Weight { .. } | Op::Const { .. }
        );
        let e = seen.entry(node.origin.as_str()).or_insert((true, None));
        e.0 &= source;
        let used = first_use[node.output.index()].filter(|&j| graph.nodes[j].origin != node.origin);
        e.1 = match (e.1, used) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    seen.into_iter()
        .map(|(name, (sources, consumer))| {
            let own = layer_of(name);
            let layer = match consumer {
                Some(j) if sources && own == Layer::Other => layer_of(&graph.nodes[j].origin),
                Some(_) | None => own,
            };
            (name, layer)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layers come from numbered components, then embeddings/pooler, else `other` (the cases
    /// the reports once had).
    #[test]
    fn layers() {
        let cases = [
            (
                "/bert/encoder/layer.0/attention/self/MatMul",
                Layer::Index(0),
            ),
            ("/encoder/layer.11/output/Add", Layer::Index(11)),
            (
                "encoder.layer.1.attention.self.query.weight",
                Layer::Index(1),
            ),
            ("/model/layers.3/mlp/down_proj/MatMul", Layer::Index(3)),
            ("/transformer/h.1/attn/c_attn/Gemm", Layer::Index(1)),
            ("/blocks.2/Add", Layer::Index(2)),
            ("/embeddings/word_embeddings/Gather", Layer::Embeddings),
            ("/model/embed_tokens/Gather", Layer::Embeddings),
            ("/pooler/dense/Gemm", Layer::Pooler),
            ("/Where_1", Layer::Other),
            ("/layer/Add", Layer::Other),
            ("", Layer::Other),
        ];
        for (origin, want) in cases {
            assert_eq!(layer_of(origin), want, "{origin}");
        }
    }

    /// A derived name maps to the longest ONNX node name that a separator follows.
    #[test]
    fn derived_names_find_their_onnx_node() {
        let nodes = OnnxNodes {
            op_types: [
                ("/l/MatMul", "MatMul"),
                ("/l/MatMul_1", "MatMul"),
                ("/l", "Foo"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into(),
        };
        let cases = [
            ("/l/MatMul.fix-rank.1", Some("MatMul")),
            ("/l/MatMul_1#3", Some("MatMul")),
            ("/l/MatMul[delta0..3]", Some("MatMul")),
            ("/l/MatMul_2", None),
            ("/l.x", Some("Foo")),
            ("input_ids", None),
        ];
        for (origin, want) in cases {
            assert_eq!(nodes.op_type(origin), want, "{origin}");
        }
    }
}
