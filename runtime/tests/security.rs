//! Security properties of the VM and its kernels: shares of a fixed secret are uniform over
//! sessions; no instruction other than `output` hands a party what it needs to reconstruct
//! a value (checked on recorded views); and every instruction's cost equals its traffic.
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::kernels::{arith, boolean};
use mpcc_runtime::ops;
use mpcc_runtime::ring::encode;
use mpcc_runtime::share::AShare;
use mpcc_runtime::transport::{LocalTransport, Transport, TransportError};
use mpcc_runtime::vm::{run_party, PartyResult};
use mpcc_runtime::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a party's transport saw: a received message, or the end of instruction `i`.
#[derive(Clone, Debug)]
enum Event {
    Recv(Vec<u8>),
    Done(usize),
}

/// A transport that records every message its party receives.
struct Recorder {
    inner: LocalTransport,
    log: Arc<Mutex<Vec<Event>>>,
}

impl Transport for Recorder {
    fn id(&self) -> PartyId {
        self.inner.id()
    }
    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        self.inner.send(to, data)
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let m = self.inner.recv(from)?;
        self.log.lock().unwrap().push(Event::Recv(m.clone()));
        Ok(m)
    }
}

/// Runs `body` as each of three parties over recording links (set-up traffic not recorded);
/// returns each party's result and log.
fn three_parties<R: Send>(
    body: impl Fn(&mut Ctx, Arc<Mutex<Vec<Event>>>) -> R + Sync,
) -> Vec<(R, Vec<Event>)> {
    let links = LocalTransport::triple(Duration::from_secs(60));
    std::thread::scope(|s| {
        let handles: Vec<_> = links
            .into_iter()
            .map(|inner| {
                let body = &body;
                s.spawn(move || {
                    let log = Arc::new(Mutex::new(Vec::new()));
                    let rec = Recorder {
                        inner,
                        log: log.clone(),
                    };
                    let mut ctx = Ctx::setup(Box::new(rec)).unwrap();
                    log.lock().unwrap().clear();
                    let r = body(&mut ctx, log.clone());
                    let events = log.lock().unwrap().clone();
                    (r, events)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Runs a plan over recording links; each log marks the end of every instruction.
fn run_recorded(plan: &Plan, data: &[PartyData; 3]) -> Vec<(PartyResult, Vec<Event>)> {
    three_parties(|ctx, log| {
        let progress: vm::Progress = Arc::new(move |done, _| {
            log.lock().unwrap().push(Event::Done(done - 1));
        });
        run_party(plan, ctx, &data[ctx.id as usize], Some(progress)).unwrap()
    })
}

/// The messages a party received, with the instruction each belongs to.
fn by_instruction(events: &[Event]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for e in events {
        match e {
            Event::Recv(m) => pending.push(m.clone()),
            Event::Done(i) => out.extend(pending.drain(..).map(|m| (*i, m))),
        }
    }
    out
}

/// True when the 8-byte little-endian encoding of `w` occurs anywhere in `m`.
fn contains_word(m: &[u8], w: u64) -> bool {
    let pat = w.to_le_bytes();
    m.windows(8).any(|s| s == pat)
}

/// Distinctive random reals: every one has a full set of fraction bits.
fn secrets(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

/// A plan on the client's x and the owner's w through products, truncation and the
/// approximation and comparison kernels, revealing only the last value to the client.
fn kernel_plan(n: usize) -> Plan {
    let f = 18;
    let mut g = Graph::new(f);
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        },
        &[],
        ValueType::z64(&[n], f, Vis::Client),
        "x",
    );
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ValueType::z64(&[n], f, Vis::Owner),
        "w",
    );
    let p = g.add(
        Op::Mul,
        &[x, w],
        ValueType::z64(&[n], 2 * f, Vis::Secret),
        "p",
    );
    let t = g.add(
        Op::Trunc { bits: f },
        &[p],
        ValueType::z64(&[n], f, Vis::Secret),
        "t",
    );
    let sec = |g: &mut Graph, op: Op, a: ValueId| {
        g.add(op, &[a], ValueType::z64(&[n], f, Vis::Secret), "k")
    };
    let e = sec(&mut g, Op::ExpTaylor { iters: 5 }, t);
    let r = sec(&mut g, Op::Reciprocal { iters: 2 }, e);
    let q = sec(&mut g, Op::Rsqrt { iters: 2 }, r);
    let gl = sec(&mut g, gelu(), q);
    let po = sec(
        &mut g,
        Op::Poly {
            coeffs: vec![0.1, 0.5, -0.25],
        },
        gl,
    );
    let re = sec(&mut g, Op::Relu, po);
    let out = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(out, &[re], ValueType::z64(&[n], f, Vis::Secret), "y");
    Plan::from_graph(g).unwrap()
}

fn gelu() -> Op {
    Op::PiecewisePoly {
        breaks: vec![-4.0, -1.95, 3.0],
        pieces: vec![
            Piece::Zero,
            Piece::Poly(vec![-0.5054, -0.4223, -0.1181, -0.0110]),
            Piece::Poly(vec![0.0085, 0.5, 0.3603, 0.0, -0.0377, 0.0, 0.0018]),
            Piece::Identity,
        ],
    }
}

fn plan_data(plan: &Plan, xs: &[f64], ws: &[f64]) -> [PartyData; 3] {
    let mut inputs = HashMap::new();
    let x = HostTensor {
        shape: vec![xs.len()],
        data: xs.to_vec(),
    };
    inputs.insert("x".to_string(), x);
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![ws.len()],
            data: ws.iter().map(|v| *v as f32).collect(),
        }],
    };
    party_data(plan, &inputs, Some(Arc::new(weights)))
}

/// Counts of ones per bit position of `words`, checked against a fair coin at 6 sigma;
/// `None` when every word is zero (a statically zero component).
fn bit_balance(words: &[u64]) -> Option<Result<(), String>> {
    if words.iter().all(|w| *w == 0) {
        return None;
    }
    let n = words.len() as f64;
    let limit = 6.0 * n.sqrt() / 2.0;
    for bit in 0..64 {
        let ones = words.iter().filter(|w| (*w >> bit) & 1 == 1).count() as f64;
        if (ones - n / 2.0).abs() > limit {
            return Some(Err(format!("bit {bit}: {ones} ones of {n}")));
        }
    }
    // Chi-square of the low byte over 256 bins (255 degrees of freedom; 400 is ~7 sigma).
    let mut bins = [0f64; 256];
    words.iter().for_each(|w| bins[(*w & 0xff) as usize] += 1.0);
    let e = n / 256.0;
    let chi: f64 = bins.iter().map(|o| (o - e) * (o - e) / e).sum();
    if chi > 400.0 {
        return Some(Err(format!("low byte chi-square {chi:.1}")));
    }
    Some(Ok(()))
}

/// Shares held by each party after sharing one fixed secret n times, multiplying it by
/// itself and running two approximation kernels, over `sessions` fresh sessions.
fn share_samples(secret: f64, sessions: usize, n: usize) -> Vec<[Vec<u64>; 8]> {
    let mut acc: Vec<[Vec<u64>; 8]> = (0..3).map(|_| Default::default()).collect();
    let (f, ring) = (18, Ring::Z64);
    for _ in 0..sessions {
        let out = three_parties(|ctx, _| {
            let data = vec![encode(secret, f, ring); n];
            let mine = (ctx.id == CLIENT).then_some(data.as_slice());
            let x = arith::share_input(ctx, CLIENT, mine, n, ring).unwrap();
            let sq = arith::mul(ctx, &x, &x, ring).unwrap();
            let op = Op::ExpTaylor { iters: 3 };
            let e = ops::exec_secret(ctx, &op, &x, f, ring).unwrap();
            let op = Op::Reciprocal { iters: 1 };
            let r = ops::exec_secret(ctx, &op, &e, f, ring).unwrap();
            [x.a, x.b, sq.a, sq.b, e.a, e.b, r.a, r.b]
        });
        for (p, (comps, _)) in out.into_iter().enumerate() {
            for (dst, src) in acc[p].iter_mut().zip(comps) {
                dst.extend(src);
            }
        }
    }
    acc
}

/// (1) A party's two share components of a fixed secret are uniform over sessions (bit
/// balance and a low-byte chi-square), or statically zero (input sharing leaves
/// `x_{o+2} = 0`), for two different secrets: after input sharing, after a product
/// (reshare), and after the exp_taylor and reciprocal kernels.
#[test]
fn shares_are_uniform_over_sessions() {
    for secret in [1.5, -0.375] {
        let samples = share_samples(secret, 32, 512);
        let names = [
            "x.a", "x.b", "x*x.a", "x*x.b", "exp.a", "exp.b", "recip.a", "recip.b",
        ];
        for (p, comps) in samples.iter().enumerate() {
            for (name, words) in names.iter().zip(comps) {
                match bit_balance(words) {
                    None => {
                        // Only input sharing leaves a zero component: x_0 for owner 1.
                        let zero_ok = matches!((p, *name), (0, "x.a") | (2, "x.b"));
                        assert!(zero_ok, "party {p} {name} is constant zero");
                    }
                    Some(r) => r.unwrap_or_else(|e| panic!("party {p} {name}: {e}")),
                }
            }
        }
    }
}

/// (2a) In a plan computing on distinctive random secrets, no party ever receives the
/// encoding of an input, a weight, their exact product or its truncation in any message:
/// before the output instruction nothing carries a secret in the clear.
#[test]
fn secrets_never_travel_in_the_clear() {
    let n = 64;
    let plan = kernel_plan(n);
    let xs = secrets(n, 7, 0.5, 1.5);
    let ws = secrets(n, 11, -1.0, 1.0);
    let runs = run_recorded(&plan, &plan_data(&plan, &xs, &ws));
    let (f, ring) = (18, Ring::Z64);
    let mut words = Vec::new();
    for (x, w) in xs.iter().zip(&ws) {
        let (xe, we) = (encode(*x, f, ring), encode(*w as f32 as f64, f, ring));
        let p = xe.wrapping_mul(we);
        let t = ((p as i64) >> f) as u64;
        words.extend([xe, we, p, t.wrapping_sub(1), t, t.wrapping_add(1)]);
    }
    for (party, (_, events)) in runs.iter().enumerate() {
        for (instr, m) in by_instruction(events) {
            for w in &words {
                assert!(
                    !contains_word(&m, *w),
                    "party {party} received secret word {w:#x} in instruction {instr}"
                );
            }
        }
    }
    assert_eq!(runs[CLIENT as usize].0.outputs["y"].data.len(), n);
}

/// (2b) For the same secrets, every message of every party differs between two sessions
/// (views are freshly randomised), and before the output instruction the bytes a party
/// receives per instruction are balanced like coin flips (the messages are masked).
#[test]
fn views_are_random_and_differ_across_sessions() {
    let n = 256;
    let plan = kernel_plan(n);
    let xs = secrets(n, 3, 0.5, 1.5);
    let ws = secrets(n, 5, -1.0, 1.0);
    let data = plan_data(&plan, &xs, &ws);
    let a = run_recorded(&plan, &data);
    let b = run_recorded(&plan, &data);
    let output = plan.graph().nodes.len() - 1;
    for party in 0..3 {
        let (va, vb) = (by_instruction(&a[party].1), by_instruction(&b[party].1));
        assert_eq!(va.len(), vb.len(), "party {party}: same message count");
        let mut per_instr: HashMap<usize, (f64, f64)> = HashMap::new();
        for ((ia, ma), (ib, mb)) in va.iter().zip(&vb) {
            assert_eq!((ia, ma.len()), (ib, mb.len()), "party {party}: same shapes");
            if !ma.is_empty() {
                assert_ne!(ma, mb, "party {party} instruction {ia}: same message twice");
            }
            let ones: u32 = ma.iter().map(|b| b.count_ones()).sum();
            let e = per_instr.entry(*ia).or_default();
            e.0 += ones as f64;
            e.1 += 8.0 * ma.len() as f64;
        }
        for (instr, (ones, bits)) in per_instr {
            if instr == output || bits == 0.0 {
                continue;
            }
            let dev = (ones - bits / 2.0).abs() / (bits.sqrt() / 2.0);
            assert!(
                dev < 6.0,
                "party {party} instruction {instr}: {dev:.1} sigma"
            );
        }
    }
}

/// (2c) Kernel by kernel, no party ever receives the share it lacks (`x_{i+2}` for party i)
/// of the kernel's input or of its output, which together with its own two shares would
/// reconstruct the value.
#[test]
fn kernels_never_send_the_missing_share() {
    let (n, f, ring) = (128, 18, Ring::Z64);
    let xs: Vec<u64> = secrets(n, 13, 0.25, 3.0)
        .iter()
        .map(|v| encode(*v, f, ring))
        .collect();
    let ops = [
        Op::Poly {
            coeffs: vec![0.5, -1.0, 0.25, 0.125],
        },
        Op::ExpTaylor { iters: 5 },
        gelu(),
        Op::Reciprocal { iters: 2 },
        Op::Rsqrt { iters: 2 },
    ];
    for op in &ops {
        let out = three_parties(|ctx, log| {
            let mine = (ctx.id == CLIENT).then_some(xs.as_slice());
            let x = arith::share_input(ctx, CLIENT, mine, n, ring).unwrap();
            log.lock().unwrap().clear();
            let y = ops::exec_secret(ctx, op, &x, f, ring).unwrap();
            let bits = boolean::ge_const(ctx, &y, &[encode(1.0, f, ring)], ring).unwrap();
            (x, y, bits)
        });
        for party in 0..3 {
            let lacks = (party + 2) % 3;
            let missing =
                |pick: fn(&(AShare, AShare, AShare)) -> &AShare| pick(&out[lacks].0).a.clone();
            let words: Vec<u64> =
                [missing(|t| &t.0), missing(|t| &t.1), missing(|t| &t.2)].concat();
            for e in &out[party].1 {
                if let Event::Recv(m) = e {
                    for w in &words {
                        assert!(
                            !contains_word(m, *w),
                            "{}: party {party} got a missing share",
                            op.name()
                        );
                    }
                }
            }
        }
    }
}

/// Builds a graph in one ring.
struct Builder {
    g: Graph,
    ring: Ring,
}

impl Builder {
    fn add(&mut self, op: Op, ins: &[ValueId], shape: &[usize], scale: u32, vis: Vis) -> ValueId {
        let t = ValueType {
            shape: shape.to_vec(),
            ring: self.ring,
            scale,
            vis,
        };
        let name = op.name();
        self.g.add(op, ins, t, name)
    }
}

/// A plan with every kernel instruction the VM runs, on secret and public operands.
fn every_instruction_plan(ring: Ring, f: u32) -> Plan {
    use Vis::{Client, Owner, Public, Secret};
    let mut b = Builder {
        g: Graph::new(f),
        ring,
    };
    let input = Op::Input {
        name: "x".into(),
        owner: CLIENT,
        encoding: InputEncoding::Fixed,
    };
    let x = b.add(input, &[], &[4, 6], f, Client);
    let w = b.add(Op::Weight { name: "w".into() }, &[], &[6, 5], f, Owner);
    let values = vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0];
    let c = b.add(Op::Const { values }, &[], &[6], f, Public);
    let a1 = b.add(Op::Add, &[x, c], &[4, 6], f, Client);
    let s1 = b.add(Op::Sub, &[a1, x], &[4, 6], f, Client);
    let n1 = b.add(Op::Neg, &[s1], &[4, 6], f, Client);
    let m1 = b.add(Op::Mul, &[x, n1], &[4, 6], 2 * f, Client);
    let t1 = b.add(Op::Trunc { bits: f }, &[m1], &[4, 6], f, Client);
    let m2 = b.add(Op::Mul, &[t1, c], &[4, 6], 2 * f, Client);
    let t2 = b.add(Op::Trunc { bits: f }, &[m2], &[4, 6], f, Client);
    let mm = b.add(Op::MatMul, &[t2, w], &[4, 5], 2 * f, Secret);
    let t3 = b.add(Op::Trunc { bits: f }, &[mm], &[4, 5], f, Secret);
    let tr = b.add(
        Op::Transpose { perm: vec![1, 0] },
        &[t3],
        &[5, 4],
        f,
        Secret,
    );
    let sq = b.add(Op::MatMul, &[t3, tr], &[4, 4], 2 * f, Secret);
    let t4 = b.add(Op::Trunc { bits: f }, &[sq], &[4, 4], f, Secret);
    let sh = b.add(Op::Shl { bits: 1 }, &[t4], &[4, 4], f + 1, Secret);
    let sh = b.add(Op::Trunc { bits: 1 }, &[sh], &[4, 4], f, Secret);
    let rs = b.add(Op::Reshape, &[sh], &[2, 8], f, Secret);
    let slice = |axis, start, end, step| Op::Slice {
        axis,
        start,
        end,
        step,
    };
    let sl = b.add(slice(1, 1, 7, 2), &[rs], &[2, 3], f, Secret);
    let gather = Op::Gather {
        axis: 1,
        indices: vec![2, 0],
    };
    let ga = b.add(gather, &[sl], &[2, 2], f, Secret);
    let ct = b.add(Op::Concat { axis: 1 }, &[sl, ga], &[2, 5], f, Secret);
    let bc = b.add(Op::Broadcast, &[ct], &[3, 2, 5], f, Secret);
    let rd = b.add(
        Op::ReduceSum { axes: vec![0] },
        &[bc],
        &[1, 2, 5],
        f,
        Secret,
    );
    let ge = Op::Ge {
        thresholds: vec![0.0, 1.0],
    };
    let ge = b.add(ge, &[rd], &[2, 1, 2, 5], 0, Secret);
    let bits = b.add(slice(0, 0, 1, 1), &[ge], &[1, 1, 2, 5], 0, Secret);
    let bits = b.add(Op::Reshape, &[bits], &[1, 2, 5], 0, Secret);
    let se = b.add(Op::Select, &[rd, bits], &[1, 2, 5], f, Secret);
    let re = b.add(Op::Relu, &[se], &[1, 2, 5], f, Secret);
    let mx = b.add(Op::MaxAxis { axis: 2 }, &[re], &[1, 2, 1], f, Secret);
    let sub = b.add(Op::Sub, &[re, mx], &[1, 2, 5], f, Secret);
    let mut v = sub;
    for op in [
        Op::ExpTaylor { iters: 5 },
        Op::Reciprocal { iters: 2 },
        Op::Rsqrt { iters: 2 },
        Op::Poly {
            coeffs: vec![0.1, 0.2, 0.3],
        },
        gelu(),
    ] {
        v = b.add(op, &[v], &[1, 2, 5], f, Secret);
    }
    let pub_e = b.add(Op::ExpTaylor { iters: 3 }, &[c], &[6], f, Public);
    let to = vec![CLIENT, MODEL_OWNER];
    b.add(
        Op::Output {
            name: "y".into(),
            to,
        },
        &[v],
        &[1, 2, 5],
        f,
        Secret,
    );
    let to = vec![CLIENT];
    b.add(
        Op::Output {
            name: "e".into(),
            to,
        },
        &[pub_e],
        &[6],
        f,
        Public,
    );
    Plan::from_graph(b.g).unwrap()
}

/// (3) The cost the kernels declare for every instruction of a plan holding all of them
/// (in Z64 at 18 fraction bits and in Z32 at 8) equals the rounds and bytes each party was
/// measured sending. (A public value's `output` is skipped: it sends nothing.)
#[test]
fn every_instruction_costs_what_it_sends() {
    for (ring, f) in [(Ring::Z64, 18), (Ring::Z32, 8)] {
        let plan = every_instruction_plan(ring, f);
        let xs: Vec<f64> = (0..24).map(|i| 0.1 * i as f64 - 1.0).collect();
        let ws: Vec<f64> = (0..30).map(|i| 0.05 * i as f64 - 0.7).collect();
        let mut inputs = HashMap::new();
        let x = HostTensor {
            shape: vec![4, 6],
            data: xs,
        };
        inputs.insert("x".to_string(), x);
        let weights = Weights {
            plan_digest: plan.header.digest,
            tensors: vec![WeightTensor {
                name: "w".into(),
                shape: vec![6, 5],
                data: ws.iter().map(|v| *v as f32).collect(),
            }],
        };
        let data = party_data(&plan, &inputs, Some(Arc::new(weights)));
        let r = run_local(&plan, data, &RunOptions::default()).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (i, node) in plan.graph().nodes.iter().enumerate() {
            let c = node_cost(plan.graph(), node);
            let public_output = matches!(node.op, Op::Output { .. })
                && !plan.graph().ty(node.inputs[0]).vis.is_secret();
            if public_output {
                continue;
            }
            assert_eq!(
                (c.rounds, c.bytes),
                (r.profile[i].rounds, r.profile[i].bytes),
                "{ring}: instruction {i} ({})",
                node.op.name()
            );
            seen.insert(node.op.name());
        }
        // Every kernel kind but pad (tested in smoke.rs).
        assert_eq!(seen.len(), 27, "kinds covered: {seen:?}");
    }
}
