//! Shared helpers of the end-to-end tests: compile an ONNX fixture at its reference shape,
//! write the plan and weights files, feed the reference inputs through .npy files and run
//! three parties on the VM.
#![allow(dead_code)]

use mpcc_compiler::backend::{self, CompileOptions};
use mpcc_compiler::frontend::FrontendOptions;
use mpcc_compiler::io::{self, Agreement, Reference};
use mpcc_ir::plan::Plan;
use mpcc_ir::Weights;
use mpcc_passes::PassOptions;
use mpcc_runtime::{party_data, run_local, HostTensor, RunOptions, RunResult};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A bundled fixture directory under models/.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("models").join(name)
}

/// What a secure run of a fixture gave.
pub struct Outcome {
    /// The plan, as loaded back from its file.
    pub plan: Plan,
    /// The run.
    pub result: RunResult,
    /// The fixture's reference.
    pub reference: Reference,
}

/// A compiled fixture: the plan and weights as loaded back from their files, the reference
/// inputs as `mpcc run` reads them, and the reference.
pub struct Compiled {
    /// The plan.
    pub plan: Plan,
    /// The owner's weights.
    pub weights: Option<Arc<Weights>>,
    /// The reference inputs, checked against the plan.
    pub inputs: HashMap<String, HostTensor>,
    /// The fixture's reference.
    pub reference: Reference,
}

/// Compiles `dir/model.onnx` at the shapes of `dir/reference.json` (18 fraction bits), writes
/// and reloads the plan and weights, and writes the reference inputs to .npy files and reads
/// them back as `mpcc run` does.
pub fn compile_fixture(dir: &Path, public_weights: bool) -> Compiled {
    let reference = Reference::load(&dir.join("reference.json")).expect("reference.json");
    let opts = CompileOptions {
        frontend: FrontendOptions {
            input_shapes: reference.input_shapes(),
            public_weights,
            frac_bits: 18,
            ..FrontendOptions::default()
        },
        passes: PassOptions::default(),
    };
    let (plan, weights) = backend::compile(&dir.join("model.onnx"), &opts)
        .unwrap_or_else(|e| panic!("compile {}: {e}", dir.display()));
    let tmp = tempfile::tempdir().unwrap();
    let plan_path = tmp.path().join("model.plan");
    let wpath = backend::write_plan(&plan_path, &plan, &weights).unwrap();
    let plan = backend::load_plan(&plan_path).unwrap();
    let weights = backend::load_weights(&wpath, &plan).unwrap().map(Arc::new);
    let inputs = read_inputs(&plan, &reference, tmp.path());
    Compiled {
        plan,
        weights,
        inputs,
        reference,
    }
}

/// [`compile_fixture`], then a run of three local parties.
pub fn compile_and_run(dir: &Path, public_weights: bool) -> Outcome {
    let c = compile_fixture(dir, public_weights);
    let data = party_data(&c.plan, &c.inputs, c.weights);
    let result = run_local(&c.plan, data, &RunOptions::default())
        .unwrap_or_else(|e| panic!("run {}: {e}", dir.display()));
    Outcome {
        plan: c.plan,
        result,
        reference: c.reference,
    }
}

/// Writes the reference inputs as .npy and reads them back, checked against the plan.
fn read_inputs(plan: &Plan, reference: &Reference, dir: &Path) -> HashMap<String, HostTensor> {
    let files = reference.write_inputs(dir).unwrap();
    let mut inputs = HashMap::new();
    for decl in &plan.body.inputs {
        let (_, path) = files
            .iter()
            .find(|(n, _)| *n == decl.name)
            .unwrap_or_else(|| panic!("reference lacks input {}", decl.name));
        let t = io::check_input(plan, decl, io::read_npy(path).unwrap()).unwrap();
        inputs.insert(decl.name.clone(), t);
    }
    inputs
}

impl Outcome {
    /// The secure output `name` beside the reference's.
    pub fn output(&self, name: &str) -> (&HostTensor, HostTensor) {
        let got = self
            .result
            .outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}"));
        let want = self.reference.output(name).expect("reference output");
        assert_eq!(got.shape, want.shape, "output {name} shape");
        (got, want.tensor())
    }

    /// Agreement of output `name` with the reference.
    pub fn agreement(&self, name: &str) -> Agreement {
        let (got, want) = self.output(name);
        io::agreement(&got.data, &want.data)
    }

    /// Asserts that every instruction's measured traffic equals its kernel's cost.
    pub fn assert_cost_matches(&self) {
        let g = self.plan.graph();
        for (i, node) in g.nodes.iter().enumerate() {
            let c = mpcc_runtime::node_cost(g, node);
            let m = &self.result.profile[i];
            assert_eq!(
                (c.rounds, c.bytes),
                (m.rounds, m.bytes),
                "instruction {i} ({} from '{}')",
                node.op.name(),
                node.origin
            );
        }
    }
}

/// Compiles and runs a fixture and checks its one output against the reference within
/// `max_abs` and `min_cosine`, and the measured traffic against the predicted one.
pub fn check_fixture(name: &str, output: &str, max_abs: f64, min_cosine: f64) {
    let o = compile_and_run(&fixture(name), false);
    let a = o.agreement(output);
    let (rounds, bytes) = o.result.totals();
    println!(
        "{name}: max abs error {:.3e}, cosine {:.7}, {rounds} rounds, {bytes} bytes",
        a.max_abs, a.cosine
    );
    assert!(
        a.max_abs <= max_abs && a.cosine >= min_cosine,
        "{name}/{output}: max abs error {:.3e} (allowed {max_abs:.1e}), cosine {:.7} \
         (needed {min_cosine})",
        a.max_abs,
        a.cosine
    );
    o.assert_cost_matches();
}
