//! Facts about values that their types do not hold, as side tables keyed by [`ValueId`]: the
//! ONNX op type and layer of the node that defines a value, and known bounds of its elements.
//!
//! The front end fills them; passes carry them to the nodes they emit on behalf of a node
//! (`passes/src/rewrite.rs`); reports and selectors read them instead of parsing node names.
//! The text form prints them after the origin (`{"op_type":"MatMul","layer":"layer.0"}`).

use crate::graph::ValueId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The part of a model a node belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Layer {
    /// Before the first numbered layer (token, position and type embeddings).
    Embeddings,
    /// Numbered layer (Transformer block) `n`, from 0.
    Index(u32),
    /// The pooler after the last layer.
    Pooler,
    /// Anything else (a final norm, a classifier head).
    Other,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Embeddings => write!(f, "embeddings"),
            Layer::Index(n) => write!(f, "layer.{n}"),
            Layer::Pooler => write!(f, "pooler"),
            Layer::Other => write!(f, "other"),
        }
    }
}

impl std::str::FromStr for Layer {
    type Err = String;
    fn from_str(s: &str) -> Result<Layer, String> {
        match s {
            "embeddings" => Ok(Layer::Embeddings),
            "pooler" => Ok(Layer::Pooler),
            "other" => Ok(Layer::Other),
            _ => s
                .strip_prefix("layer.")
                .and_then(|n| n.parse().ok())
                .map(Layer::Index)
                .ok_or_else(|| {
                    format!("unknown layer '{s}' (embeddings, layer.N, pooler or other)")
                }),
        }
    }
}

/// Where a node came from, beyond its ONNX node name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeFacts {
    /// The ONNX op type of the origin node (`MatMul`, `Softmax`, …); for graph inputs and
    /// initializers the IR op's name (`input`, `weight`).
    pub op_type: String,
    /// The layer of the origin node.
    pub layer: Layer,
}

/// Known bounds of every element of a value, as real numbers: `lo <= x <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// The side tables of a graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Origin facts of each node, keyed by the value it defines.
    pub node: BTreeMap<ValueId, NodeFacts>,
    /// Known ranges, for the values that have one.
    pub range: BTreeMap<ValueId, Range>,
}

impl Facts {
    /// True when no table holds anything.
    pub fn is_empty(&self) -> bool {
        self.node.is_empty() && self.range.is_empty()
    }
}
