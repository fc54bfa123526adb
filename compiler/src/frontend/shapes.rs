//! Input facts: checks the user's `--input-shape` values against the model's inputs and
//! lists every dynamic dim that still needs one.

use super::CompileError;
use std::collections::HashMap;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid};

/// One dim of a model input as the ONNX file declares it.
#[derive(Clone)]
enum DeclaredDim {
    /// A fixed size.
    Fixed(usize),
    /// A named dynamic dim (`batch_size`, `sequence_length`).
    Named(String),
    /// A dim with no size and no name.
    Unknown,
}

/// Sets each input's fact (the model's dtype, the user's shape); fails listing every input
/// whose dynamic dims have no `--input-shape`.
pub(super) fn set_input_facts(
    model: &mut InferenceModel,
    given: &[(String, Vec<usize>)],
    secrets: &super::ownership::Secrets,
) -> Result<(), CompileError> {
    let inputs = declared_inputs(model)?;
    let user_inputs: Vec<_> = inputs
        .iter()
        .filter(|(n, _, _)| !secrets.contains_key(n))
        .cloned()
        .collect();
    check_names(&user_inputs, given)?;
    let mut missing = Vec::new();
    let mut symbols: HashMap<String, (usize, String)> = HashMap::new();
    for (ix, (name, dt, dims)) in inputs.iter().enumerate() {
        if let Some(t) = secrets.get(name) {
            // A secret initializer: its own dtype and shape.
            model
                .set_input_fact(ix, InferenceFact::dt_shape(t.datum_type(), t.shape()))
                .map_err(|e| CompileError::bug_from(format!("weight input '{name}'"), e))?;
            continue;
        }
        let shape = match given.iter().find(|(n, _)| n == name) {
            Some((_, s)) => s.clone(),
            None if dims.iter().all(|d| matches!(d, DeclaredDim::Fixed(_))) => dims
                .iter()
                .map(|d| match d {
                    DeclaredDim::Fixed(n) => *n,
                    _ => 0,
                })
                .collect(),
            None => {
                missing.push(missing_message(name, dims));
                continue;
            }
        };
        check_shape(name, dims, &shape, &mut symbols)?;
        model
            .set_input_fact(ix, InferenceFact::dt_shape(*dt, shape.as_slice()))
            .map_err(|e| CompileError::BadInputShape(format!("{name}: {e}")))?;
    }
    if missing.is_empty() {
        Ok(())
    } else {
        let text = inputs
            .iter()
            .any(|(n, _, d)| d.len() == 2 && ["input_ids", "attention_mask"].contains(&n.as_str()));
        if text {
            missing.push(
                "(or fix every text input at once with --batch B --seq S; an image input with \
                 --batch B --image-size H,W)"
                    .into(),
            );
        }
        Err(CompileError::MissingInputShape(missing))
    }
}

/// Name, dtype and declared dims of every model input.
fn declared_inputs(
    model: &InferenceModel,
) -> Result<Vec<(String, DatumType, Vec<DeclaredDim>)>, CompileError> {
    let mut out = Vec::new();
    let outlets = model
        .input_outlets()
        .map_err(|e| CompileError::bug_from("tract lists no model inputs", e))?;
    for (ix, outlet) in outlets.iter().enumerate() {
        let name = model.node(outlet.node).name.clone();
        let fact = model.input_fact(ix).map_err(|e| {
            CompileError::bug_from(format!("tract has no fact for input '{name}'"), e)
        })?;
        let untyped = |missing| CompileError::UntypedInput {
            input: name.clone(),
            missing,
        };
        let dt = fact
            .datum_type
            .concretize()
            .ok_or_else(|| untyped("element type"))?;
        if fact.shape.is_open() {
            return Err(untyped("declared rank"));
        }
        let dims = fact.shape.dims().map(declared_dim).collect();
        out.push((name, dt, dims));
    }
    Ok(out)
}

fn declared_dim(d: &GenericFactoid<TDim>) -> DeclaredDim {
    match d.concretize() {
        Some(TDim::Val(n)) if n >= 0 => DeclaredDim::Fixed(n as usize),
        Some(TDim::Sym(s)) => DeclaredDim::Named(s.to_string()),
        Some(other) => DeclaredDim::Named(other.to_string()),
        None => DeclaredDim::Unknown,
    }
}

/// Refuses `--input-shape` names that are not model inputs.
fn check_names(
    inputs: &[(String, DatumType, Vec<DeclaredDim>)],
    given: &[(String, Vec<usize>)],
) -> Result<(), CompileError> {
    for (name, _) in given {
        if !inputs.iter().any(|(n, _, _)| n == name) {
            let known: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
            return Err(CompileError::BadInputShape(format!(
                "the model has no input '{name}' (inputs: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checks rank, fixed dims and that a named dim gets one size across all inputs.
fn check_shape(
    name: &str,
    dims: &[DeclaredDim],
    shape: &[usize],
    symbols: &mut HashMap<String, (usize, String)>,
) -> Result<(), CompileError> {
    let bad = |m: String| Err(CompileError::BadInputShape(format!("{name}: {m}")));
    if dims.len() != shape.len() {
        return bad(format!(
            "the model declares rank {}, got {} dims {shape:?}",
            dims.len(),
            shape.len()
        ));
    }
    for (i, (d, &n)) in dims.iter().zip(shape).enumerate() {
        if n == 0 {
            return bad(format!("dim {i} is 0"));
        }
        match d {
            DeclaredDim::Fixed(m) if *m != n => {
                return bad(format!("dim {i} is fixed to {m} by the model, got {n}"));
            }
            DeclaredDim::Named(s) => match symbols.get(s) {
                Some((m, other)) if *m != n => {
                    return bad(format!("dim {i} ({s}) is {n}, but {other} gives {s} = {m}"));
                }
                None => {
                    symbols.insert(s.clone(), (n, name.to_string()));
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

/// `input_ids needs --input-shape input_ids=BATCH,SEQ (dims batch_size, sequence_length)`.
fn missing_message(name: &str, dims: &[DeclaredDim]) -> String {
    let placeholders: Vec<String> = dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            DeclaredDim::Fixed(n) => n.to_string(),
            DeclaredDim::Named(s) => placeholder(s),
            DeclaredDim::Unknown => format!("D{i}"),
        })
        .collect();
    let dynamic: Vec<String> = dims
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            DeclaredDim::Fixed(_) => None,
            DeclaredDim::Named(s) => Some(s.clone()),
            DeclaredDim::Unknown => Some(format!("unnamed dim {i}")),
        })
        .collect();
    format!(
        "{name} needs --input-shape {name}={} (dims {})",
        placeholders.join(","),
        dynamic.join(", ")
    )
}

/// Upper-case placeholder for a named dim: `batch_size` -> `BATCH`, `sequence_length` -> `SEQ`.
fn placeholder(symbol: &str) -> String {
    match symbol {
        "batch_size" | "batch" => "BATCH".into(),
        "sequence_length" | "seq_len" | "sequence" => "SEQ".into(),
        other => other
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect(),
    }
}
