//! ONNX front end: load with tract-onnx, fix input shapes, fold constants, lower to the IR.
//!
//! The supported operators and the rules that decide who holds what (client inputs, owner
//! weights, public constants) are listed in `docs/ONNX-OPS.md`.

mod arith;
mod conv;
mod einsum;
mod error;
mod gather;
mod known;
mod logic;
mod lower;
mod lut;
mod origins;
mod ownership;
mod quant;
mod shape_ops;
mod shapes;
pub mod support;
mod values;

pub use error::{BugSource, CompileError};
pub use ownership::{PublicConst, PublicWhy};

use mpcc_ir::{Graph, Op, WeightTensor, Weights};
use std::path::Path;
use tract_onnx::prelude::*;

/// Options of the front end.
#[derive(Clone, Debug)]
pub struct FrontendOptions {
    /// Concrete shapes for graph inputs, by name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Treat the model's weights as public instead of owner-secret.
    pub public_weights: bool,
    /// Fraction bits of the fixed-point encoding.
    pub frac_bits: u32,
    /// Initializers the owner declares public (`--public NAME`).
    pub public: Vec<String>,
    /// Make one-element initializers secret too (`--secret-scalars`).
    pub secret_scalars: bool,
    /// How many values an integer input that indexes a table (position ids feeding a rotary
    /// embedding's Cos and Sin) may take: its one-hot depth. Default: the input's last dim,
    /// the sequence length; a generation step at one token needs the whole capacity.
    pub table_depth: Option<usize>,
}

impl Default for FrontendOptions {
    fn default() -> Self {
        FrontendOptions {
            input_shapes: Vec::new(),
            public_weights: false,
            frac_bits: 18,
            public: Vec::new(),
            secret_scalars: false,
            table_depth: None,
        }
    }
}

/// A lowered model: the IR graph (high-level ops included), the owner's weights and the
/// constants taken from the model as public ([`ownership`]'s rule).
#[derive(Debug)]
pub struct Loaded {
    /// The IR graph.
    pub graph: Graph,
    /// The owner's weights.
    pub weights: Weights,
    /// Every public constant from the model, with the reason.
    pub public: Vec<PublicConst>,
}

/// A graph input as the ONNX file declares it: name, element type (ONNX `DataType` name) and
/// dims (`None` for a dynamic one, with its name when it has one).
#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredInput {
    /// Name.
    pub name: String,
    /// Element type, e.g. `INT64`, `FLOAT`.
    pub dtype: String,
    /// Dims: fixed sizes, or the dynamic dim's name (empty when unnamed).
    pub dims: Vec<Result<usize, String>>,
}

/// The graph inputs of a model's protobuf ([`read_proto`]), initializers listed as inputs
/// excluded.
pub fn declared_inputs(proto: &tract_onnx::pb::ModelProto) -> Vec<DeclaredInput> {
    proto
        .graph
        .as_ref()
        .map_or_else(Vec::new, |g| value_infos(g, &g.input, true))
}

/// The graph outputs of a model's protobuf, as [`declared_inputs`] gives the inputs.
pub fn declared_outputs(proto: &tract_onnx::pb::ModelProto) -> Vec<DeclaredInput> {
    proto
        .graph
        .as_ref()
        .map_or_else(Vec::new, |g| value_infos(g, &g.output, false))
}

fn value_infos(
    g: &tract_onnx::pb::GraphProto,
    list: &[tract_onnx::pb::ValueInfoProto],
    skip_initializers: bool,
) -> Vec<DeclaredInput> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as D;
    use tract_onnx::pb::type_proto::Value as T;
    let inits: std::collections::HashSet<&str> =
        g.initializer.iter().map(|t| t.name.as_str()).collect();
    list.iter()
        .filter(|i| !skip_initializers || !inits.contains(i.name.as_str()))
        .map(|i| {
            let tensor = i
                .r#type
                .as_ref()
                .and_then(|t| t.value.as_ref())
                .map(|T::TensorType(t)| t);
            let dtype = tensor
                .and_then(|t| tract_onnx::pb::tensor_proto::DataType::try_from(t.elem_type).ok())
                .map(|d| d.as_str_name().to_string())
                .unwrap_or_else(|| "?".into());
            let dims = tensor
                .and_then(|t| t.shape.as_ref())
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match &d.value {
                            Some(D::DimValue(n)) if *n > 0 => Ok(*n as usize),
                            Some(D::DimParam(p)) => Err(p.clone()),
                            _ => Err(String::new()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            DeclaredInput {
                name: i.name.clone(),
                dtype,
                dims,
            }
        })
        .collect()
}

/// Reads the ONNX protobuf of `path`.
pub fn read_proto(path: &Path) -> Result<tract_onnx::pb::ModelProto, CompileError> {
    let bytes = std::fs::read(path).map_err(|source| CompileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let onnx = tract_onnx::onnx();
    guarded(|| {
        onnx.proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| e.context("Reading proto model"))
    })
    .map_err(|message| CompileError::Load {
        path: path.display().to_string(),
        message,
    })
}

/// Loads an ONNX model and lowers it to an IR graph (high-level ops included) and the
/// owner's weights.
pub fn load_onnx(path: &Path, opts: &FrontendOptions) -> Result<(Graph, Weights), CompileError> {
    load(path, opts).map(|l| (l.graph, l.weights))
}

/// [`load_onnx`], also listing the public constants.
pub fn load(path: &Path, opts: &FrontendOptions) -> Result<Loaded, CompileError> {
    let load_err = |message: String| CompileError::Load {
        path: path.display().to_string(),
        message,
    };
    let onnx = tract_onnx::onnx();
    let mut proto = read_proto(path)?;
    let (public, secrets) = ownership::split(&path.display().to_string(), &mut proto, &onnx, opts)?;
    refuse_unsupported(path, &proto)?;
    // Intermediate shape annotations are hints that tract would have to unify with the
    // --input-shape values; quantizers write them with the symbolic batch and sequence dims,
    // which then clash. tract infers every intermediate shape itself.
    if let Some(g) = proto.graph.as_mut() {
        g.value_info.clear();
    }
    let model = guarded(|| {
        onnx.model_for_proto_model(&proto)
            .map_err(|e| e.context("Translating proto model to model"))
    })
    .map_err(load_err)?;
    check_layer_norm_axes(&proto, &onnx, opts, &secrets)?;
    let mut typed = type_model(model, opts, &secrets)?;
    canonical_names(&mut typed, &proto)?;
    let lowered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lower::lower(&typed, opts, &secrets)
    }));
    let (mut graph, tensors) =
        lowered.map_err(|_| CompileError::bug("the front end panicked on this model"))??;
    origins::fill_node_facts(&mut graph, &origins::OnnxNodes::new(&proto));
    graph.verify(false)?;
    check_encodable(&graph, &tensors)?;
    Ok(Loaded {
        graph,
        weights: Weights {
            plan_digest: [0; 32],
            tensors,
        },
        public,
    })
}

/// Refuses a model with ONNX operators outside [`support::ONNX_OPS`] before tract rewrites
/// them into something else (a `Relu` would otherwise be reported as tract's `Max`), naming
/// every such node as `mpcc inspect` does. Runs after the ownership split, whose rewrites
/// (weight dequantization folded, run-time dequantization expanded) leave supported ops and
/// whose own refusals (dynamic quantization) say more.
fn refuse_unsupported(path: &Path, proto: &tract_onnx::pb::ModelProto) -> Result<(), CompileError> {
    let nodes: Vec<String> = proto
        .graph
        .iter()
        .flat_map(|g| &g.node)
        .filter(|n| support::support(&n.op_type).is_none())
        .map(|n| format!("  {} at node '{}'", n.op_type, n.name))
        .collect();
    if !nodes.is_empty() {
        return Err(CompileError::UnsupportedOps {
            path: path.display().to_string(),
            hint: control_flow_hint(proto),
            nodes,
        });
    }
    // tract loops over 0..axis while typing a LayerNormalization: an axis far beyond any
    // rank hangs it (found by fuzz/ target onnx_struct).
    for n in proto.graph.iter().flat_map(|g| &g.node) {
        let axis = n.attribute.iter().find(|a| a.name == "axis");
        if let Some(a) =
            axis.filter(|a| n.op_type == "LayerNormalization" && a.i.unsigned_abs() > 64)
        {
            return Err(CompileError::Unsupported {
                op: "LayerNormalization".into(),
                node: n.name.clone(),
                reason: format!("axis {} is beyond any tensor's rank", a.i),
            });
        }
    }
    // tract loops without bound, allocating, on a Transpose whose perm is no permutation
    // (found by fuzz/ target onnx_struct).
    for n in proto.graph.iter().flat_map(|g| &g.node) {
        let perm = n.attribute.iter().find(|a| a.name == "perm");
        let Some(perm) = perm.filter(|_| n.op_type == "Transpose") else {
            continue;
        };
        let mut seen = vec![false; perm.ints.len()];
        let is_perm = perm.ints.iter().all(|&p| {
            usize::try_from(p)
                .ok()
                .filter(|&p| p < seen.len())
                .is_some_and(|p| !std::mem::replace(&mut seen[p], true))
        });
        if !is_perm {
            return Err(CompileError::Unsupported {
                op: "Transpose".into(),
                node: n.name.clone(),
                reason: format!(
                    "perm {:?} is not a permutation of 0..{}",
                    perm.ints,
                    perm.ints.len()
                ),
            });
        }
    }
    Ok(())
}

/// Refuses a weight or constant that its fixed-point encoding cannot hold: NaN, an infinity,
/// or a magnitude whose encoding at the value's scale does not fit the ring (|v|·2^scale must
/// stay below 2^(k-1), else it wraps and the plan computes confident garbage).
fn check_encodable(graph: &Graph, tensors: &[WeightTensor]) -> Result<(), CompileError> {
    let by_name: std::collections::HashMap<&str, &WeightTensor> =
        tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in &graph.nodes {
        let ty = graph.ty(node.output);
        let max = 2f64.powi(ty.ring.bits() as i32 - 1 - ty.scale as i32);
        let bad = |what: &'static str, name: &str, values: &mut dyn Iterator<Item = f64>| {
            let fits = |v: f64| v.is_finite() && v.abs() < max;
            let found = values.enumerate().find(|&(_, v)| !fits(v));
            found.map_or(Ok(()), |(index, value)| {
                Err(CompileError::Unencodable {
                    what,
                    name: name.to_string(),
                    index,
                    value,
                    max,
                    scale: ty.scale,
                })
            })
        };
        if let Op::Weight { name } = &node.op {
            if let Some(t) = by_name.get(name.as_str()) {
                bad("weight", name, &mut t.data.iter().map(|&v| v as f64))?;
            }
        } else if let Op::Const { values } = &node.op {
            bad("constant", &node.origin, &mut values.iter().copied())?;
        }
    }
    Ok(())
}

/// Advice for a model with control flow (`Loop`, `Scan`, `If`) or an operator whose output
/// shape depends on input values (`NonZero`, `Unique`, `Compress`): a plan runs a fixed
/// program on fixed shapes, so both need an export at a fixed sequence length. Empty when
/// the model has neither.
fn control_flow_hint(proto: &tract_onnx::pb::ModelProto) -> String {
    let ops: std::collections::BTreeSet<&str> = proto
        .graph
        .iter()
        .flat_map(|g| &g.node)
        .map(|n| n.op_type.as_str())
        .filter(|op| {
            matches!(
                *op,
                "Loop" | "Scan" | "If" | "NonZero" | "Unique" | "Compress"
            )
        })
        .collect();
    if ops.is_empty() {
        return String::new();
    }
    let ops: Vec<&str> = ops.into_iter().collect();
    format!(
        "\n{} make the program or its shapes depend on the input's values, which an MPC plan \
         cannot (it runs one fixed program on fixed shapes, so the parties learn nothing from \
         its length): export the model at a fixed sequence length (`optimum-cli export onnx` \
         writes no Loop for encoders; a generation loop comes from exporting `generate`: use \
         the decoder's with-past export and `mpcc compile --generate`), then give the shapes \
         with --input-shape or --batch/--seq",
        ops.join(", ")
    )
}

/// Refuses a LayerNormalization whose axis (ONNX default -1) lies outside its input's rank:
/// tract's typing rule loops over `0..axis + rank` cast to an unsigned size, so an axis
/// below `-rank` hangs it (found by fuzz/ target onnx_struct; beyond 64 is refused before).
/// The ranks come from typing a copy of the model with every such axis set to 0, which
/// cannot hang; a model whose copy does not type is refused with that error, as the model
/// itself would be.
fn check_layer_norm_axes(
    proto: &tract_onnx::pb::ModelProto,
    onnx: &tract_onnx::Onnx,
    opts: &FrontendOptions,
    secrets: &ownership::Secrets,
) -> Result<(), CompileError> {
    let axis_of = |n: &tract_onnx::pb::NodeProto| {
        n.attribute
            .iter()
            .find(|a| a.name == "axis")
            .map_or(-1, |a| a.i)
    };
    let Some(g) = proto.graph.as_ref() else {
        return Ok(());
    };
    let negative: Vec<(&str, i64)> = g
        .node
        .iter()
        .filter(|n| n.op_type == "LayerNormalization" && axis_of(n) < 0)
        .map(|n| (n.name.as_str(), axis_of(n)))
        .collect();
    if negative.is_empty() {
        return Ok(());
    }
    let mut copy = proto.clone();
    for n in copy.graph.iter_mut().flat_map(|g| &mut g.node) {
        if n.op_type == "LayerNormalization" {
            n.attribute.retain(|a| a.name != "axis");
            n.attribute.push(tract_onnx::pb::AttributeProto {
                name: "axis".into(),
                i: 0,
                r#type: tract_onnx::pb::attribute_proto::AttributeType::Int as i32,
                ..Default::default()
            });
        }
    }
    let mut model = guarded(|| onnx.model_for_proto_model(&copy))
        .map_err(|message| CompileError::Typing { message })?;
    shapes::set_input_facts(&mut model, &opts.input_shapes, secrets)?;
    let typed =
        guarded(move || model.into_typed()).map_err(|message| CompileError::Typing { message })?;
    for (name, axis) in negative {
        let Some(node) = typed.nodes().iter().find(|n| n.name == name) else {
            continue;
        };
        let Some(input) = node.inputs.first() else {
            continue;
        };
        let rank = typed.outlet_fact(*input).map_or(0, |f| f.rank() as i64);
        if axis < -rank {
            return Err(CompileError::Unsupported {
                op: "LayerNormalization".into(),
                node: name.to_string(),
                reason: format!("axis {axis} is outside its input's rank {rank}"),
            });
        }
    }
    Ok(())
}

/// Fixes the input facts from `opts.input_shapes`, then types and declutters the model.
fn type_model(
    mut model: InferenceModel,
    opts: &FrontendOptions,
    secrets: &ownership::Secrets,
) -> Result<TypedModel, CompileError> {
    shapes::set_input_facts(&mut model, &opts.input_shapes, secrets)?;
    guarded(move || model.into_typed()?.into_decluttered())
        .map_err(|message| CompileError::Typing { message })
}

/// Renames the nodes tract made while decluttering (`NAME.1`, `NAME.2`, … for a name taken
/// before) by their place in the evaluation order: tract numbers them in an order that
/// changes from run to run, and the names reach the plan (origins, weight names), which must
/// be the same for the same model every time. Names from the ONNX file are kept.
fn canonical_names(
    model: &mut TypedModel,
    proto: &tract_onnx::pb::ModelProto,
) -> Result<(), CompileError> {
    use std::collections::{HashMap, HashSet};
    let mut original: HashSet<String> = HashSet::new();
    if let Some(g) = &proto.graph {
        original.extend(g.node.iter().map(|n| n.name.clone()));
        original.extend(g.node.iter().flat_map(|n| n.output.iter().cloned()));
        original.extend(g.initializer.iter().map(|t| t.name.clone()));
        original.extend(g.input.iter().map(|i| i.name.clone()));
    }
    let split = |name: &str| -> Option<String> {
        let mut base = name;
        while let Some((b, n)) = base.rsplit_once('.') {
            if n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()) {
                break;
            }
            base = b;
        }
        (base.len() < name.len() && !original.contains(name)).then(|| base.to_string())
    };
    let order = model
        .eval_order()
        .map_err(|e| CompileError::bug_from("tract's model has no evaluation order", e))?;
    let renamed: Vec<(usize, String)> = order
        .iter()
        .filter_map(|&id| split(&model.node(id).name).map(|b| (id, b)))
        .collect();
    let mut taken: HashSet<String> = model
        .nodes()
        .iter()
        .filter(|n| split(&n.name).is_none())
        .map(|n| n.name.clone())
        .collect();
    let mut next: HashMap<String, usize> = HashMap::new();
    for (id, base) in renamed {
        let k = next.entry(base.clone()).or_insert(0);
        let name = loop {
            *k += 1;
            let candidate = format!("{base}.{k}");
            if !taken.contains(&candidate) {
                break candidate;
            }
        };
        taken.insert(name.clone());
        model.node_mut(id).name = name;
    }
    Ok(())
}

/// Runs a tract call, turning both its errors and its panics into a message.
fn guarded<T>(f: impl FnOnce() -> TractResult<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("tract panicked on this model".into()),
    }
}
