//! Op type and layer of an ONNX node, derived from its name (the IR keeps only the name).

use mpcc_ir::{Graph, Op};
use std::collections::HashMap;

/// Path components that start a numbered layer: `layer.0`, `layers.3`, `h.1`, `block.2`.
const LAYER_WORDS: [&str; 5] = ["layer", "layers", "h", "block", "blocks"];

/// The ONNX op type of the node named `origin`.
///
/// ONNX exporters name nodes `/scope/.../OpType` or `/scope/.../OpType_N`, and tract appends
/// `.suffix` to the nodes it derives (`LayerNormalization.reduced_sum`). So the op type is the
/// last `/` component, cut at its first `.`, with a trailing `_N` removed. When that is not an
/// op-type-like word (an upper-case letter then letters and digits), for instance for inputs
/// (`input_ids`) and initializers (`onnx::MatMul_296`), the IR op name `ir_op` is used.
pub fn op_type_of(origin: &str, ir_op: &str) -> String {
    let last = origin.rsplit('/').next().unwrap_or("");
    let head = last.split('.').next().unwrap_or("");
    let word = strip_numeric_suffix(head);
    let mut chars = word.chars();
    let op_like = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric());
    if op_like {
        word.to_string()
    } else {
        ir_op.to_string()
    }
}

/// `MatMul_12` → `MatMul`; other names unchanged.
fn strip_numeric_suffix(s: &str) -> &str {
    match s.rsplit_once('_') {
        Some((head, tail))
            if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) =>
        {
            head
        }
        _ => s,
    }
}

/// The layer of the node named `origin`: the first `layer.N` / `layers.N` / `h.N` /
/// `block.N` (`blocks.N`) in it, split at `/` and `.` (so `/encoder/layer.0/...` and
/// `encoder.layer.0.attention` both give `layer.0`); else `embeddings` when a component
/// starts with `embed`, `pooler` when one is `pooler`, and `other` otherwise.
pub fn layer_of(origin: &str) -> String {
    let parts: Vec<&str> = origin.split(['/', '.']).filter(|p| !p.is_empty()).collect();
    for w in parts.windows(2) {
        let numbered = !w[1].is_empty() && w[1].bytes().all(|b| b.is_ascii_digit());
        if numbered && LAYER_WORDS.contains(&w[0]) {
            return format!("{}.{}", w[0], w[1]);
        }
    }
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    if lower.iter().any(|p| p.starts_with("embed")) {
        "embeddings".into()
    } else if lower.iter().any(|p| p == "pooler") {
        "pooler".into()
    } else {
        "other".into()
    }
}

/// The layer of each ONNX node of `graph`, by name: [`layer_of`] its name, except that a node
/// whose name names no layer and whose instructions only bring data in (inputs, weights,
/// constants) takes the layer of its first consumer. So an initializer named
/// `onnx::MatMul_296.0` that feeds `/encoder/layer.0/attention/self/query/MatMul` counts in
/// `layer.0`, and `input_ids` in `embeddings`.
pub(super) fn node_layers(graph: &Graph) -> HashMap<&str, String> {
    let mut first_use: Vec<Option<usize>> = vec![None; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in &node.inputs {
            first_use[v.index()].get_or_insert(i);
        }
    }
    // Per node name: whether all its instructions are sources, and its first consumer.
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
                Some(j) if sources && own == "other" => layer_of(&graph.nodes[j].origin),
                _ => own,
            };
            (name, layer)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Op types come from the last path component, without numeric or tract suffixes.
    #[test]
    fn op_types() {
        let cases = [
            (
                "/bert/encoder/layer.0/attention/self/MatMul",
                "matmul",
                "MatMul",
            ),
            (
                "/encoder/layer.0/attention/self/MatMul_1",
                "matmul",
                "MatMul",
            ),
            (
                "/embeddings/LayerNorm/LayerNormalization.reduced_sum",
                "reduce_sum",
                "LayerNormalization",
            ),
            ("/Unsqueeze.axis-1", "reshape", "Unsqueeze"),
            (
                "/layer.0/intermediate/intermediate_act_fn/Erf.gelu_exact",
                "poly",
                "Erf",
            ),
            ("input_ids", "input", "input"),
            ("onnx::MatMul_296.0", "weight", "weight"),
            ("embeddings.word_embeddings.weight.0", "weight", "weight"),
            ("last_hidden_state", "output", "output"),
            ("", "trunc", "trunc"),
            ("/Add_", "add", "add"),
        ];
        for (origin, ir, want) in cases {
            assert_eq!(op_type_of(origin, ir), want, "{origin}");
        }
    }

    /// Layers come from numbered components, then embeddings/pooler, else "other".
    #[test]
    fn layers() {
        let cases = [
            ("/bert/encoder/layer.0/attention/self/MatMul", "layer.0"),
            ("/encoder/layer.11/output/Add", "layer.11"),
            ("encoder.layer.1.attention.self.query.weight", "layer.1"),
            ("/model/layers.3/mlp/down_proj/MatMul", "layers.3"),
            ("/transformer/h.1/attn/c_attn/Gemm", "h.1"),
            ("/blocks.2/Add", "blocks.2"),
            ("/embeddings/word_embeddings/Gather", "embeddings"),
            ("/model/embed_tokens/Gather", "embeddings"),
            ("/pooler/dense/Gemm", "pooler"),
            ("/Where_1", "other"),
            ("/layer/Add", "other"),
            ("", "other"),
        ];
        for (origin, want) in cases {
            assert_eq!(layer_of(origin), want, "{origin}");
        }
    }
}
