//! Helpers shared by the runtime's integration tests.
// Each test crate uses some of them.
#![allow(dead_code)]

use mpcc_ir::plan::Plan;
use mpcc_ir::Graph;
use mpcc_runtime::{node_cost, RunResult};

/// Asserts that every instruction's measured rounds and bytes equal its cost function.
pub fn assert_costs(plan: &Plan, r: &RunResult) {
    for (i, node) in plan.graph().nodes.iter().enumerate() {
        let c = node_cost(plan.graph(), node);
        assert_eq!(
            (c.rounds, c.bytes),
            (r.profile[i].rounds, r.profile[i].bytes),
            "instruction {i} ({}): cost vs measured",
            node.op.name()
        );
    }
}

/// Parses an IR fixture (`tests/fixtures/ir/*.ir`, read with `include_str!`).
pub fn fixture(text: &str) -> Graph {
    mpcc_ir::text::parse(text).unwrap()
}
