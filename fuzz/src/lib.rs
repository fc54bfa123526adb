//! Fuzz targets over every parser of bytes a user or a peer controls, and the driver that
//! runs them on the stable toolchain: the plan file (as written, and with its digest stamped
//! again after the mutation, then the VM on what loads, under step and memory budgets), the
//! weights file, `.npy` tensors, `reference.json`, `tokenizer.json` and the text it encodes,
//! the IR text form (and the VM on what verifies), ONNX files (as bytes, and as edited
//! models), and the party network layer
//! (the hello, the frame reassembly, the TLS handshake a stranger reaches, and a peer's
//! messages to a running VM).
//!
//! A target is a `fn(&[u8]) -> String` that must never panic, hang (past
//! [`Target::time_limit`]) or allocate without bound ([`alloc`]); the text it returns names
//! the outcome (an error's message, "ok"), and the driver keeps inputs with new outcomes.
//! `scripts/fuzz.sh TARGET SECONDS` runs one target; `tests/smoke.rs` runs every target a
//! little in `cargo test`; `tests/regressions.rs` replays `fuzz/regressions/TARGET/*`.

pub mod alloc;
pub mod driver;
pub mod mutate;
pub mod seeds;
pub mod targets;

use std::time::Duration;

/// One fuzz target.
pub struct Target {
    /// Name on the command line and in `fuzz/crashes/` and `fuzz/regressions/`.
    pub name: &'static str,
    /// What it feeds the bytes to.
    pub about: &'static str,
    /// Runs one input; returns its outcome.
    pub run: fn(&[u8]) -> String,
    /// The seed inputs.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens the mutator inserts.
    pub dict: &'static [&'static [u8]],
    /// Longest input the mutator makes.
    pub max_len: usize,
    /// An input that runs longer is a hang.
    pub time_limit: Duration,
    /// Mutated inputs the smoke test runs.
    pub smoke_iterations: u64,
}

const JSON: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"null",
    b"true",
    b"-",
    b"1e999",
    b"\\u0000",
    b"\"shape\":",
    b"\"data\":",
    b"[[[[[[[[",
    b"]]]]]]]]",
];

const IR: &[&[u8]] = &[
    b"\nv9 = ",
    b" : sec<",
    b" : pub<",
    b" : client<",
    b" : owner<",
    b",z64,f18>",
    b",z32,f0>",
    b"x",
    b" @ \"n\"",
    b"{\"bits\":",
    b"\"name\":",
    b"matmul v0, v1",
    b"trunc",
    b"output",
    b"input",
    b"weight",
    b"add v0, v0",
    b"\"range\":[",
    b"graph frac_bits=",
];

const BIN: &[&[u8]] = &[
    b"MPCCPLAN",
    b"MPCCWGHT",
    b"\x05\x00\x00\x00\x00@\x12\x00",
    b"\x00\x00\x00\x00\x00\x00\x00\x80",
];

const NPY: &[&[u8]] = &[
    b"\x93NUMPY",
    b"'descr': '<f4'",
    b"'descr': '<i8'",
    b"'descr': '|b1'",
    b"'descr': '>f8'",
    b"'fortran_order': True",
    b"'shape': (",
    b"), }",
    b",)",
    b"(0,)",
    b"4294967296,",
];

const NET: &[&[u8]] = &[
    b"MPCCNET\0",
    b"\x01\x00\x00\x00",
    b"\x16\x03\x01",
    b"\x16\x03\x03",
    b"\x17\x03\x03",
];

/// Every target, in the order `scripts/fuzz.sh list` prints them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "plan",
        about: "plan file bytes through Plan::from_bytes (digest checked), re-encoding, the VM",
        run: targets::files::plan,
        seeds: seeds::plans,
        dict: BIN,
        max_len: 1 << 22,
        time_limit: Duration::from_secs(30),
        smoke_iterations: 300,
    },
    Target {
        name: "plan_restamped",
        about: "mutated plan bodies with the digest stamped again, then the VM on what loads",
        run: targets::files::plan_restamped,
        seeds: seeds::plans,
        dict: BIN,
        max_len: 1 << 22,
        time_limit: Duration::from_secs(30),
        smoke_iterations: 300,
    },
    Target {
        name: "weights",
        about: "weights file bytes (and restamped bodies) through Weights::from_bytes and the VM's checks",
        run: targets::files::weights,
        seeds: seeds::weights,
        dict: BIN,
        max_len: 1 << 22,
        time_limit: Duration::from_secs(10),
        smoke_iterations: 300,
    },
    Target {
        name: "npy",
        about: ".npy bytes through io::read_npy, read_npy_for and check_input",
        run: targets::files::npy,
        seeds: seeds::npy,
        dict: NPY,
        max_len: 1 << 16,
        time_limit: Duration::from_secs(5),
        smoke_iterations: 300,
    },
    Target {
        name: "reference",
        about: "reference.json through io::Reference::load and write_inputs",
        run: targets::files::reference,
        seeds: seeds::references,
        dict: JSON,
        max_len: 1 << 20,
        time_limit: Duration::from_secs(10),
        smoke_iterations: 300,
    },
    Target {
        name: "tokenizer",
        about: "tokenizer.json through io::tokenize (load, pad and truncate, encode)",
        run: targets::files::tokenizer,
        seeds: seeds::tokenizers,
        dict: JSON,
        max_len: 1 << 21,
        time_limit: Duration::from_secs(20),
        smoke_iterations: 20,
    },
    Target {
        name: "text",
        about: "the text a user tokenizes, through io::tokenize with the bundled tokenizers",
        run: targets::files::text,
        seeds: seeds::texts,
        dict: &[b"[CLS]", b"[SEP]", b"[PAD]", b"[UNK]", b"##", b"\xf0\x9f\x98\x80", b"\xcc\x81", b"\0"],
        max_len: 1 << 12,
        time_limit: Duration::from_secs(10),
        smoke_iterations: 40,
    },
    Target {
        name: "ir_text",
        about: "IR text through text::parse, print -> parse -> print, Plan::from_graph and the VM",
        run: targets::ir_text::run,
        seeds: seeds::ir_texts,
        dict: IR,
        max_len: 1 << 16,
        time_limit: Duration::from_secs(30),
        smoke_iterations: 1000,
    },
    Target {
        name: "onnx",
        about: "ONNX bytes through backend::compile (front end, passes, plan) with small input shapes",
        run: targets::onnx::run,
        seeds: seeds::onnx,
        dict: &[b"\x08\x01", b"\x12\x00", b"\x3a\x00", b"Gather", b"MatMul", b"Reshape"],
        max_len: 1 << 21,
        time_limit: Duration::from_secs(60),
        smoke_iterations: 6,
    },
    Target {
        name: "onnx_struct",
        about: "bundled ONNX models with edited attributes, op types, inputs and dims, compiled",
        run: targets::onnx::structured,
        seeds: targets::onnx::structured_seeds,
        dict: &[],
        max_len: 256,
        time_limit: Duration::from_secs(60),
        smoke_iterations: 10,
    },
    Target {
        name: "handshake",
        about: "a peer's hello, and a stranger's TLS bytes to the listener and the dialer",
        run: targets::net::handshake,
        seeds: seeds::handshakes,
        dict: NET,
        max_len: 1 << 14,
        time_limit: Duration::from_secs(5),
        smoke_iterations: 1000,
    },
    Target {
        name: "framing",
        about: "a peer's plaintext stream through the frame reassembly, in random pieces",
        run: targets::net::framing,
        seeds: seeds::frames,
        dict: NET,
        max_len: 1 << 16,
        time_limit: Duration::from_secs(5),
        smoke_iterations: 2000,
    },
    Target {
        name: "peer",
        about: "a peer's messages (seed agreement, then every round) to one party running a plan",
        run: targets::net::peer,
        seeds: seeds::transcripts,
        dict: &[],
        max_len: 1 << 16,
        time_limit: Duration::from_secs(20),
        smoke_iterations: 300,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
