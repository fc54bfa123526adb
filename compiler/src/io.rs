//! Files a user brings to `mpcc run` and gets back: `.npy` tensors, reference inputs from
//! `reference.json`, and text turned into model inputs by a Hugging Face tokenizer.

use mpcc_ir::plan::{InputDecl, Plan};
use mpcc_ir::{InputEncoding, Op};
use mpcc_runtime::HostTensor;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WriteNpyExt};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod npy_header;

/// Why a tensor file, a reference file or a text input could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// A file could not be read or written.
    #[error("cannot {action} '{path}': {reason}")]
    File {
        /// "read", "write" or "create".
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// A `.npy` file does not parse.
    #[error("'{path}' is not a valid .npy file: {message}")]
    Npy {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// The data does not fit the plan's declaration of an input.
    #[error("input '{name}': {message}; the plan expects {dtype} with shape {shape:?}")]
    Mismatch {
        /// Input name.
        name: String,
        /// What is wrong.
        message: String,
        /// Declared dtype.
        dtype: String,
        /// Declared shape.
        shape: Vec<usize>,
    },
    /// A `reference.json` file does not parse or is inconsistent.
    #[error("reference file '{path}': {message}")]
    Reference {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The tokenizer could not be loaded or failed on the text.
    #[error("tokenizer '{path}': {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: String,
        /// Why.
        message: String,
    },
}

fn npy_err(path: &Path, e: impl std::fmt::Display) -> IoError {
    IoError::Npy {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, IoError> {
    std::fs::read(path).map_err(|reason| IoError::File {
        action: "read",
        path: path.display().to_string(),
        reason,
    })
}

/// Writes a whole file through a temporary file and a rename ([`write_all_atomic`]), naming
/// it in the error.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_all_atomic(&[(path, bytes)]).map_err(|(path, reason)| IoError::File {
        action: "write",
        path: path.display().to_string(),
        reason,
    })
}

/// The temporary name a file is written under before it is renamed to `path`: hidden, in the
/// same folder (so the rename stays on one file system), and unique to this process.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = format!(".{}.tmp-{}", name.unwrap_or_default(), std::process::id());
    path.with_file_name(tmp)
}

/// Writes every file to its temporary name first, then renames each into place in order, so
/// that a failure (a full disk, a folder in the way) leaves no partial file and no temporary
/// one: every target keeps its old content, except those renamed before a failing rename
/// (put the file that commits the set last). Returns the file that failed and why.
///
/// A target that exists and is not a regular file (a device such as `/dev/full`, a pipe, a
/// socket, a folder) is refused before anything is written: the rename would replace it.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), (PathBuf, std::io::Error)> {
    for (path, _) in files {
        if let Ok(m) = std::fs::metadata(path) {
            if !m.is_file() {
                return Err((
                    path.to_path_buf(),
                    std::io::Error::other(
                        "it exists and is not a regular file (a device, pipe, socket or \
                         folder), which writing through a rename would replace: give a file path",
                    ),
                ));
            }
        }
    }
    let tmps: Vec<PathBuf> = files.iter().map(|(p, _)| temp_beside(p)).collect();
    let clean = |tmps: &[PathBuf]| tmps.iter().for_each(|t| drop(std::fs::remove_file(t)));
    for ((path, bytes), tmp) in files.iter().zip(&tmps) {
        if let Err(e) = std::fs::write(tmp, bytes) {
            clean(&tmps);
            return Err((path.to_path_buf(), e));
        }
    }
    for ((path, _), tmp) in files.iter().zip(&tmps) {
        if let Err(e) = std::fs::rename(tmp, path) {
            clean(&tmps);
            return Err((path.to_path_buf(), e));
        }
    }
    Ok(())
}

/// A tensor read from a `.npy` file, with the dtype the file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyTensor {
    /// numpy dtype name: "int64", "int32", "bool", "float32" or "float64".
    pub dtype: &'static str,
    /// Shape and values (integers held exactly as f64 up to 2^53).
    pub tensor: HostTensor,
}

/// A `.npy` array's shape and elements.
type Array<T> = (Vec<usize>, Vec<T>);

/// Tries to read the array as element type `T`; `Ok(None)` when the file holds another dtype.
fn try_read<T>(bytes: &[u8], path: &Path) -> Result<Option<Array<T>>, IoError>
where
    T: ReadableElement,
{
    match ArrayD::<T>::read_npy(bytes) {
        Ok(a) => {
            let shape = a.shape().to_vec();
            Ok(Some((shape, a.into_iter().collect())))
        }
        Err(ReadNpyError::WrongDescriptor(_)) => Ok(None),
        Err(e) => Err(npy_err(path, e)),
    }
}

/// Reads a `.npy` file of int64, int32, bool, float32 or float64 values (C or Fortran order).
/// The header is checked first: its shape and dtype must account for exactly the bytes after
/// it, so a lying header is refused before anything is allocated for it.
pub fn read_npy(path: &Path) -> Result<NpyTensor, IoError> {
    let bytes = read_file(path)?;
    npy_header::parse(&bytes).map_err(|e| npy_err(path, e))?;
    decode_npy(&bytes, path)
}

/// Reads the `.npy` file `path` given for the input `decl`, refusing a file whose header's
/// shape is not the declared one before its data is decoded (then as [`read_npy`]).
pub fn read_npy_for(path: &Path, decl: &InputDecl) -> Result<NpyTensor, IoError> {
    let bytes = read_file(path)?;
    let header = npy_header::parse(&bytes).map_err(|e| npy_err(path, e))?;
    if header.shape != decl.shape {
        return Err(IoError::Mismatch {
            name: decl.name.clone(),
            message: format!("the file '{}' has shape {:?}", path.display(), header.shape),
            dtype: decl.dtype.clone(),
            shape: decl.shape.clone(),
        });
    }
    decode_npy(&bytes, path)
}

/// Decodes the `.npy` bytes of `path` in the first dtype that fits.
fn decode_npy(bytes: &[u8], path: &Path) -> Result<NpyTensor, IoError> {
    macro_rules! attempt {
        ($t:ty, $name:literal, $conv:expr) => {
            if let Some((shape, data)) = try_read::<$t>(bytes, path)? {
                let data = data.into_iter().map($conv).collect();
                return Ok(NpyTensor {
                    dtype: $name,
                    tensor: HostTensor { shape, data },
                });
            }
        };
    }
    attempt!(i64, "int64", |v: i64| v as f64);
    attempt!(i32, "int32", |v: i32| v as f64);
    attempt!(bool, "bool", |v: bool| v as u8 as f64);
    attempt!(f32, "float32", |v: f32| v as f64);
    attempt!(f64, "float64", |v: f64| v);
    Err(npy_err(
        path,
        "its dtype is none of int64, int32, bool, float32, float64",
    ))
}

/// The largest magnitude an input of `plan` may hold: a product of two values at scale 2^f
/// sits at 2^(2f) and the secret truncation needs it below 2^(k-2), so each factor must stay
/// below 2^((k-2)/2 - f) (8192 at the default 18 fraction bits in Z_2^64). Values inside it
/// can still overflow later in the model (the formats per value come with ranges); beyond it
/// the first product already does.
pub fn input_limit(plan: &Plan) -> f64 {
    let bits = (plan.header.ring.bits() as i32 - 2) / 2 - plan.header.frac_bits as i32;
    2f64.powi(bits)
}

/// Checks a tensor read from a file against the plan's declaration of that input and
/// returns the values to feed. int32/bool convert to int64; float64 and integers convert to
/// float32. Refused: floats for an int64 input, a wrong shape, a non-finite float, a token id
/// outside the vocabulary of a one-hot input, an attention mask other than 0/1, and a real
/// (float32) value beyond [`input_limit`]. Integer inputs (ids, positions) are whole numbers
/// the model indexes or compares with; they are not limited here.
pub fn check_input(plan: &Plan, decl: &InputDecl, t: NpyTensor) -> Result<HostTensor, IoError> {
    let mismatch = |message: String| IoError::Mismatch {
        name: decl.name.clone(),
        message,
        dtype: decl.dtype.clone(),
        shape: decl.shape.clone(),
    };
    let accepted: &[&str] = match decl.dtype.as_str() {
        "int64" => &["int64", "int32", "bool"],
        // Integers convert exactly: the front end may take an ONNX int64 input (such as an
        // attention mask) as fixed point.
        "float32" => &["float32", "float64", "int64", "int32", "bool"],
        other => {
            return Err(mismatch(format!(
                "the plan declares unknown dtype '{other}'"
            )))
        }
    };
    if !accepted.contains(&t.dtype) {
        return Err(mismatch(format!("the file holds {}", t.dtype)));
    }
    if t.tensor.shape != decl.shape {
        return Err(mismatch(format!("the file has shape {:?}", t.tensor.shape)));
    }
    if let Some(i) = t.tensor.data.iter().position(|v| !v.is_finite()) {
        return Err(mismatch(format!("element {i} is not a finite number")));
    }
    if let Some(depth) = one_hot_depth(plan, decl) {
        let bad = t
            .tensor
            .data
            .iter()
            .position(|v| *v < 0.0 || *v >= depth as f64);
        if let Some(i) = bad {
            return Err(mismatch(format!(
                "id {} at position {i} is outside the vocabulary 0..{depth}",
                t.tensor.data[i]
            )));
        }
    }
    if decl.name == "attention_mask" {
        if let Some(i) = t.tensor.data.iter().position(|v| *v != 0.0 && *v != 1.0) {
            return Err(mismatch(format!(
                "element {i} is {}: an attention mask holds 0 (padding) or 1 (a token)",
                t.tensor.data[i]
            )));
        }
    }
    if decl.dtype == "float32" {
        let limit = input_limit(plan);
        if let Some(i) = t.tensor.data.iter().position(|v| v.abs() >= limit) {
            return Err(mismatch(format!(
                "element {i} is {}, beyond the {limit} the plan's format holds for an input \
                 (2^((k-2)/2 - f) with k = {} and f = {}: a product of two such values at scale \
                 2^(2f) must stay below the truncation's 2^(k-2)); scale the input as the model \
                 expects (e.g. normalised pixels), or compile with fewer --frac-bits",
                t.tensor.data[i],
                plan.header.ring.bits(),
                plan.header.frac_bits
            )));
        }
    }
    // A calibrated plan holds its inputs' ranges (`mpcc compile --calibrate`); its formats
    // are checked for values within the margin of them, and beyond it they may wrap.
    if let (true, Some(r)) = (decl.dtype == "float32", plan.graph().range(decl.slot)) {
        let m = crate::calibrate::RANGE_MARGIN;
        let limit = m * r.lo.abs().max(r.hi.abs());
        if let Some(i) = t.tensor.data.iter().position(|v| v.abs() > limit) {
            return Err(mismatch(format!(
                "element {i} is {}, beyond the plan's calibrated range [{}, {}] times its margin \
                 {m} (|x| <= {limit}): the formats were checked for inputs up to there, and \
                 further out a value can wrap into a wrong answer; scale the input as the model \
                 expects, or recompile with --calibrate inputs like this one",
                t.tensor.data[i], r.lo, r.hi
            )));
        }
    }
    let mut tensor = t.tensor;
    if decl.dtype == "float32" {
        tensor.data.iter_mut().for_each(|v| *v = *v as f32 as f64);
    }
    Ok(tensor)
}

/// The vocabulary size of a one-hot encoded input, if `decl` is one.
fn one_hot_depth(plan: &Plan, decl: &InputDecl) -> Option<usize> {
    let node = plan.graph().nodes.iter().find(|n| n.output == decl.slot)?;
    let Op::Input {
        encoding: InputEncoding::OneHot { depth },
        ..
    } = &node.op
    else {
        return None;
    };
    Some(*depth)
}

/// A tensor as the bytes of a float32 `.npy` file (`path` names it in the error).
pub fn npy_f32_bytes(path: &Path, t: &HostTensor) -> Result<Vec<u8>, IoError> {
    let data: Vec<f32> = t.data.iter().map(|v| *v as f32).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&t.shape), data).map_err(|e| npy_err(path, e))?;
    let mut buf = Vec::new();
    a.write_npy(&mut buf).map_err(|e| npy_err(path, e))?;
    Ok(buf)
}

/// Writes a tensor as a float32 `.npy` file.
pub fn write_npy_f32(path: &Path, t: &HostTensor) -> Result<(), IoError> {
    write_file(path, &npy_f32_bytes(path, t)?)
}

/// Writes a tensor as an int64 `.npy` file (values are rounded).
pub fn write_npy_i64(path: &Path, t: &HostTensor) -> Result<(), IoError> {
    let data: Vec<i64> = t.data.iter().map(|v| v.round() as i64).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&t.shape), data).map_err(|e| npy_err(path, e))?;
    let mut buf = Vec::new();
    a.write_npy(&mut buf).map_err(|e| npy_err(path, e))?;
    write_file(path, &buf)
}

/// One tensor of a `reference.json` file.
#[derive(Clone, Debug, Deserialize)]
pub struct RefTensor {
    /// Name.
    pub name: String,
    /// numpy dtype name.
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f64>,
}

impl RefTensor {
    /// The tensor as the `.npy` reader would give it (its dtype, float32 unless integer,
    /// bool or float64).
    pub fn npy(&self) -> NpyTensor {
        let dtype = match self.dtype.as_str() {
            "int64" => "int64",
            "int32" => "int32",
            "bool" => "bool",
            "float64" => "float64",
            _ => "float32",
        };
        NpyTensor {
            dtype,
            tensor: self.tensor(),
        }
    }

    /// The values as a host tensor.
    pub fn tensor(&self) -> HostTensor {
        HostTensor {
            shape: self.shape.clone(),
            data: self.data.clone(),
        }
    }
}

/// A `reference.json` file (format "onnx-reference-v1"): one input and onnxruntime's output.
#[derive(Clone, Debug, Deserialize)]
pub struct Reference {
    /// Format tag.
    pub format: String,
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// Inputs in the ONNX graph's order.
    pub inputs: Vec<RefTensor>,
    /// Outputs.
    pub outputs: Vec<RefTensor>,
}

impl Reference {
    /// Reads and checks a `reference.json` file.
    pub fn load(path: &Path) -> Result<Reference, IoError> {
        let err = |message: String| IoError::Reference {
            path: path.display().to_string(),
            message,
        };
        let bytes = read_file(path)?;
        let r: Reference = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
        if r.format != "onnx-reference-v1" {
            return Err(err(format!(
                "format '{}' is not onnx-reference-v1",
                r.format
            )));
        }
        for t in r.inputs.iter().chain(&r.outputs) {
            // Checked: a shape whose product wraps could otherwise match the values' count.
            let n = t.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
            if n != Some(t.data.len()) {
                return Err(err(format!(
                    "tensor '{}' has shape {:?} but {} values",
                    t.name,
                    t.shape,
                    t.data.len()
                )));
            }
        }
        Ok(r)
    }

    /// The reference input of that name.
    pub fn input(&self, name: &str) -> Option<&RefTensor> {
        self.inputs.iter().find(|t| t.name == name)
    }

    /// The reference output of that name.
    pub fn output(&self, name: &str) -> Option<&RefTensor> {
        self.outputs.iter().find(|t| t.name == name)
    }

    /// The concrete input shapes, as `mpcc compile --input-shape` takes them.
    pub fn input_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.inputs
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .collect()
    }

    /// Writes each input to `dir/<name>.npy` in its own dtype (int64 or float32) and returns
    /// `(name, path)` pairs, ready for `mpcc run --input NAME=PATH`.
    pub fn write_inputs(&self, dir: &Path) -> Result<Vec<(String, PathBuf)>, IoError> {
        let mut out = Vec::new();
        for t in &self.inputs {
            let path = dir.join(format!("{}.npy", file_stem(&t.name)));
            if t.dtype.starts_with("int") || t.dtype == "bool" {
                write_npy_i64(&path, &t.tensor())?;
            } else {
                write_npy_f32(&path, &t.tensor())?;
            }
            out.push((t.name.clone(), path));
        }
        Ok(out)
    }
}

/// A file name stem for a tensor name: characters other than ASCII letters, digits, `-`,
/// `_` and `.` become `_` (ONNX names may hold `/` or `:`).
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// Inputs a tokenizer can fill in.
pub const TEXT_INPUTS: [&str; 4] = [
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "position_ids",
];

/// Tokenizes `texts` (one per batch row) with the Hugging Face `tokenizer.json` at `path`,
/// padded or truncated to the plan's sequence length, and returns those of `input_ids`,
/// `attention_mask`, `token_type_ids` and `position_ids` that the plan declares.
pub fn tokenize(
    path: &Path,
    texts: &[String],
    plan: &Plan,
) -> Result<HashMap<String, HostTensor>, IoError> {
    let err = |message: String| IoError::Tokenizer {
        path: path.display().to_string(),
        message,
    };
    let decls: Vec<&InputDecl> = plan
        .body
        .inputs
        .iter()
        .filter(|d| TEXT_INPUTS.contains(&d.name.as_str()))
        .collect();
    let Some(first) = decls.first() else {
        return Err(err(format!(
            "the plan declares none of {TEXT_INPUTS:?}, so --text cannot feed it"
        )));
    };
    let shape = first.shape.clone();
    if shape.len() != 2 || decls.iter().any(|d| d.shape != shape) {
        let shapes: Vec<_> = decls.iter().map(|d| (&d.name, &d.shape)).collect();
        return Err(err(format!(
            "text inputs must all have shape [batch, sequence]; the plan has {shapes:?}"
        )));
    }
    let (batch, seq) = (shape[0], shape[1]);
    if texts.len() != batch {
        return Err(err(format!(
            "the plan was compiled for batch {batch}, but {} text(s) were given; pass --text \
             once per batch row",
            texts.len()
        )));
    }
    let tok = load_tokenizer(path, seq).map_err(err)?;
    // A tokenizer with more tokens than the embedding has rows is another model's.
    if let Some(depth) = plan
        .body
        .inputs
        .iter()
        .find(|d| d.name == "input_ids")
        .and_then(|d| one_hot_depth(plan, d))
    {
        let vocab = tok.get_vocab_size(true);
        if vocab > depth {
            return Err(err(format!(
                "it has {vocab} tokens but the model's embedding has {depth} rows, so it is not this model's tokenizer; use the tokenizer.json of the export the plan was compiled from"
            )));
        }
        if vocab < depth {
            eprintln!(
                "note: tokenizer '{}' has {vocab} tokens and the embedding {depth} rows; exports often pad the embedding, but check that it is this model's tokenizer",
                path.display()
            );
        }
    }
    let mut rows: HashMap<&str, Vec<f64>> = HashMap::new();
    for text in texts {
        let enc = tok
            .encode(text.as_str(), true)
            .map_err(|e| err(e.to_string()))?;
        let ids = enc.get_ids();
        let take = |v: &[u32]| v.iter().map(|x| *x as f64).collect::<Vec<_>>();
        rows.entry("input_ids").or_default().extend(take(ids));
        let mask = enc.get_attention_mask();
        rows.entry("attention_mask").or_default().extend(take(mask));
        let types = enc.get_type_ids();
        rows.entry("token_type_ids")
            .or_default()
            .extend(take(types));
        rows.entry("position_ids")
            .or_default()
            .extend((0..seq).map(|i| i as f64));
    }
    let mut out = HashMap::new();
    for d in decls {
        let data = rows.remove(d.name.as_str()).unwrap_or_default();
        if data.len() != batch * seq {
            return Err(err(format!(
                "'{}' came out with {} values, expected {}",
                d.name,
                data.len(),
                batch * seq
            )));
        }
        out.insert(
            d.name.clone(),
            HostTensor {
                shape: shape.clone(),
                data,
            },
        );
    }
    Ok(out)
}

/// Reads a Hugging Face tokenizer.json. The tokenizers library panics on some malformed
/// files (found by fuzz/ target tokenizer: a decoder whose JSON holds a control character);
/// such a panic is caught and reported as this file's error.
pub fn read_tokenizer(path: &Path) -> Result<tokenizers::Tokenizer, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| tokenizers::Tokenizer::from_file(path));
    std::panic::set_hook(hook);
    match r {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!(
                "the tokenizers library could not read it ({why}); give the export's own \
                 tokenizer.json"
            ))
        }
    }
}

/// Loads a tokenizer and sets it to pad and truncate every text to exactly `seq` tokens.
fn load_tokenizer(path: &Path, seq: usize) -> Result<tokenizers::Tokenizer, String> {
    use tokenizers::{PaddingParams, PaddingStrategy, TruncationParams};
    let mut tok = read_tokenizer(path).map_err(|e| {
        // A JSON file that is no tokenizer gets serde's position; say what it is instead.
        let json = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        match json {
            Some(v) if v.get("model").is_none() => {
                "it is JSON but not a Hugging Face tokenizer.json (it has no \"model\" field); \
                 give the tokenizer.json of the export (tokenizer_config.json and vocab files \
                 are not enough)"
                    .to_string()
            }
            _ => e,
        }
    })?;
    let mut padding = tok.get_padding().cloned().unwrap_or_else(|| {
        let mut p = PaddingParams::default();
        for cand in ["[PAD]", "<pad>", "<|padding|>"] {
            if let Some(id) = tok.token_to_id(cand) {
                p.pad_id = id;
                p.pad_token = cand.to_string();
                break;
            }
        }
        p
    });
    padding.strategy = PaddingStrategy::Fixed(seq);
    padding.pad_to_multiple_of = None;
    let truncation = TruncationParams {
        max_length: seq,
        ..Default::default()
    };
    tok.with_padding(Some(padding));
    tok.with_truncation(Some(truncation))
        .map_err(|e| e.to_string())?;
    Ok(tok)
}

/// How close a secure output is to a reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Cosine similarity of the two tensors as flat vectors (1 when both are zero).
    pub cosine: f64,
}

/// Compares two flat tensors; tensors of different lengths do not agree at all.
pub fn agreement(got: &[f64], want: &[f64]) -> Agreement {
    if got.len() != want.len() {
        return Agreement {
            max_abs: f64::INFINITY,
            cosine: 0.0,
        };
    }
    let max_abs = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let dot: f64 = got.iter().zip(want).map(|(a, b)| a * b).sum();
    let na = got.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nb = want.iter().map(|b| b * b).sum::<f64>().sqrt();
    let cosine = if na == 0.0 && nb == 0.0 {
        1.0
    } else if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    };
    Agreement { max_abs, cosine }
}
