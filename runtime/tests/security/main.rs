//! Security tests on whole views: what each party can compute from everything it holds and
//! receives must not depend on the secrets it should not learn.
//!
//! A party's view is its share components and every message it receives, recorded at the
//! transport boundary and parsed with the kernels' wire layouts ([`layout`]: ring words of 4
//! or 8 bytes, or dense bit fields of the boolean protocols). From a view the tests derive
//! features ([`view`]): each field, the differences of its neighbouring elements, and the
//! sum, difference and XOR of every two fields over the elements both cover. Each kernel
//! runs twice, on n copies of one secret and on n copies of another, each in a fresh
//! session; for every party that must not learn the secret, every feature must have the
//! same distribution in both runs (a two-sample chi-square test per bit position and on
//! histograms of the low and high bits), and the features the protocol masks must be
//! uniform ([`stats`]). Significance level: [`stats::ALPHA`] = 1e-9 per test.
//!
//! Kernels operate on sharings made by a dealer in the test, so that no party knows the
//! value; the input-sharing and whole-plan tests check the parties that do not own the
//! input. Both rings are covered.
//!
//! The tests catch real leaks: `scripts/security_broken.sh` runs them against deliberately
//! broken builds (the `broken-*` features of mpcc-runtime, see its Cargo.toml) and expects
//! each to fail.
mod layout;
mod stats;
mod view;

use layout::Last;
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::kernels::{arith, boolean};
use mpcc_runtime::ring::encode;
use mpcc_runtime::share::AShare;
use mpcc_runtime::vm::{run_party, Progress};
use mpcc_runtime::{party_data, HostTensor};
use std::collections::HashMap;
use std::sync::Arc;
use view::{assert_clean, check_views, deal, three_parties, Event, Inbox, Tally, View};

/// Elements per run (divisible by 3, so that the comparison's role blocks are equal).
const N: usize = 3 * 2048;
/// Fraction bits of the test secrets.
const F: u32 = 12;

/// Two secrets that differ in sign and in most bits.
fn secrets(ring: Ring) -> [u64; 2] {
    [encode(1.5, F, ring), encode(-2.75, F, ring)]
}

/// Runs `run` on N copies of each secret of `ring` and checks the views of `parties`;
/// `uniform_components` as in [`view::check_views`]. Returns the failures and counts.
fn differ_only_in_secret(
    what: &str,
    ring: Ring,
    parties: &[usize],
    uniform_components: bool,
    run: impl Fn(&[u64]) -> [View; 3],
) -> (Vec<String>, Tally) {
    let [a, b] = secrets(ring).map(|s| run(&vec![s; N]));
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for &p in parties {
        let (f, t) = check_views(
            &format!("{what} in {ring}, party {p}"),
            &a[p],
            &b[p],
            uniform_components,
        );
        fails.extend(f);
        tally.features += t.features;
        tally.tests += t.tests;
    }
    (fails, tally)
}

/// Checks `run` in both rings for every party.
fn check_kernel(what: &str, uniform_components: bool, run: impl Fn(&[u64], Ring) -> [View; 3]) {
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for ring in [Ring::Z64, Ring::Z32] {
        let (f, t) = differ_only_in_secret(what, ring, &[0, 1, 2], uniform_components, |xs| {
            run(xs, ring)
        });
        fails.extend(f);
        tally.features += t.features;
        tally.tests += t.tests;
    }
    assert_clean(&fails, tally);
}

/// Runs `body` on a dealer sharing of `xs` at every party; `parse` turns each party's
/// result and messages into its view, to which the input components are added first.
fn on_dealt<R: Send>(
    xs: &[u64],
    ring: Ring,
    body: impl Fn(&mut Ctx, &AShare) -> R + Sync,
    parse: impl Fn(PartyId, &R, &mut Inbox, &mut View),
) -> [View; 3] {
    let shares = deal(xs, ring);
    let out = three_parties(|ctx, _| body(ctx, &shares[ctx.id as usize]));
    std::array::from_fn(|p| {
        let mut v = View::default();
        v.component("x.a", ring.bits(), &shares[p].a);
        v.component("x.b", ring.bits(), &shares[p].b);
        let mut inbox = Inbox::new(&out[p].1);
        parse(p as PartyId, &out[p].0, &mut inbox, &mut v);
        inbox.end();
        v
    })
}

/// Adds an arithmetic sharing's components to a view.
fn components(v: &mut View, name: &str, s: &AShare, ring: Ring) {
    v.component(&format!("{name}.a"), ring.bits(), &s.a);
    v.component(&format!("{name}.b"), ring.bits(), &s.b);
}

/// Input sharing by each owner in both rings: each of the two other parties sees its
/// nonzero share component and what it receives, and none of it (alone, or any two fields
/// combined) depends on the input. (The component the protocol fixes at zero is public
/// and left out of the view.)
#[test]
fn input_sharing_hides_the_input_from_the_other_parties() {
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for ring in [Ring::Z64, Ring::Z32] {
        for owner in 0..3u8 {
            let run = |xs: &[u64]| -> [View; 3] {
                let out = three_parties(|ctx, _| {
                    let mine = (ctx.id == owner).then_some(xs);
                    arith::share_input(ctx, owner, mine, xs.len(), ring).unwrap()
                });
                std::array::from_fn(|p| {
                    let mut v = View::default();
                    let (s, events) = &out[p];
                    let mut inbox = Inbox::new(events);
                    match (p as u8 + 3 - owner) % 3 {
                        1 => {
                            v.component("x.a", ring.bits(), &s.a);
                            v.ring_message("input", &inbox.take(owner), xs.len(), ring);
                        }
                        2 => v.component("x.b", ring.bits(), &s.b),
                        _ => {}
                    }
                    inbox.end();
                    v
                })
            };
            let others = [(owner as usize + 1) % 3, (owner as usize + 2) % 3];
            let what = format!("input of party {owner}");
            let (f, t) = differ_only_in_secret(&what, ring, &others, true, run);
            fails.extend(f);
            tally.features += t.features;
            tally.tests += t.tests;
        }
    }
    assert_clean(&fails, tally);
}

/// Products (`mul`, one reshare each): x·y twice and x·x. Every party's view (input and
/// output components, the three reshare messages) is independent of x and y, and no two
/// messages share a mask: the two reshares of the same product differ by a uniform value.
#[test]
fn products_reshare_with_fresh_masks() {
    check_kernel("mul", true, |xs, ring| {
        let ys: Vec<u64> = xs.iter().map(|x| x.wrapping_mul(3) & ring.mask()).collect();
        let yshares = deal(&ys, ring);
        on_dealt(
            xs,
            ring,
            |ctx, x| {
                let y = &yshares[ctx.id as usize];
                let z1 = arith::mul(ctx, x, y, ring).unwrap();
                let z2 = arith::mul(ctx, x, y, ring).unwrap();
                let z3 = arith::mul(ctx, x, x, ring).unwrap();
                [y.clone(), z1, z2, z3]
            },
            |p, r, inbox, v| {
                let next = (p + 1) % 3;
                for (s, name) in r.iter().zip(["y", "x*y", "x*y again", "x*x"]) {
                    components(v, name, s, ring);
                }
                for name in ["reshare x*y", "reshare x*y again", "reshare x*x"] {
                    v.ring_message(name, &inbox.take(next), N, ring);
                }
            },
        )
    });
}

/// Exact truncation (the VM's default, with its 3-party oblivious transfer): every party's
/// view, OT keys and both masked candidates included, is independent of x.
#[test]
fn exact_truncation_views_are_independent_of_the_secret() {
    check_kernel("trunc_exact", true, |xs, ring| {
        on_dealt(
            xs,
            ring,
            |ctx, x| arith::trunc_exact(ctx, x, F, ring).unwrap(),
            |p, y, inbox, v| {
                components(v, "y", y, ring);
                layout::trunc_exact(v, inbox, p, N, ring);
            },
        )
    });
}

/// SecFormer's sine protocol: the material (made by the three parties, no dealer) and the
/// series' opening of `x c - t` and truncation; every party's view, the material's share
/// components and the opened δ included, is independent of x (2 terms: the same messages
/// per term as 7).
#[test]
fn sine_views_are_independent_of_the_secret() {
    use mpcc_runtime::kernels::sine;
    let coeffs = [0.5, 0.6, -0.1];
    check_kernel("sine", true, |xs, ring| {
        let q2 = typing::sin_prep_scale(ring, F);
        on_dealt(
            xs,
            ring,
            |ctx, x| {
                let prep = sine::sin_prep(ctx, x.len(), 2, q2, ring).unwrap();
                let y = sine::sin_series(ctx, x, &prep, &coeffs, 28.3, F, q2, ring).unwrap();
                (prep, y)
            },
            |p, (prep, y), inbox, v| {
                components(v, "prep", prep, ring);
                components(v, "y", y, ring);
                layout::sin_prep(v, inbox, p, N, 2, ring);
                layout::sin_series(v, inbox, p, N, ring);
            },
        )
    });
}

/// Probabilistic truncation: views independent of x. Its output shares `y_0 = A >> d` have
/// only k-d random bits, so components are not required to be uniform; messages are.
#[test]
fn probabilistic_truncation_views_are_independent_of_the_secret() {
    check_kernel("trunc_prob", false, |xs, ring| {
        on_dealt(
            xs,
            ring,
            |ctx, x| arith::trunc_prob(ctx, x, F, ring).unwrap(),
            |p, y, inbox, v| {
                components(v, "y", y, ring);
                layout::trunc_prob(v, inbox, p, N, ring);
            },
        )
    });
}

/// MSB extraction (the comparison core with a replicated last level): every party's view
/// of all six rounds (the masked binary sharing and monomials, the group words, the carry
/// tree's AND messages, the last AND) and its boolean output shares is independent of x.
#[test]
fn msb_views_are_independent_of_the_secret() {
    check_kernel("msb", true, |xs, ring| {
        on_dealt(
            xs,
            ring,
            |ctx, x| boolean::msb(ctx, x, ring).unwrap(),
            |p, y, inbox, v| {
                v.component("msb.a", 1, &y.a);
                v.component("msb.b", 1, &y.b);
                layout::compare(v, inbox, p, N, 1, ring, Last::Replicated);
            },
        )
    });
}

/// Comparisons with two public thresholds (`ge`: the core with a split last level, then bit
/// injection): views independent of x, per threshold.
#[test]
fn ge_views_are_independent_of_the_secret() {
    check_kernel("ge", true, |xs, ring| {
        let th = [encode(0.5, F, ring), encode(-1.0, F, ring)];
        on_dealt(
            xs,
            ring,
            |ctx, x| boolean::ge_const(ctx, x, &th, ring).unwrap(),
            |p, y, inbox, v| {
                for (j, s) in mpcc_runtime::kernels::common::split(y, N)
                    .iter()
                    .enumerate()
                {
                    components(v, &format!("ge[{j}]"), s, ring);
                }
                layout::compare(v, inbox, p, N, 2, ring, Last::Split);
                layout::inject(v, inbox, p, N, 2, ring, false);
            },
        )
    });
}

/// ReLU (the core, then the multiplexer that multiplies by x as it injects the bit): views
/// independent of x.
#[test]
fn relu_views_are_independent_of_the_secret() {
    check_kernel("relu", true, |xs, ring| {
        on_dealt(
            xs,
            ring,
            |ctx, x| boolean::relu(ctx, x, ring).unwrap(),
            |p, y, inbox, v| {
                components(v, "relu", y, ring);
                layout::compare(v, inbox, p, N, 1, ring, Last::Split);
                layout::inject(v, inbox, p, N, 1, ring, true);
            },
        )
    });
}

/// Revealing to one named party: the recipient gets the value right, and the two other
/// parties receive nothing, so their views (their components) are independent of it.
#[test]
fn reveal_reaches_only_the_named_party() {
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for ring in [Ring::Z64, Ring::Z32] {
        for to in 0..3u8 {
            let run = |xs: &[u64]| {
                on_dealt(
                    xs,
                    ring,
                    |ctx, x| arith::reveal(ctx, x, &[to], ring).unwrap(),
                    |p, got, inbox, _| {
                        if p == to {
                            assert_eq!(got.as_deref(), Some(xs), "the recipient's value");
                            inbox.take((to + 1) % 3);
                        } else {
                            assert!(got.is_none(), "party {p} learnt the value");
                        }
                    },
                )
            };
            let others = [(to as usize + 1) % 3, (to as usize + 2) % 3];
            let what = format!("reveal to party {to}");
            let (f, t) = differ_only_in_secret(&what, ring, &others, true, run);
            fails.extend(f);
            tally.features += t.features;
            tally.tests += t.tests;
        }
    }
    assert_clean(&fails, tally);
}

/// A plan through the VM: the client's x times the owner's w, truncated, revealed to the
/// client only.
fn client_plan(ring: Ring) -> Plan {
    let mut g = Graph::new(F);
    let ty = |scale, vis| ValueType::new(&[N], ring, scale, vis);
    let input = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let x = g.add(input, &[], ty(F, Vis::Client), "x");
    let w = g.add(Op::Weight { name: "w".into() }, &[], ty(F, Vis::Owner), "w");
    let p = g.add(Op::Mul, &[x, w], ty(2 * F, Vis::Secret), "p");
    let t = g.add(Op::Trunc { bits: F }, &[p], ty(F, Vis::Secret), "t");
    let out = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(out, &[t], ty(F, Vis::Secret), "y");
    Plan::from_graph(g).unwrap()
}

/// The views of a run of [`client_plan`] on the client's `x` (the owner's w fixed): each
/// party's messages, parsed by the instruction they belong to.
fn plan_views(plan: &Plan, x: f64, ring: Ring) -> [View; 3] {
    let inputs = HashMap::from([(
        "x".to_string(),
        HostTensor {
            shape: vec![N],
            data: vec![x; N],
        },
    )]);
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![N],
            data: vec![0.625; N],
        }],
    };
    let data = party_data(plan, &inputs, Some(Arc::new(weights)));
    let out = three_parties(|ctx, log| {
        let log = log.clone();
        let progress: Progress = Arc::new(move |done, _| {
            log.lock().unwrap().push(Event::Done(done - 1));
        });
        run_party(plan, ctx, &data[ctx.id as usize], Some(progress)).unwrap()
    });
    std::array::from_fn(|p| {
        let mut v = View::default();
        let mut pending: Vec<Event> = Vec::new();
        for e in &out[p].1 {
            let Event::Done(i) = e else {
                pending.push(e.clone());
                continue;
            };
            let mut inbox = Inbox::new(&pending);
            let node = &plan.graph().nodes[*i];
            let name = format!("{} {}", node.op.name(), node.origin);
            if let Op::Trunc { .. } = &node.op {
                layout::trunc_exact(&mut v, &mut inbox, p as PartyId, N, ring);
            } else {
                for (from, m) in view::messages(&pending) {
                    v.ring_message(&format!("{name} from {from}"), &m, N, ring);
                    inbox.take(from);
                }
            }
            inbox.end();
            pending.clear();
        }
        v
    })
}

/// Through the VM, the model owner and the helper learn nothing about the client's input
/// or the output revealed to the client: their views of the whole plan (input sharing,
/// weight sharing, product, truncation, output) are independent of x, in both rings.
#[test]
fn plan_reveals_to_the_client_only() {
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for ring in [Ring::Z64, Ring::Z32] {
        let plan = client_plan(ring);
        let [a, b] = [1.5, -2.75].map(|x| plan_views(&plan, x, ring));
        for p in [MODEL_OWNER as usize, 2] {
            let (f, t) = check_views(&format!("plan in {ring}, party {p}"), &a[p], &b[p], true);
            fails.extend(f);
            tally.features += t.features;
            tally.tests += t.tests;
        }
    }
    assert_clean(&fails, tally);
}
