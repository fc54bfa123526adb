//! Helpers shared by the runtime's integration tests.
// Each test crate uses some of them.
#![allow(dead_code)]

use mpcc_ir::plan::Plan;
use mpcc_ir::Graph;
use mpcc_ir::Ring;
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::error::KernelError;
use mpcc_runtime::share::AShare;
use mpcc_runtime::transport::LocalTransport;
use mpcc_runtime::{node_cost, RunResult};
use std::time::Duration;

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

/// Runs `f` on three in-process parties, party i holding components `(comps[i],
/// comps[i+1])` of a sharing the test dealt; checks that the output sharing is replicated
/// consistently and returns the value it reconstructs in `out` with each party's (bytes
/// sent, rounds).
pub fn on_three_parties<F>(comps: [Vec<u64>; 3], out: Ring, f: F) -> (Vec<u64>, [(u64, u64); 3])
where
    F: Fn(&mut Ctx, &AShare) -> Result<AShare, KernelError> + Sync,
{
    let n = comps[0].len();
    let links = LocalTransport::triple(Duration::from_secs(20));
    let (f, comps) = (&f, &comps);
    let outs: Vec<(AShare, (u64, u64))> = std::thread::scope(|s| {
        let hs: Vec<_> = links
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let sh = AShare {
                    a: comps[i].clone(),
                    b: comps[(i + 1) % 3].clone(),
                };
                s.spawn(move || {
                    let mut ctx = Ctx::setup(Box::new(l)).unwrap();
                    ctx.take_stats();
                    let y = f(&mut ctx, &sh).unwrap();
                    let st = ctx.take_stats();
                    (y, (st.bytes_sent, st.rounds))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for p in 0..3 {
        assert_eq!(
            outs[p].0.b,
            outs[(p + 1) % 3].0.a,
            "replication at party {p}"
        );
    }
    let y = (0..n)
        .map(|i| (0..3).fold(0u64, |acc, p| acc.wrapping_add(outs[p].0.a[i])) & out.mask())
        .collect();
    (y, [outs[0].1, outs[1].1, outs[2].1])
}
