//! The plan format: a verified kernel-only graph with its header, input/weight/output
//! declarations and slot lifetimes, and its versioned binary encoding.

use crate::graph::{Graph, ValueId, VerifyError};
use crate::op::{InputEncoding, Op};
use crate::types::{PartyId, Ring, Vis};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File magic of a plan.
pub const PLAN_MAGIC: &[u8; 8] = b"MPCCPLAN";
/// Current plan format version. Bump on any change to the header's or [`PlanBody`]'s
/// encoding. Version 3: the digest covers the header fields (version, protocol, ring,
/// fraction bits, reserved byte) as well as the body. Version 4: the ring conversions
/// `downcast` and `upcast` (new `Op` variants, which renumber the variants after them).
/// Version 5: state (`InputEncoding::State` inputs, outputs to no party) and the body's
/// `state` and `kept` lists, for generation.
pub const PLAN_VERSION: u32 = 5;

/// The most fraction bits a plan over `ring` can hold at all: a product of two values at
/// scale f sits at scale 2f, and a secret truncation needs |x| < 2^(k-2), so even 1 · 1
/// (2^(2f)) only fits when 2f < k - 2, that is f <= (k - 3) / 2 (30 in Z_2^64, 14 in
/// Z_2^32). `mpcc compile` keeps a narrower, useful range (it leaves room for magnitudes).
pub fn max_frac_bits(ring: Ring) -> u32 {
    (ring.bits() - 3) / 2
}

/// The MPC protocol a plan is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// 3-party replicated secret sharing, semi-honest, honest majority.
    Aby3,
}

/// Fixed fields at the start of a plan file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanHeader {
    /// Format version ([`PLAN_VERSION`] when written by this build).
    pub version: u32,
    /// Protocol.
    pub protocol: Protocol,
    /// Default ring.
    pub ring: Ring,
    /// Default fraction bits.
    pub frac_bits: u32,
    /// SHA-256 of the encoded body; parties compare it at the handshake.
    pub digest: [u8; 32],
}

/// A graph input a party supplies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputDecl {
    /// Input name.
    pub name: String,
    /// Owning party.
    pub owner: PartyId,
    /// Shape of the file the owner supplies (before one-hot expansion).
    pub shape: Vec<usize>,
    /// Expected dtype of the file: "float32" or "int64".
    pub dtype: String,
    /// The slot the shared input lands in.
    pub slot: ValueId,
}

/// A tensor the weights file must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightDecl {
    /// Tensor name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// The slot it lands in.
    pub slot: ValueId,
    /// Whether it stays public (all parties read it) or is shared by the owner.
    pub public: bool,
}

/// A revealed graph output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputDecl {
    /// Output name.
    pub name: String,
    /// Parties that learn it.
    pub to: Vec<PartyId>,
    /// Shape.
    pub shape: Vec<usize>,
    /// Slot revealed.
    pub slot: ValueId,
}

/// Secret-shared state a run starts from ([`InputEncoding::State`]): each party brings its
/// share, kept from an earlier run's output of the same name to no party.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateDecl {
    /// State name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// The slot the shares land in.
    pub slot: ValueId,
}

/// Everything in a plan after the header; the digest covers its encoding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    /// The program. Slots are the graph's values; instructions are its nodes in order.
    pub graph: Graph,
    /// Inputs, in the order the ONNX graph lists them.
    pub inputs: Vec<InputDecl>,
    /// Weights.
    pub weights: Vec<WeightDecl>,
    /// Outputs revealed to some party.
    pub outputs: Vec<OutputDecl>,
    /// State the run starts from (shares each party brings).
    pub state: Vec<StateDecl>,
    /// Outputs revealed to no party: each party keeps its share as state.
    pub kept: Vec<OutputDecl>,
    /// `frees[i]`: slots whose last use is instruction i; the VM drops them after it.
    pub frees: Vec<Vec<ValueId>>,
}

/// A loaded or freshly built plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Header.
    pub header: PlanHeader,
    /// Body.
    pub body: PlanBody,
}

/// Why a plan could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file does not start with the plan magic.
    #[error("not an mpcc plan (bad magic); was it written by `mpcc compile`?")]
    BadMagic,
    /// Written by a newer mpcc.
    #[error("plan format version {found} is newer than this mpcc reads (version {supported}); upgrade mpcc or recompile the model")]
    NewerVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Written by an older, incompatible mpcc.
    #[error("plan format version {found} is older than this mpcc reads (version {supported}); recompile the model")]
    OlderVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The file ends early.
    #[error("plan file is truncated: {0}")]
    Truncated(String),
    /// The body does not match the digest.
    #[error("plan file is corrupted: its digest does not match its contents")]
    DigestMismatch,
    /// The body does not decode.
    #[error("plan file is corrupted: {0}")]
    Decode(String),
    /// A header field holds an unknown value.
    #[error("plan header is invalid: {0}")]
    Header(String),
    /// The program breaks an IR rule.
    #[error("plan program is invalid: {0}")]
    Verify(#[from] VerifyError),
}

impl Plan {
    /// Builds a plan from a kernel-only graph: verifies it, collects the declarations and
    /// slot lifetimes, and computes the digest.
    pub fn from_graph(graph: Graph) -> Result<Plan, PlanError> {
        graph.verify(true)?;
        let d = declarations(&graph);
        let frees = last_uses(&graph);
        let body = PlanBody {
            graph,
            inputs: d.inputs,
            weights: d.weights,
            outputs: d.outputs,
            state: d.state,
            kept: d.kept,
            frees,
        };
        let ring = Ring::Z64;
        let frac_bits = body.graph.frac_bits;
        check_frac_bits(ring, frac_bits)?;
        let mut header = PlanHeader {
            version: PLAN_VERSION,
            protocol: Protocol::Aby3,
            ring,
            frac_bits,
            digest: [0; 32],
        };
        header.digest = digest(&header.fields(), &encode_body(&body));
        Ok(Plan { header, body })
    }

    /// Recomputes the digest from the header fields and the body, after an edit of either.
    /// Nothing is verified: a tool that edits a plan (or a test that builds a hostile one)
    /// gets a file that loads only if [`Plan::from_bytes`] accepts its contents.
    pub fn refresh_digest(&mut self) {
        self.header.digest = digest(&self.header.fields(), &encode_body(&self.body));
    }

    /// The program.
    pub fn graph(&self) -> &Graph {
        &self.body.graph
    }

    /// Digest as lower-case hex.
    pub fn digest_hex(&self) -> String {
        self.header
            .digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Encodes the plan file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = encode_body(&self.body);
        let mut out = Vec::with_capacity(body.len() + 64);
        out.extend_from_slice(PLAN_MAGIC);
        out.extend_from_slice(&self.header.fields());
        out.extend_from_slice(&self.header.digest);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes and verifies a plan file. Never panics on bad bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Plan, PlanError> {
        const FIXED: usize = 8 + 4 + 4 + 32 + 8;
        if bytes.len() < 8 {
            return Err(if PLAN_MAGIC.starts_with(bytes) {
                PlanError::Truncated(format!("{} bytes, the header needs {FIXED}", bytes.len()))
            } else {
                PlanError::BadMagic
            });
        }
        if &bytes[..8] != PLAN_MAGIC {
            return Err(PlanError::BadMagic);
        }
        if bytes.len() < FIXED {
            return Err(PlanError::Truncated(format!(
                "{} bytes, the header needs {FIXED}",
                bytes.len()
            )));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version > PLAN_VERSION {
            return Err(PlanError::NewerVersion {
                found: version,
                supported: PLAN_VERSION,
            });
        }
        if version < PLAN_VERSION {
            return Err(PlanError::OlderVersion {
                found: version,
                supported: PLAN_VERSION,
            });
        }
        let protocol = match bytes[12] {
            0 => Protocol::Aby3,
            p => return Err(PlanError::Header(format!("unknown protocol id {p}"))),
        };
        let ring = match bytes[13] {
            64 => Ring::Z64,
            32 => Ring::Z32,
            r => return Err(PlanError::Header(format!("unsupported ring width {r}"))),
        };
        let frac_bits = bytes[14] as u32;
        check_frac_bits(ring, frac_bits)?;
        if bytes[15] != 0 {
            return Err(PlanError::Header(format!(
                "reserved byte 15 is {}, not 0; the file was not written by `mpcc compile`",
                bytes[15]
            )));
        }
        let fields: [u8; 8] = bytes[8..16].try_into().unwrap();
        let digest: [u8; 32] = bytes[16..48].try_into().unwrap();
        let len = u64::from_le_bytes(bytes[48..56].try_into().unwrap());
        let rest = &bytes[FIXED..];
        if (rest.len() as u64) < len {
            return Err(PlanError::Truncated(format!(
                "body has {} of {len} bytes",
                rest.len()
            )));
        }
        if rest.len() as u64 > len {
            return Err(PlanError::Decode(format!(
                "{} trailing bytes after the body",
                rest.len() as u64 - len
            )));
        }
        if self::digest(&fields, rest) != digest {
            return Err(PlanError::DigestMismatch);
        }
        let body: PlanBody =
            crate::weights::decode_exact(rest).map_err(|e| PlanError::Decode(e.to_string()))?;
        if body.graph.frac_bits != frac_bits {
            return Err(PlanError::Header(format!(
                "the header says {frac_bits} fraction bits, the program {}",
                body.graph.frac_bits
            )));
        }
        body.graph.verify(true)?;
        // The declarations and slot lifetimes are derived from the program; a file whose
        // copies disagree would make the VM read or free the wrong slots.
        let d = declarations(&body.graph);
        if body.frees != last_uses(&body.graph) {
            return Err(PlanError::Decode(
                "slot lifetimes do not match the instructions".into(),
            ));
        }
        if body.inputs != d.inputs
            || body.weights != d.weights
            || body.outputs != d.outputs
            || body.state != d.state
            || body.kept != d.kept
        {
            return Err(PlanError::Decode(
                "the input, weight or output declarations do not match the program".into(),
            ));
        }
        Ok(Plan {
            header: PlanHeader {
                version,
                protocol,
                ring,
                frac_bits,
                digest,
            },
            body,
        })
    }
}

impl PlanHeader {
    /// Header bytes 8..16 as written: version (little-endian), protocol id, ring width,
    /// fraction bits, a reserved zero byte. The digest covers them.
    fn fields(&self) -> [u8; 8] {
        let v = self.version.to_le_bytes();
        let protocol = match self.protocol {
            Protocol::Aby3 => 0,
        };
        [
            v[0],
            v[1],
            v[2],
            v[3],
            protocol,
            self.ring.bits() as u8,
            self.frac_bits as u8,
            0,
        ]
    }
}

/// Refuses fraction bits that `ring` cannot hold (see [`max_frac_bits`]).
fn check_frac_bits(ring: Ring, frac_bits: u32) -> Result<(), PlanError> {
    let max = max_frac_bits(ring);
    if frac_bits > max {
        return Err(PlanError::Header(format!(
            "{frac_bits} fraction bits do not fit the ring Z_2^{}: a product at scale \
             2^{} overflows the truncation's range 2^{}; at most {max} fit",
            ring.bits(),
            2 * frac_bits,
            ring.bits() - 2
        )));
    }
    Ok(())
}

fn encode_body(body: &PlanBody) -> Vec<u8> {
    bincode::serialize(body).expect("plan body serializes")
}

/// SHA-256 of the header fields and the encoded body.
fn digest(fields: &[u8; 8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(fields);
    h.update(body);
    h.finalize().into()
}

/// The input, weight, output and state declarations of a verified graph, in node order.
fn declarations(graph: &Graph) -> Declarations {
    let mut inputs = Vec::new();
    let mut weights = Vec::new();
    let mut outputs = Vec::new();
    let mut state = Vec::new();
    let mut kept = Vec::new();
    for node in &graph.nodes {
        let ty = graph.ty(node.output);
        if let Op::Input {
            name,
            owner,
            encoding,
        } = &node.op
        {
            let (shape, dtype) = match encoding {
                InputEncoding::Fixed => (ty.shape.clone(), "float32"),
                InputEncoding::Int => (ty.shape.clone(), "int64"),
                InputEncoding::OneHot { .. } => (ty.shape[..ty.shape.len() - 1].to_vec(), "int64"),
                InputEncoding::State => {
                    state.push(StateDecl {
                        name: name.clone(),
                        shape: ty.shape.clone(),
                        slot: node.output,
                    });
                    continue;
                }
            };
            inputs.push(InputDecl {
                name: name.clone(),
                owner: *owner,
                shape,
                dtype: dtype.into(),
                slot: node.output,
            });
        } else if let Op::Weight { name } = &node.op {
            weights.push(WeightDecl {
                name: name.clone(),
                shape: ty.shape.clone(),
                slot: node.output,
                public: ty.vis == Vis::Public,
            });
        } else if let Op::Output { name, to } = &node.op {
            let decl = OutputDecl {
                name: name.clone(),
                to: to.clone(),
                shape: ty.shape.clone(),
                slot: node.output,
            };
            if to.is_empty() {
                kept.push(decl);
            } else {
                outputs.push(decl);
            }
        }
    }
    Declarations {
        inputs,
        weights,
        outputs,
        state,
        kept,
    }
}

/// What a graph declares, by kind.
struct Declarations {
    inputs: Vec<InputDecl>,
    weights: Vec<WeightDecl>,
    outputs: Vec<OutputDecl>,
    state: Vec<StateDecl>,
    kept: Vec<OutputDecl>,
}

/// For each node, the values whose last use it is (values never used are freed where they
/// are defined, unless they are revealed outputs, which the runner keeps).
fn last_uses(graph: &Graph) -> Vec<Vec<ValueId>> {
    let mut last = vec![None; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        last[node.output.index()] = Some(i);
        for v in &node.inputs {
            last[v.index()] = Some(i);
        }
    }
    let mut frees = vec![Vec::new(); graph.nodes.len()];
    for (v, l) in last.iter().enumerate() {
        if let Some(i) = l {
            if !matches!(graph.nodes[*i].op, Op::Output { .. })
                || graph.nodes[*i].output.index() != v
            {
                frees[*i].push(ValueId(v as u32));
            }
        }
    }
    frees
}
