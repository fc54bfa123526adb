//! The ring-exact simulation (`mpcc_runtime::sim`) against the VM, kernel by kernel, on the
//! same plans and inputs: kernels without a secret truncation agree bit for bit; a
//! truncation agrees up to its one unit; each approximation kernel, simulated, stays within
//! the same documented error bound of its f64 reference as the VM's run (so the two differ
//! by at most twice the bound); a reported overflow is one the VM really suffers.
mod common;

use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::kernels::approx::plain;
use mpcc_runtime::ops::plain_eval;
use mpcc_runtime::ring::{decode, encode};
use mpcc_runtime::sim::{simulate, EventKind, Rounding, SimOptions, SimResult};
use mpcc_runtime::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Client inputs `x` and `y` of `shape`, secret, at scale f in `ring`.
struct Builder {
    g: Graph,
    ring: Ring,
}

impl Builder {
    fn new(f: u32, ring: Ring) -> Builder {
        Builder {
            g: Graph::new(f),
            ring,
        }
    }
    fn ty(&self, shape: &[usize], scale: u32, vis: Vis) -> ValueType {
        ValueType::new(shape, self.ring, scale, vis)
    }
    fn input(&mut self, name: &str, shape: &[usize]) -> ValueId {
        let op = Op::Input {
            name: name.into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        };
        let ty = self.ty(shape, self.g.frac_bits, Vis::Client);
        self.g.add(op, &[], ty, name)
    }
    fn node(&mut self, op: Op, args: &[ValueId], shape: Option<&[usize]>) -> ValueId {
        let tys: Vec<&ValueType> = args.iter().map(|v| self.g.ty(*v)).collect();
        let ty = typing::output_type(&op, &tys, shape).unwrap();
        let name = op.name();
        self.g.add(op, args, ty, name)
    }
    fn output(&mut self, name: &str, v: ValueId) {
        let op = Op::Output {
            name: name.into(),
            to: vec![CLIENT],
        };
        let ty = self.g.ty(v).clone();
        self.g.add(op, &[v], ty, name);
    }
}

type Inputs = HashMap<String, HostTensor>;

fn tensor(shape: &[usize], data: Vec<f64>) -> HostTensor {
    HostTensor {
        shape: shape.to_vec(),
        data,
    }
}

/// The VM's outputs (three local parties).
fn vm(g: &Graph, inputs: &Inputs) -> HashMap<String, Vec<f64>> {
    let plan = Plan::from_graph(g.clone()).unwrap();
    let data = party_data(&plan, inputs, None);
    let r = run_local(&plan, data, &RunOptions::default()).unwrap();
    r.outputs.into_iter().map(|(k, v)| (k, v.data)).collect()
}

/// The simulation's outputs and report.
fn sim(g: &Graph, inputs: &Inputs, rounding: Rounding) -> (HashMap<String, Vec<f64>>, SimResult) {
    let r = simulate(g, inputs, None, &SimOptions { rounding }).unwrap();
    let outs = r
        .outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.data.clone()))
        .collect();
    (outs, r)
}

fn random(rng: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// Every instruction without a secret truncation (linear ops, products without truncation,
/// matmul, comparisons, ReLU, max, selects, shape ops, ring conversions without a shift)
/// gives the VM's result bit for bit, in Z_2^64 at 18 and Z_2^32 at 8 fraction bits.
#[test]
fn exact_instructions_agree_bit_for_bit() {
    for (f, ring, lim) in [(18, Ring::Z64, 40.0), (8, Ring::Z32, 6.0)] {
        let mut b = Builder::new(f, ring);
        let x = b.input("x", &[4, 6]);
        let y = b.input("y", &[4, 6]);
        let w = b.input("w", &[6, 3]);
        let outs = [
            b.node(Op::Add, &[x, y], None),
            b.node(Op::Sub, &[x, y], None),
            b.node(Op::Neg, &[x], None),
            b.node(Op::Mul, &[x, y], None),
            b.node(Op::MatMul, &[x, w], None),
            b.node(Op::Relu, &[x], None),
            b.node(Op::MaxAxis { axis: 1 }, &[x], None),
            b.node(Op::ReduceSum { axes: vec![0, 1] }, &[x], None),
            b.node(Op::Transpose { perm: vec![1, 0] }, &[x], None),
            b.node(Op::Concat { axis: 0 }, &[x, y], None),
            b.node(
                Op::Pad {
                    pads: vec![(1, 0), (0, 2)],
                },
                &[x],
                None,
            ),
            b.node(Op::Shl { bits: 2 }, &[x], None),
        ];
        let ge = b.node(
            Op::Ge {
                thresholds: vec![-1.0, 0.5],
            },
            &[x],
            None,
        );
        let bits = b.node(
            Op::Slice {
                axis: 0,
                start: 1,
                end: 2,
                step: 1,
            },
            &[ge],
            None,
        );
        let bits = b.node(Op::Reshape, &[bits], Some(&[4, 6]));
        let sel = b.node(Op::Select, &[y, bits], None);
        for (i, v) in outs.iter().chain([&ge, &sel]).enumerate() {
            b.output(&format!("o{i}"), *v);
        }
        if ring == Ring::Z64 {
            let d = b.node(Op::Downcast { shift: 0 }, &[x], None);
            let u = b.node(Op::Upcast { shift: 3 }, &[d], None);
            b.output("cast", u);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let inputs: Inputs = [("x", [4, 6]), ("y", [4, 6]), ("w", [6, 3])]
            .into_iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    tensor(&s, random(&mut rng, s[0] * s[1], -lim, lim)),
                )
            })
            .collect();
        let want = vm(&b.g, &inputs);
        let (got, report) = sim(&b.g, &inputs, Rounding::default());
        assert_eq!(want, got, "{ring}");
        assert_eq!(report.first_event(), None);
    }
}

/// A secret truncation and a shifted downcast give the VM's floor(x/2^d) or one more: the
/// simulation with `Floor` is the VM's result or one unit below it, with `Vm` within one
/// unit of it.
#[test]
fn truncation_within_one_unit() {
    let f = 18;
    let mut b = Builder::new(f, Ring::Z64);
    let x = b.input("x", &[500]);
    let y = b.input("y", &[500]);
    let p = b.node(Op::Mul, &[x, y], None);
    let t = b.node(Op::Trunc { bits: 18 }, &[p], None);
    b.output("t", t);
    let d = b.node(Op::Downcast { shift: 10 }, &[x], None);
    b.output("d", d);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let inputs: Inputs = ["x", "y"]
        .into_iter()
        .map(|n| {
            (
                n.to_string(),
                tensor(&[500], random(&mut rng, 500, -100.0, 100.0)),
            )
        })
        .collect();
    let want = vm(&b.g, &inputs);
    for (name, scale) in [("t", 18), ("d", 8)] {
        let unit = (-(scale as f64)).exp2();
        let (floor, _) = sim(&b.g, &inputs, Rounding::Floor);
        let (near, _) = sim(&b.g, &inputs, Rounding::Vm { seed: 3 });
        for ((w, lo), v) in want[name].iter().zip(&floor[name]).zip(&near[name]) {
            assert!(*w == *lo || *w == lo + unit, "{name}: VM {w}, floor {lo}");
            assert!((w - v).abs() <= unit, "{name}: VM {w}, simulated {v}");
        }
    }
}

/// One approximation kernel on a secret operand: the VM's and the simulation's results both
/// within `bound(x)` of the f64 reference at every x (as encoded).
fn check_kernel(op: &Op, xs: &[f64], f: u32, ring: Ring, bound: &dyn Fn(f64) -> f64) {
    let mut b = Builder::new(f, ring);
    let x = b.input("x", &[xs.len()]);
    let y = b.node(op.clone(), &[x], None);
    b.output("y", y);
    let inputs: Inputs = [("x".to_string(), tensor(&[xs.len()], xs.to_vec()))].into();
    let want = vm(&b.g, &inputs);
    for rounding in [Rounding::Floor, Rounding::Vm { seed: 9 }] {
        let (got, report) = sim(&b.g, &inputs, rounding);
        assert_eq!(report.first_event(), None, "{}", op.name());
        for ((x, v), s) in xs.iter().zip(&want["y"]).zip(&got["y"]) {
            let xe = decode(encode(*x, f, ring), f, ring);
            let r = plain_eval(op, xe, f, ring).unwrap();
            let tol = bound(xe);
            assert!((v - r).abs() <= tol, "{} VM at {xe}: {v} vs {r}", op.name());
            assert!(
                (s - r).abs() <= tol,
                "{} simulated at {xe}: {s} vs {r}",
                op.name()
            );
        }
    }
}

/// `poly`, PUMA's GeLU (`piecewise_poly`), `exp_taylor`, `reciprocal` and `rsqrt`,
/// simulated step by step, stay within each kernel's documented bound (`kernels::approx::
/// plain`) of its f64 reference, as the VM does, on 1,000 inputs each over their ranges.
#[test]
fn approximation_kernels_within_their_bounds() {
    let (f, ring) = (18, Ring::Z64);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let coeffs = vec![0.3, -1.2, 0.5, 0.0, -0.07];
    let op = Op::Poly {
        coeffs: coeffs.clone(),
    };
    let xs = random(&mut rng, 1000, -3.0, 3.0);
    check_kernel(&op, &xs, f, ring, &|x| plain::poly_bound(&coeffs, x, f));
    let (breaks, pieces) = (vec![-4.0, -1.95, 3.0], gelu_pieces());
    let op = Op::PiecewisePoly {
        breaks: breaks.clone(),
        pieces: pieces.clone(),
    };
    let mut xs = random(&mut rng, 1000, -8.0, 8.0);
    xs.extend([-4.0, -1.95, 3.0, 1e4, -1e4]);
    check_kernel(&op, &xs, f, ring, &|x| {
        plain::piecewise_bound(&breaks, &pieces, x, f)
    });
    let op = Op::ExpTaylor { iters: 10 };
    let xs = random(&mut rng, 1000, -14.0, 1.0);
    check_kernel(&op, &xs, f, ring, &|x| {
        plain::exp_taylor_bound(x, 10, f, ring)
    });
    let xs: Vec<f64> = random(&mut rng, 1000, -18.0, 42.0)
        .into_iter()
        .map(f64::exp2)
        .collect();
    let op = Op::Reciprocal { iters: 3 };
    check_kernel(&op, &xs, f, ring, &|x| plain::reciprocal_bound(x, 3, f));
    let op = Op::Rsqrt { iters: 3 };
    check_kernel(&op, &xs, f, ring, &|x| plain::rsqrt_bound(x, 3, f));
    let xs: Vec<f64> = random(&mut rng, 1000, -8.0, 20.0)
        .into_iter()
        .map(f64::exp2)
        .collect();
    let op = Op::Rsqrt { iters: 2 };
    check_kernel(&op, &xs, 8, Ring::Z32, &|x| plain::rsqrt_bound(x, 2, 8));
    let op = Op::RsqrtGoldschmidt { iters: 2 };
    check_kernel(&op, &xs, 8, Ring::Z32, &|x| plain::rsqrt_bound(x, 2, 8));
    let xs: Vec<f64> = random(&mut rng, 1000, -18.0, 42.0)
        .into_iter()
        .map(f64::exp2)
        .collect();
    let op = Op::RsqrtGoldschmidt { iters: 3 };
    check_kernel(&op, &xs, f, ring, &|x| plain::rsqrt_bound(x, 3, f));
}

/// PUMA's GeLU pieces (the shape of `puma-paper-gelu`), kept here so that the runtime's
/// tests do not depend on the passes.
fn gelu_pieces() -> Vec<Piece> {
    vec![
        Piece::Zero,
        Piece::Poly(vec![-0.50540312, -0.42226581, -0.11807613, -0.01103413]),
        Piece::Poly(vec![
            0.00852632, 0.5, 0.36032927, 0.0, -0.0376882, 0.0, 0.00180675,
        ]),
        Piece::Identity,
    ]
}

/// Approximation kernels on public operands take the VM's public path: bit for bit.
#[test]
fn public_operands_agree_bit_for_bit() {
    let (f, ring) = (18, Ring::Z64);
    let xs = vec![0.25, 1.5, 3.0, 7.0, 0.001];
    let mut b = Builder::new(f, ring);
    let c = b.g.add(
        Op::Const { values: xs },
        &[],
        ValueType::new(&[5], ring, f, Vis::Public),
        "c",
    );
    let ops = [
        Op::Poly {
            coeffs: vec![1.0, -0.5, 0.125],
        },
        Op::ExpTaylor { iters: 5 },
        Op::Reciprocal { iters: 2 },
        Op::Rsqrt { iters: 3 },
        Op::Trunc { bits: 3 },
    ];
    for (i, op) in ops.into_iter().enumerate() {
        let y = b.node(op, &[c], None);
        b.output(&format!("y{i}"), y);
    }
    let want = vm(&b.g, &HashMap::new());
    assert_eq!(want, sim(&b.g, &HashMap::new(), Rounding::default()).0);
}

/// A square that leaves the exact truncation's range (|x²| ≥ 2^62 at scale 36) or the ring
/// (≥ 2^63) is reported at its instruction, reaches the output's taint, and is real: the
/// VM's result there is far from x². A `select` by a 0 bit stops the taint.
#[test]
fn overflow_is_reported_and_real() {
    let f = 18;
    let mut b = Builder::new(f, Ring::Z64);
    let x = b.input("x", &[3]);
    let sq = b.node(Op::Mul, &[x, x], None);
    let t = b.node(Op::Trunc { bits: 18 }, &[sq], None);
    b.output("sq", t);
    let zero = b.g.add(
        Op::Const {
            values: vec![0.0; 3],
        },
        &[],
        ValueType::new(&[3], Ring::Z64, 0, Vis::Public),
        "zero",
    );
    let cut = b.node(Op::Select, &[t, zero], None);
    b.output("cut", cut);
    let xs = vec![3.0, 10_000.0, 16_384.0];
    let inputs: Inputs = [("x".to_string(), tensor(&[3], xs.clone()))].into();
    let (got, report) = sim(&b.g, &inputs, Rounding::default());
    let kinds =
        |i: usize| -> Vec<EventKind> { report.instrs[i].events.iter().map(|e| e.kind).collect() };
    assert_eq!(kinds(1), vec![EventKind::Wrap], "mul of 16384²·2^36 ≥ 2^63");
    assert_eq!(kinds(2), vec![EventKind::TruncRange], "trunc of ≥ 2^62");
    assert_eq!(report.first_event(), Some(1));
    assert_eq!(report.output_taint["sq"], [(1, 1), (2, 1)].into());
    assert!(report.output_taint["cut"].is_empty());
    assert_eq!(report.origins(), vec![1, 2]);
    let want = vm(&b.g, &inputs);
    assert!((want["sq"][0] - 9.0).abs() < 1e-4 && (got["sq"][0] - 9.0).abs() < 1e-4);
    let vm_sq = &want["sq"];
    assert!((vm_sq[2] - xs[2] * xs[2]).abs() > 1e6, "VM {}", vm_sq[2]);
    // Beyond 2^62 the truncation fails by 2^(64-18) units (2^28) with some probability.
    let off = (vm_sq[1] - 1e8).abs();
    assert!(
        off < 1e-4 || (off - 2f64.powi(28)).abs() < 1.0,
        "VM {}",
        vm_sq[1]
    );
    assert_eq!(want["cut"], vec![0.0; 3]);
}
