//! The ring-exact simulation (`mpcc_runtime::sim`) of bundled models against three-party VM
//! runs of the same plan, weights and inputs.
//!
//! The two differ only in how each secret truncation rounds (floor or one more: one unit,
//! 2^-18, each), which the layers downstream amplify; the simulation draws those choices
//! with the VM's probabilities, so it is one more sample of the VM's output. Measured
//! (max |simulated - VM|, max |VM - VM| of two runs): bert-tiny 5.5e-4, 6.3e-4 (outputs up to
//! 3.7); llama-tiny 9.9e-4, 8.7e-4 (up to 0.77). The bounds leave a factor 4 or more.

mod e2e_common;

use e2e_common::{compile_fixture, fixture, Compiled};
use mpcc_runtime::sim::{simulate, SimOptions};
use mpcc_runtime::{party_data, run_local, RunOptions};

fn vm_output(c: &Compiled, output: &str) -> Vec<f64> {
    let data = party_data(&c.plan, &c.inputs, c.weights.clone());
    let r = run_local(&c.plan, data, &RunOptions::default()).expect("VM run");
    r.outputs[output].data.clone()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Simulates fixture `name` and checks output `output` against two VM runs: within `tol`
/// of the first, and no farther from it than 4 times the runs are from each other; no
/// out-of-range step reaches an output.
fn check(name: &str, output: &str, tol: f64) {
    let c = compile_fixture(&fixture(name), false);
    let (vm1, vm2) = (vm_output(&c, output), vm_output(&c, output));
    let s = simulate(
        c.plan.graph(),
        &c.inputs,
        c.weights.as_deref(),
        &SimOptions::default(),
    )
    .expect("simulation");
    assert_eq!(
        s.origins(),
        Vec::<usize>::new(),
        "{}",
        s.summary(c.plan.graph(), 5)
    );
    let got = &s.outputs[output].data;
    let (d_sim, d_vm) = (max_diff(got, &vm1), max_diff(&vm1, &vm2));
    println!("{name}: max |simulated - VM| {d_sim:.3e}, max |VM - VM| {d_vm:.3e}");
    assert!(d_sim <= tol, "{name}: {d_sim:e} > {tol:e}");
    assert!(d_sim <= 4.0 * d_vm, "{name}: {d_sim:e} vs VM runs {d_vm:e}");
}

/// BERT-tiny's simulated last_hidden_state is a VM run's up to the truncations' rounding.
#[test]
fn bert_tiny_matches_the_vm() {
    check("bert-tiny", "last_hidden_state", 5e-3);
}

/// llama-tiny (RMSNorm, SiLU, rotary tables, a causal mask whose cut-off exps overflow
/// harmlessly) simulates as the VM runs it.
#[test]
fn llama_tiny_matches_the_vm() {
    check("llama-tiny", "logits", 1e-2);
}
