//! Who owns each ONNX initializer, decided from where it is used and never from its values,
//! and the rewrite that keeps the owner's values out of tract's sight.
//!
//! The rule (docs/ONNX-OPS.md, "Who holds what"): everything computed from an initializer is
//! the model owner's secret, whatever its dtype, size or value, except
//!
//! - **declared**: initializers named by `--public NAME`;
//! - **structure**: initializers whose every use describes shapes, axes, indices or a
//!   condition (the `shape` of a `Reshape`, the `starts` of a `Slice`, the indices of a
//!   `Gather`, the condition of a `Where`, …), directly or through operators whose results
//!   are only used that way (a position range sliced to the sequence length, then used as
//!   gather indices). The plan reveals the shapes anyway;
//! - **scalar hyperparameters**: initializers with one element (the attention scale
//!   `1/sqrt(head_dim)`, a norm's epsilon, GeLU's `0.5` and `sqrt(2)`, a `Pow` exponent, a
//!   mask's fill value, an activation's quantization scale). They follow from the model's
//!   configuration, which the plan's shapes already reveal. `--secret-scalars` makes them
//!   secret; the quantization scale and zero point of a secret weight stay secret always;
//! - ONNX `Constant` nodes, which are part of the graph, not of its weights.
//!
//! Secret initializers leave the graph's initializer list and become graph inputs of their
//! declared dtype and shape, so tract's typing and simplifications see only their shapes: a
//! bias of zeros, a gamma of ones or a weight that repeats another compile to the same plan
//! as any other values. The front end then gives those inputs their real values as the
//! owner's known tensors and folds what is computed from them itself, by the graph's
//! structure alone.
//!
//! A `DequantizeLinear` of an int8/uint8/int32 initializer by initializer scales and zero
//! points (a QDQ export's weights) is folded here, exactly as ONNX defines it
//! (`(x - zero_point) * scale` in float32, per tensor or per axis), into one float secret
//! initializer: the integer weight, its scale and its zero point never reach the plan.

use super::CompileError;
use super::FrontendOptions;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tract_onnx::pb::{self, tensor_proto::DataType};
use tract_onnx::prelude::*;
use tract_onnx::Onnx;

/// Why a constant taken from the model is public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicWhy {
    /// Named by `--public`.
    Declared,
    /// Every use describes shapes, axes, indices or a condition.
    Structure,
    /// A one-element hyperparameter.
    Scalar,
    /// An ONNX `Constant` node.
    ConstantNode,
    /// `--public-weights`: the whole model is public.
    PublicWeights,
}

impl PublicWhy {
    /// The reason in words, as the compile summary prints it.
    pub fn describe(self) -> &'static str {
        match self {
            PublicWhy::Declared => "declared with --public",
            PublicWhy::Structure => "shape, axis or index data",
            PublicWhy::Scalar => "scalar hyperparameter (--secret-scalars makes it secret)",
            PublicWhy::ConstantNode => "ONNX Constant node",
            PublicWhy::PublicWeights => "--public-weights",
        }
    }
}

/// A constant from the model that all three parties may see.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicConst {
    /// Initializer name, or the Constant node's output name.
    pub name: String,
    /// Why it is public.
    pub why: PublicWhy,
    /// Its dtype, shape and first values, e.g. `f32 [] 0.125` or `i64 [3] [1, 16, 64]`.
    pub value: String,
}

/// The owner's initializers, moved out of the graph, by name.
pub(super) type Secrets = HashMap<String, Arc<Tensor>>;

/// Decides every initializer's owner, folds weight dequantization, and moves the secret
/// initializers out of `proto`'s initializer list into its graph inputs.
pub(super) fn split(
    path: &str,
    proto: &mut pb::ModelProto,
    onnx: &Onnx,
    opts: &FrontendOptions,
) -> Result<(Vec<PublicConst>, Secrets), CompileError> {
    let Some(graph) = proto.graph.as_mut() else {
        return Ok((Vec::new(), Secrets::new()));
    };
    refuse_dynamic_quantization(graph)?;
    let dir = std::path::Path::new(path).parent().map(|d| {
        if d.as_os_str().is_empty() {
            ".".to_string()
        } else {
            d.display().to_string()
        }
    });
    check_external_locations(path, dir.as_deref(), graph)?;
    // Guarded: tract panics on some tensors (a raw tensor of an unsupported data type).
    let load = |t: &pb::TensorProto| {
        super::guarded(|| tract_onnx::tensor::load_tensor(&*onnx.provider, t, dir.as_deref()))
            .map_err(|message| CompileError::Load {
                path: path.to_string(),
                message: format!("initializer '{}': {message}", t.name),
            })
    };
    let mut public: Vec<PublicConst> = constant_nodes(graph, &load);
    if opts.public_weights {
        for t in &graph.initializer {
            public.push(PublicConst {
                name: t.name.clone(),
                why: PublicWhy::PublicWeights,
                value: summary(&load(t)?),
            });
        }
        inline_external(graph, &load)?;
        return Ok((public, Secrets::new()));
    }
    for name in &opts.public {
        if !graph.initializer.iter().any(|t| &t.name == name) {
            let mut known: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
            known.sort_unstable();
            known.truncate(8);
            return Err(CompileError::BadOwnership(format!(
                "--public {name}: the model has no initializer '{name}' (some of its \
                 initializers: {}; `mpcc compile` lists the public ones it found)",
                known.join(", ")
            )));
        }
    }
    let (folded, declared) = fold_weight_dequantization(graph, &load, &opts.public)?;
    let uses = Uses::of(graph);
    let mut secrets = Secrets::new();
    let mut kept = Vec::new();
    let mut dropped = HashSet::new();
    for t in std::mem::take(&mut graph.initializer) {
        let why = if opts.public.contains(&t.name) || declared.contains(&t.name) {
            Some(PublicWhy::Declared)
        } else if uses.structural(&t.name) {
            Some(PublicWhy::Structure)
        } else if is_scalar(&t) && !opts.secret_scalars && !folded.contains(&t.name) {
            Some(PublicWhy::Scalar)
        } else {
            None
        };
        if uses.consumers(&t.name).is_empty() && why.is_none() {
            dropped.insert(t.name.clone());
            continue;
        }
        match why {
            Some(why) => {
                public.push(PublicConst {
                    name: t.name.clone(),
                    why,
                    value: summary(&load(&t)?),
                });
                kept.push(t);
            }
            None => {
                uses.check_may_be_secret(graph, &t.name)?;
                secrets.insert(t.name.clone(), Arc::new(load(&t)?));
                as_input(graph, &t);
            }
        }
    }
    graph.initializer = kept;
    graph.input.retain(|i| !dropped.contains(&i.name));
    expand_runtime_dequantization(graph, &load);
    inline_external(graph, &load)?;
    Ok((public, secrets))
}

/// Operators of dynamically quantized or integer-kernel exports, which compute quantization
/// parameters from the data at run time (or hard-code integer arithmetic).
const INTEGER_KERNELS: [&str; 6] = [
    "DynamicQuantizeLinear",
    "MatMulInteger",
    "ConvInteger",
    "QLinearMatMul",
    "QLinearConv",
    "QLinearAdd",
];

/// Refuses dynamically quantized models, naming the operator and saying how to export.
fn refuse_dynamic_quantization(graph: &pb::GraphProto) -> Result<(), CompileError> {
    match graph
        .node
        .iter()
        .find(|n| INTEGER_KERNELS.contains(&n.op_type.as_str()))
    {
        None => Ok(()),
        Some(n) => Err(CompileError::Unsupported {
            op: n.op_type.clone(),
            node: n.name.clone(),
            reason: "dynamically quantized models (onnxruntime's quantize_dynamic, optimum's \
                     dynamic quantization) compute activation scales from secret data at run \
                     time and multiply in integers, which mpcc does not do; compile the float \
                     model, or quantize it statically in the QDQ format (quantize_static with \
                     quant_format=QuantFormat.QDQ), whose int8 weights mpcc folds into secret \
                     fixed-point weights"
                .into(),
        }),
    }
}

/// True when `t`'s data lives in an external file.
fn is_external(t: &pb::TensorProto) -> bool {
    t.data_location == Some(pb::tensor_proto::DataLocation::External as i32)
}

/// Refuses external data (how exporters save models over 2 GB: `model.onnx_data` beside
/// `model.onnx`) whose location leaves the model's folder or does not exist, naming the
/// tensor and the file.
fn check_external_locations(
    path: &str,
    dir: Option<&str>,
    graph: &pb::GraphProto,
) -> Result<(), CompileError> {
    for t in graph.initializer.iter().filter(|t| is_external(t)) {
        let location = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map(|e| e.value.as_str())
            .unwrap_or_default();
        let rel = std::path::Path::new(location);
        let bad = |why: String| CompileError::Load {
            path: path.to_string(),
            message: format!("initializer '{}': external data '{location}' {why}", t.name),
        };
        if location.is_empty()
            || rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(bad("must be a file name inside the model's folder".into()));
        }
        let file = std::path::Path::new(dir.unwrap_or(".")).join(rel);
        if !file.is_file() {
            return Err(bad(format!(
                "is missing: '{}' should be beside the model (copy the .onnx_data file with it)",
                file.display()
            )));
        }
    }
    Ok(())
}

/// Loads the external data of the initializers that stay in the graph into the protobuf, so
/// that tract, which parses it without a path, finds every value.
fn inline_external(
    graph: &mut pb::GraphProto,
    load: &dyn Fn(&pb::TensorProto) -> Result<Tensor, CompileError>,
) -> Result<(), CompileError> {
    for t in graph.initializer.iter_mut().filter(|t| is_external(t)) {
        let v = load(t)?;
        t.raw_data = v.as_bytes().to_vec();
        t.external_data.clear();
        t.data_location = Some(pb::tensor_proto::DataLocation::Default as i32);
    }
    Ok(())
}

/// One element, whatever the rank.
fn is_scalar(t: &pb::TensorProto) -> bool {
    t.dims.iter().product::<i64>() == 1
}

/// Declares `t` as a graph input of its dtype and shape (replacing a declaration an older
/// IR version already lists).
fn as_input(graph: &mut pb::GraphProto, t: &pb::TensorProto) {
    use pb::tensor_shape_proto::{dimension, Dimension};
    let dim = t
        .dims
        .iter()
        .map(|&d| Dimension {
            denotation: String::new(),
            value: Some(dimension::Value::DimValue(d)),
        })
        .collect();
    let ty = pb::TypeProto {
        denotation: String::new(),
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: t.data_type,
            shape: Some(pb::TensorShapeProto { dim }),
        })),
    };
    match graph.input.iter_mut().find(|i| i.name == t.name) {
        Some(i) => i.r#type = Some(ty),
        None => graph.input.push(pb::ValueInfoProto {
            name: t.name.clone(),
            r#type: Some(ty),
            doc_string: String::new(),
        }),
    }
}

/// The values of the graph's `Constant` nodes.
fn constant_nodes(
    graph: &pb::GraphProto,
    load: &dyn Fn(&pb::TensorProto) -> Result<Tensor, CompileError>,
) -> Vec<PublicConst> {
    let mut out = Vec::new();
    for n in graph.node.iter().filter(|n| n.op_type == "Constant") {
        let Some(name) = n.output.first() else {
            continue;
        };
        let value = n.attribute.iter().find_map(|a| match a.name.as_str() {
            "value" => a.t.as_ref().and_then(|t| load(t).ok()).map(|t| summary(&t)),
            "value_float" => Some(format!("f32 [] {}", a.f)),
            "value_int" => Some(format!("i64 [] {}", a.i)),
            "value_floats" => Some(format!("f32 [{}] {:?}", a.floats.len(), a.floats)),
            "value_ints" => Some(format!("i64 [{}] {:?}", a.ints.len(), a.ints)),
            _ => None,
        });
        out.push(PublicConst {
            name: name.clone(),
            why: PublicWhy::ConstantNode,
            value: value.unwrap_or_else(|| "(no value attribute)".into()),
        });
    }
    out
}

/// Dtype, shape and the first four values.
fn summary(t: &Tensor) -> String {
    let dt = format!("{:?}", t.datum_type()).to_lowercase();
    let values: Vec<String> = match super::known::to_f64(t) {
        Ok(a) => a.iter().take(4).map(|&v| number(v)).collect(),
        Err(_) => vec!["?".into()],
    };
    let more = if t.len() > 4 { ", …" } else { "" };
    if t.len() == 1 {
        format!("{dt} {:?} {}", t.shape(), values.join(""))
    } else {
        format!("{dt} {:?} [{}{more}]", t.shape(), values.join(", "))
    }
}

/// A number in its shortest float32 form, in exponent notation when very large or small.
fn number(v: f64) -> String {
    let v = v as f32;
    if v == 0.0 || (1e-4..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Where each value of the graph is used.
struct Uses {
    /// (node index, input slot) of every use, by value name.
    by_name: HashMap<String, Vec<(usize, usize)>>,
    /// Op type of each node.
    op_types: Vec<String>,
    /// Values whose every use is structural (shapes, axes, indices, conditions).
    structural: HashSet<String>,
}

/// Input slots that hold shapes, axes, indices or conditions, by ONNX op type.
fn is_structural_slot(op: &str, slot: usize) -> bool {
    match op {
        "Reshape" | "Expand" | "Tile" | "Squeeze" | "Unsqueeze" | "TopK" | "OneHot" | "CumSum"
        | "Trilu" | "Split" | "Gather" | "GatherElements" | "GatherND" | "ReduceSum"
        | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ReduceSumSquare" | "ReduceLogSumExp" => slot == 1,
        "Slice" => (1..=4).contains(&slot),
        "Pad" => slot == 1 || slot == 3,
        "Resize" => (1..=3).contains(&slot),
        "ConstantOfShape" | "Where" => slot == 0,
        "Range" => slot <= 2,
        "ScatterND" | "ScatterElements" => slot == 1,
        _ => false,
    }
}

impl Uses {
    fn of(graph: &pb::GraphProto) -> Uses {
        let mut by_name: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for (slot, x) in n.input.iter().enumerate().filter(|(_, x)| !x.is_empty()) {
                by_name.entry(x.clone()).or_default().push((i, slot));
            }
        }
        let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        let mut structural = HashSet::new();
        // ONNX lists nodes in topological order, so every use of a node's outputs comes
        // after it: walking backwards, the uses of a value are decided before the value.
        let decide = |name: &str, structural: &HashSet<String>| {
            let uses = by_name.get(name).map(Vec::as_slice).unwrap_or(&[]);
            !outputs.contains(name)
                && !uses.is_empty()
                && uses.iter().all(|&(i, slot)| {
                    let n = &graph.node[i];
                    is_structural_slot(&n.op_type, slot)
                        || n.output
                            .iter()
                            .filter(|o| !o.is_empty())
                            .all(|o| structural.contains(o.as_str()))
                })
        };
        for n in graph.node.iter().rev() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                if decide(o, &structural) {
                    structural.insert(o.clone());
                }
            }
        }
        for t in &graph.initializer {
            if decide(&t.name, &structural) {
                structural.insert(t.name.clone());
            }
        }
        let op_types = graph.node.iter().map(|n| n.op_type.clone()).collect();
        Uses {
            by_name,
            op_types,
            structural,
        }
    }

    fn structural(&self, name: &str) -> bool {
        self.structural.contains(name)
    }

    fn consumers(&self, name: &str) -> &[(usize, usize)] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Refuses to make secret a value that an operator needs public: the scale or zero
    /// point of a `QuantizeLinear`/`DequantizeLinear` of run-time data.
    fn check_may_be_secret(&self, graph: &pb::GraphProto, name: &str) -> Result<(), CompileError> {
        for &(i, slot) in self.consumers(name) {
            let op = self.op_types[i].as_str();
            if matches!(op, "QuantizeLinear" | "DequantizeLinear") && slot >= 1 {
                return Err(CompileError::BadOwnership(format!(
                    "initializer '{name}' is the {} of {op} node '{}', which quantizes \
                     run-time data: mpcc needs it public. Leave out --secret-scalars, or pass \
                     --public {name}",
                    if slot == 1 { "scale" } else { "zero point" },
                    graph.node[i].name
                )));
            }
        }
        Ok(())
    }
}

/// Writes every per-tensor `DequantizeLinear` of run-time data (an activation's fake
/// quantization, after its `QuantizeLinear`) as `(Cast(q, float) - z) * s` with the public
/// scale and zero point. Same values; but tract no longer fuses `DequantizeLinear -> op ->
/// QuantizeLinear` chains into integer lookup tables, which have no secret lowering.
fn expand_runtime_dequantization(
    graph: &mut pb::GraphProto,
    load: &dyn Fn(&pb::TensorProto) -> Result<Tensor, CompileError>,
) {
    let inits: HashMap<String, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let mut out_nodes = Vec::with_capacity(graph.node.len());
    let mut extra = Vec::new();
    for n in std::mem::take(&mut graph.node) {
        let runtime = n.op_type == "DequantizeLinear"
            && n.domain.is_empty()
            && n.input.len() >= 2
            && !n.output.is_empty()
            && !inits.contains_key(&n.input[0]);
        let scale = n
            .input
            .get(1)
            .and_then(|x| inits.get(x))
            .map(|&i| &graph.initializer[i]);
        let zp = n.input.get(2).filter(|x| !x.is_empty());
        let zp = match zp {
            Some(z) => inits.get(z).map(|&i| Some(&graph.initializer[i])),
            None => Some(None),
        };
        let (Some(scale), Some(zp)) = (scale, zp) else {
            out_nodes.push(n);
            continue;
        };
        let per_tensor = is_scalar(scale) && zp.is_none_or(is_scalar);
        if !runtime || !per_tensor {
            out_nodes.push(n);
            continue;
        }
        let zp_value = zp
            .and_then(|t| load(t).ok())
            .and_then(|t| super::known::to_f64(&t).ok())
            .and_then(|a| a.iter().next().copied())
            .unwrap_or(0.0);
        let out = n.output[0].clone();
        let (cast, centered, zname) = (
            format!("{out}.mpcc_cast"),
            format!("{out}.mpcc_centered"),
            format!("{out}.mpcc_zero_point"),
        );
        extra.push(pb::TensorProto {
            dims: vec![],
            data_type: DataType::Float as i32,
            name: zname.clone(),
            raw_data: (zp_value as f32).to_le_bytes().to_vec(),
            ..Default::default()
        });
        let node =
            |op: &str, name: String, inputs: Vec<String>, output: String, attrs| pb::NodeProto {
                input: inputs,
                output: vec![output],
                name,
                op_type: op.into(),
                attribute: attrs,
                ..Default::default()
            };
        let to_float = pb::AttributeProto {
            name: "to".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: DataType::Float as i64,
            ..Default::default()
        };
        out_nodes.push(node(
            "Cast",
            format!("{}.cast", n.name),
            vec![n.input[0].clone()],
            cast.clone(),
            vec![to_float],
        ));
        out_nodes.push(node(
            "Sub",
            format!("{}.sub", n.name),
            vec![cast, zname],
            centered.clone(),
            vec![],
        ));
        out_nodes.push(node(
            "Mul",
            n.name.clone(),
            vec![centered, n.input[1].clone()],
            out,
            vec![],
        ));
    }
    graph.node = out_nodes;
    graph.initializer.extend(extra);
}

/// Folds every `DequantizeLinear` whose operands are all initializers into one float
/// initializer named by its output, and drops the integer initializers nothing else reads.
/// Returns the names of the folded tensors (never scalar hyperparameters: they are weights)
/// and of those folded from an integer tensor declared public.
fn fold_weight_dequantization(
    graph: &mut pb::GraphProto,
    load: &dyn Fn(&pb::TensorProto) -> Result<Tensor, CompileError>,
    public: &[String],
) -> Result<(HashSet<String>, HashSet<String>), CompileError> {
    let mut folded = HashSet::new();
    let mut declared_out = HashSet::new();
    let mut k = 0;
    while k < graph.node.len() {
        let n = &graph.node[k];
        let init = |name: &str| graph.initializer.iter().find(|t| t.name == name);
        let operands: Option<Vec<&pb::TensorProto>> = (n.op_type == "DequantizeLinear"
            && n.domain.is_empty())
        .then(|| {
            n.input
                .iter()
                .filter(|x| !x.is_empty())
                .map(|x| init(x))
                .collect()
        })
        .flatten();
        let Some(operands) = operands else {
            k += 1;
            continue;
        };
        let bad = |m: String| CompileError::Unsupported {
            op: "DequantizeLinear".into(),
            node: n.name.clone(),
            reason: m,
        };
        if !(2..=3).contains(&operands.len()) {
            return Err(bad(format!(
                "takes 2 or 3 inputs (x, scale, zero point), has {}",
                operands.len()
            )));
        }
        if n.attribute
            .iter()
            .any(|a| a.name == "block_size" && a.i != 0)
        {
            return Err(bad(
                "blocked quantization (block_size) is not supported".into()
            ));
        }
        let x = super::known::to_f64(&load(operands[0])?).map_err(bad)?;
        let scale = super::known::to_f64(&load(operands[1])?).map_err(bad)?;
        let zp = match operands.get(2) {
            Some(t) => super::known::to_f64(&load(t)?).map_err(bad)?,
            None => ndarray::ArrayD::zeros(scale.shape()),
        };
        if DataType::try_from(operands[1].data_type) != Ok(DataType::Float) {
            return Err(bad("only float32 scales are supported".into()));
        }
        let axis = n
            .attribute
            .iter()
            .find(|a| a.name == "axis")
            .map_or(1, |a| a.i);
        let rank = x.ndim() as i64;
        let axis = if axis < 0 { axis + rank } else { axis };
        let per_tensor = scale.len() == 1;
        if !per_tensor && (axis < 0 || axis >= rank || x.shape()[axis as usize] != scale.len()) {
            return Err(bad(format!(
                "{} scales do not match axis {axis} of a weight of shape {:?}",
                scale.len(),
                x.shape()
            )));
        }
        if zp.len() != scale.len() || n.output.is_empty() {
            return Err(bad(format!(
                "a zero point of {} values for {} scales, {} outputs: ONNX wants one zero \
                 point per scale and one output",
                zp.len(),
                scale.len(),
                n.output.len()
            )));
        }
        let (sc, zpv): (Vec<f64>, Vec<f64>) = (
            scale.iter().copied().collect(),
            zp.iter().copied().collect(),
        );
        let mut y = Vec::with_capacity(x.len());
        for (ix, &v) in x.indexed_iter() {
            let c = if per_tensor { 0 } else { ix[axis as usize] };
            y.push(((v - zpv[c]) as f32) * sc[c] as f32);
        }
        let out = n.output[0].clone();
        let declared = public.contains(&operands[0].name);
        let mut raw = Vec::with_capacity(4 * y.len());
        y.iter()
            .for_each(|v| raw.extend_from_slice(&v.to_le_bytes()));
        let t = pb::TensorProto {
            dims: x.shape().iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            name: out.clone(),
            raw_data: raw,
            ..Default::default()
        };
        graph.node.remove(k);
        graph.initializer.push(t);
        if declared {
            declared_out.insert(out);
        } else {
            folded.insert(out);
        }
    }
    let read: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .collect();
    let outputs: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let unread: HashSet<String> = graph
        .initializer
        .iter()
        .filter(|t| !read.contains(&t.name) && !outputs.contains(&t.name))
        .map(|t| t.name.clone())
        .collect();
    graph.initializer.retain(|t| !unread.contains(&t.name));
    graph.input.retain(|i| !unread.contains(&i.name));
    Ok((folded, declared_out))
}
