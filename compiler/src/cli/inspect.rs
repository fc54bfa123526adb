//! `mpcc inspect`: what a model is and whether mpcc can compile it, before compiling.

use crate::client::ClientInfo;
use crate::frontend::support::support;
use crate::frontend::{declared_inputs, declared_outputs, read_proto, DeclaredInput};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Describe an ONNX model or export folder: inputs and outputs with their dynamic axes, the
/// operators with their support, the parameter count, the task and labels, and the
/// `mpcc compile` line to use.
///
/// Example:
///
///   mpcc inspect models/bert-tiny-seqcls
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The ONNX model, or the folder `optimum-cli export onnx` writes.
    pub model: PathBuf,
}

/// `[batch_size, sequence_length]`, `[1, 3, 224, 224]`.
fn dims(i: &DeclaredInput) -> String {
    let d: Vec<String> = i
        .dims
        .iter()
        .map(|d| match d {
            Ok(n) => n.to_string(),
            Err(s) if s.is_empty() => "?".into(),
            Err(s) => s.clone(),
        })
        .collect();
    format!("[{}]", d.join(", "))
}

/// The compile flags that fix the dynamic dims of `inputs`.
pub fn shape_flags(inputs: &[DeclaredInput]) -> String {
    let dynamic: Vec<&DeclaredInput> = inputs
        .iter()
        .filter(|i| i.dims.iter().any(|d| d.is_err()))
        .collect();
    if dynamic.is_empty() {
        return String::new();
    }
    let text =
        |i: &DeclaredInput| crate::io::TEXT_INPUTS.contains(&i.name.as_str()) && i.dims.len() == 2;
    let image = |i: &DeclaredInput| i.dims.len() == 4 && i.dims[1].is_ok();
    if dynamic.iter().all(|i| text(i)) {
        return " --batch 1 --seq 128".into();
    }
    if dynamic.iter().all(|i| image(i)) {
        let hw = |k: usize| dynamic[0].dims[k].clone().unwrap_or(224);
        return format!(" --batch 1 --image-size {},{}", hw(2), hw(3));
    }
    let mut flags = String::new();
    for i in dynamic {
        let d: Vec<String> = i
            .dims
            .iter()
            .map(|d| match d {
                Ok(n) => n.to_string(),
                Err(s) if s.is_empty() => "N".into(),
                Err(s) => s.to_uppercase(),
            })
            .collect();
        flags.push_str(&format!(" --input-shape {}={}", i.name, d.join(",")));
    }
    flags
}

/// Runs `mpcc inspect`.
pub fn main(args: Args) -> anyhow::Result<()> {
    outln!("{}", inspect(&args.model)?.trim_end());
    Ok(())
}

/// The report `mpcc inspect` prints.
pub fn inspect(model: &Path) -> anyhow::Result<String> {
    let (file, folder) = if model.is_dir() {
        (model.join("model.onnx"), Some(model))
    } else {
        (model.to_path_buf(), None)
    };
    let proto = read_proto(&file)?;
    let g = proto
        .graph
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("'{}' has no graph", file.display()))?;
    let mut s = String::new();
    let params: i64 = g
        .initializer
        .iter()
        .map(|t| t.dims.iter().product::<i64>())
        .sum();
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty())
        .map_or(0, |o| o.version);
    s += &format!(
        "model: {} ({} nodes, {params} parameters in {} initializers, opset {opset})\n",
        file.display(),
        g.node.len(),
        g.initializer.len()
    );
    if let Some(dir) = folder {
        let info = ClientInfo::from_config(&dir.join("config.json"))?;
        let task = info.task.map_or("unknown (pass --task)", |t| t.name());
        s += &format!("task: {task}");
        if !info.labels.is_empty() {
            s += &format!(" (labels: {})", info.labels.join(", "));
        }
        s += "\n";
        let tok = dir.join("tokenizer.json").exists();
        s += &format!(
            "tokenizer: {}\n",
            if tok { "tokenizer.json" } else { "none" }
        );
    }
    let inputs = declared_inputs(&proto);
    s += "inputs:\n";
    for i in &inputs {
        s += &format!("  {:<20} {:<6} {}\n", i.name, i.dtype, dims(i));
    }
    s += "outputs:\n";
    for o in declared_outputs(&proto) {
        s += &format!("  {:<20} {:<6} {}\n", o.name, o.dtype, dims(&o));
    }
    let mut hist: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &g.node {
        *hist.entry(n.op_type.as_str()).or_default() += 1;
    }
    s += &format!("operators ({} kinds):\n", hist.len());
    for (op, count) in &hist {
        let word = support(op).map_or("NOT SUPPORTED", |x| x.word());
        s += &format!("  {op:<22} {count:>5}  {word}\n");
    }
    let unsupported: Vec<&tract_onnx::pb::NodeProto> = g
        .node
        .iter()
        .filter(|n| support(&n.op_type).is_none())
        .collect();
    if unsupported.is_empty() {
        s += "every operator has a lowering (docs/ONNX-OPS.md says how and with which limits)\n";
    } else {
        s += "unsupported operators (mpcc compile will refuse them; docs/ONNX-OPS.md lists what is supported):\n";
        for n in unsupported {
            s += &format!("  {} at node '{}'\n", n.op_type, n.name);
        }
    }
    s += &format!(
        "compile with:\n  mpcc compile {} -o model.plan{}\n",
        model.display(),
        shape_flags(&inputs)
    );
    Ok(s)
}
