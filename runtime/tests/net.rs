//! Three TLS parties on loopback: same outputs and traffic as the in-process runner,
//! certificate pinning, strangers and other plans refused, dead and stalled peers, shaping.
use mpcc_ir::plan::Plan;
use mpcc_ir::*;
use mpcc_runtime::net::*;
use mpcc_runtime::*;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// x (client, 2x3) · w (owner, 3x2), truncated, then `squares` times squared and truncated;
/// revealed to the client as "y".
fn chain_plan(squares: usize) -> Plan {
    let mut g = Graph::new(18);
    let x = g.add(
        Op::Input {
            name: "x".into(),
            owner: CLIENT,
            encoding: InputEncoding::Fixed,
        },
        &[],
        ValueType::z64(&[2, 3], 18, Vis::Client),
        "x",
    );
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ValueType::z64(&[3, 2], 18, Vis::Owner),
        "w",
    );
    let p = g.add(
        Op::MatMul,
        &[x, w],
        ValueType::z64(&[2, 2], 36, Vis::Secret),
        "mm",
    );
    let mut t = g.add(
        Op::Trunc { bits: 18 },
        &[p],
        ValueType::z64(&[2, 2], 18, Vis::Secret),
        "mm",
    );
    for i in 0..squares {
        let sq = g.add(
            Op::Mul,
            &[t, t],
            ValueType::z64(&[2, 2], 36, Vis::Secret),
            &format!("sq{i}"),
        );
        t = g.add(
            Op::Trunc { bits: 18 },
            &[sq],
            ValueType::z64(&[2, 2], 18, Vis::Secret),
            &format!("sq{i}"),
        );
    }
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        },
        &[t],
        ValueType::z64(&[2, 2], 18, Vis::Secret),
        "y",
    );
    Plan::from_graph(g).unwrap()
}

const XS: [f64; 6] = [0.5, -0.75, 0.25, 0.5, 0.5, -0.25];
const WS: [f64; 6] = [0.5, -1.0, 0.75, 0.125, -0.75, 1.0];

fn data(plan: &Plan) -> [PartyData; 3] {
    let mut inputs = HashMap::new();
    inputs.insert(
        "x".to_string(),
        HostTensor {
            shape: vec![2, 3],
            data: XS.to_vec(),
        },
    );
    let weights = Weights {
        plan_digest: plan.header.digest,
        tensors: vec![WeightTensor {
            name: "w".into(),
            shape: vec![3, 2],
            data: WS.iter().map(|v| *v as f32).collect(),
        }],
    };
    party_data(plan, &inputs, Some(Arc::new(weights)))
}

/// The plaintext result of `chain_plan(squares)`.
fn expected(squares: usize) -> Vec<f64> {
    let mut out = vec![0.0; 4];
    for i in 0..2 {
        for j in 0..2 {
            let mut v: f64 = (0..3).map(|k| XS[i * 3 + k] * WS[k * 2 + j]).sum();
            for _ in 0..squares {
                v *= v;
            }
            out[i * 2 + j] = v;
        }
    }
    out
}

/// PEM key pairs of the three parties, generated once per test binary.
fn pems() -> &'static [(String, String); 3] {
    static PEMS: OnceLock<[(String, String); 3]> = OnceLock::new();
    PEMS.get_or_init(|| [0, 1, 2].map(|p| generate_keys(p).unwrap()))
}

fn keys_for(id: u8) -> PartyKeys {
    let p = pems();
    PartyKeys::from_pem(id, &p[id as usize].0, [&p[0].1, &p[1].1, &p[2].1]).unwrap()
}

/// One party's configuration on loopback, with the listener bound to a free port.
struct Setup {
    cfgs: Vec<NetConfig>,
    listeners: Vec<TcpListener>,
    events: Arc<Mutex<Vec<String>>>,
}

fn setup(digests: [[u8; 32]; 3], timeout: Duration, shape: Option<LinkShape>) -> Setup {
    let listeners: Vec<TcpListener> = (0..3).map(|_| bind("127.0.0.1:0").unwrap()).collect();
    let addrs: [String; 3] =
        std::array::from_fn(|p| listeners[p].local_addr().unwrap().to_string());
    let events = Arc::new(Mutex::new(Vec::new()));
    let cfgs = (0..3u8)
        .map(|id| {
            let ev = events.clone();
            NetConfig {
                id,
                addrs: addrs.clone(),
                keys: keys_for(id),
                plan_digest: digests[id as usize],
                timeout,
                connect_timeout: Duration::from_secs(3),
                shape,
                on_event: Some(Arc::new(move |l: &str| {
                    ev.lock().unwrap().push(format!("party {id}: {l}"))
                })),
            }
        })
        .collect();
    Setup {
        cfgs,
        listeners,
        events,
    }
}

/// Runs the three parties of `s`, party p with `plans[p]`, each in its own thread.
fn run_all(s: Setup, plans: [&Plan; 3]) -> Vec<Result<NetRun, RtError>> {
    let datas: Vec<[PartyData; 3]> = plans.iter().map(|p| data(p)).collect();
    std::thread::scope(|sc| {
        let hs: Vec<_> = s
            .cfgs
            .into_iter()
            .zip(s.listeners)
            .enumerate()
            .map(|(p, (cfg, l))| {
                let (plan, d) = (plans[p], &datas[p][p]);
                sc.spawn(move || run_networked(plan, d, &cfg, l, None))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Over TLS the client learns the same output as in process, every instruction has the
/// cost-model traffic, and the bytes sent over each link equal what `Ctx` counted.
#[test]
fn tls_run_matches_local_run() {
    let plan = chain_plan(2);
    let local = run_local(&plan, data(&plan), &RunOptions::default()).unwrap();
    let d = plan.header.digest;
    let runs = run_all(setup([d; 3], Duration::from_secs(20), None), [&plan; 3]);
    let runs: Vec<NetRun> = runs.into_iter().map(|r| r.unwrap()).collect();
    let y = &runs[CLIENT as usize].result.outputs["y"];
    assert!(runs[0].result.outputs.is_empty() && runs[2].result.outputs.is_empty());
    assert_eq!(y.shape, local.outputs["y"].shape);
    for ((a, b), want) in y.data.iter().zip(&local.outputs["y"].data).zip(expected(2)) {
        assert!(
            (a - b).abs() < 1e-3 && (a - want).abs() < 1e-3,
            "{a} {b} {want}"
        );
    }
    for (p, run) in runs.iter().enumerate() {
        let counted: u64 = run.setup.bytes_sent
            + run
                .result
                .profile
                .iter()
                .map(|i| i.stats.bytes_sent)
                .sum::<u64>();
        let over_tcp: u64 = run.net.payload.iter().sum();
        assert_eq!(over_tcp, counted, "party {p}");
        assert_eq!(run.setup.bytes_sent, local.setup_bytes[p]);
        assert!(run.net.wire.iter().sum::<u64>() > over_tcp);
        for (i, rec) in local.profile.iter().enumerate() {
            let st = run.result.profile[i].stats;
            assert_eq!(
                (st.rounds, st.bytes_sent),
                (rec.rounds, rec.bytes[p]),
                "instr {i}"
            );
        }
    }
}

/// Party 1 with a fresh key: `pinned_by_0` says whether party 0 pins the new certificate
/// (party 2 always pins the old one).
fn run_with_new_key_for_1(pinned_by_0: bool) -> Vec<Result<NetRun, RtError>> {
    let plan = chain_plan(1);
    let mut s = setup([plan.header.digest; 3], Duration::from_secs(5), None);
    let (key, _) = generate_keys(1).unwrap();
    let new_cert = rcert(&key, 1);
    let p = pems();
    s.cfgs[1].keys = PartyKeys::from_pem(1, &key, [&p[0].1, &new_cert, &p[2].1]).unwrap();
    if pinned_by_0 {
        s.cfgs[0].keys = PartyKeys::from_pem(0, &p[0].0, [&p[0].1, &new_cert, &p[2].1]).unwrap();
    }
    for c in &mut s.cfgs {
        c.connect_timeout = Duration::from_secs(2);
    }
    run_all(s, [&plan; 3])
}

fn err_text(r: &Result<NetRun, RtError>) -> String {
    r.as_ref().err().map(|e| e.to_string()).unwrap_or_default()
}

/// A party whose key is not the one its peers pinned is refused both ways: the party it
/// dials refuses its client certificate (and says so when it gives up waiting), and the
/// party that dials it refuses its server certificate.
#[test]
fn wrong_certificate_refused() {
    let r = run_with_new_key_for_1(false);
    let (e0, e1) = (err_text(&r[0]), err_text(&r[1]));
    assert!(
        e1.starts_with("party 0: ") && e1.contains("refused this party's TLS certificate"),
        "{e1}"
    );
    assert!(
        e0.starts_with("party 1 did not connect within 2 s; refused meanwhile"),
        "{e0}"
    );
    assert!(e0.contains("not a configured peer's"), "{e0}");
    let r = run_with_new_key_for_1(true);
    let e2 = err_text(&r[2]);
    assert!(
        e2.starts_with("party 1: ") && e2.contains("not party 1's configured certificate"),
        "{e2}"
    );
}

/// A self-signed certificate for `key` (as `mpcc keygen` would make for it).
fn rcert(key_pem: &str, id: u8) -> String {
    let key = rcgen::KeyPair::from_pem(key_pem).unwrap();
    rcgen::CertificateParams::new(vec![format!("mpcc-party{id}")])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
}

/// Strangers are refused while the real parties still connect: a plain-TCP client gets
/// its connection closed, a TLS client with an unknown certificate gets an authentication
/// error, and the run then completes.
#[test]
fn strangers_refused() {
    use std::io::{Read, Write};
    let plan = chain_plan(1);
    let s = setup([plan.header.digest; 3], Duration::from_secs(20), None);
    let addr0 = s.cfgs[0].addrs[0].clone();
    let events = s.events.clone();
    let stranger = std::thread::spawn(move || {
        let mut plain = std::net::TcpStream::connect(&addr0).unwrap();
        plain
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = plain.read_to_end(&mut rest);
        assert!(!rest.starts_with(b"MPCC"));
        // A TLS party with an unknown key (posing as party 2) that trusts party 0.
        let (key, _) = generate_keys(2).unwrap();
        let p = pems();
        let own = rcert(&key, 2);
        let fake = PartyKeys::from_pem(2, &key, [&p[0].1, &p[1].1, &own]).unwrap();
        let cfg = NetConfig {
            id: 2,
            addrs: [addr0.clone(), "127.0.0.1:9".into(), "127.0.0.1:0".into()],
            keys: fake,
            plan_digest: [0; 32],
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            shape: None,
            on_event: None,
        };
        let err = establish(&cfg, bind("127.0.0.1:0").unwrap()).err().unwrap();
        err.to_string()
    });
    // Party 0 alone first, so the strangers reach it before the real parties do.
    let mut cfgs = s.cfgs.into_iter();
    let mut ls = s.listeners.into_iter();
    let (c0, l0) = (cfgs.next().unwrap(), ls.next().unwrap());
    let d0 = data(&plan);
    let rest: Vec<_> = cfgs.zip(ls).collect();
    let results = std::thread::scope(|sc| {
        let h0 = sc.spawn(|| run_networked(&plan, &d0[0], &c0, l0, None));
        let err = stranger.join().unwrap();
        assert!(
            err.contains("refused this party's TLS certificate"),
            "{err}"
        );
        let hs: Vec<_> = rest
            .into_iter()
            .map(|(c, l)| {
                let (plan, d) = (&plan, &d0);
                sc.spawn(move || run_networked(plan, &d[c.id as usize], &c, l, None))
            })
            .collect();
        let mut out = vec![h0.join().unwrap()];
        out.extend(hs.into_iter().map(|h| h.join().unwrap()));
        out
    });
    for r in &results {
        assert!(r.is_ok(), "{:?}", r.as_ref().err().map(|e| e.to_string()));
    }
    let y = &results[1].as_ref().unwrap().result.outputs["y"];
    assert!((y.data[0] - expected(1)[0]).abs() < 1e-3);
    let ev = events.lock().unwrap();
    let refused = ev
        .iter()
        .filter(|l| l.contains("party 0: refused a connection"))
        .count();
    assert_eq!(refused, 2, "{ev:?}");
}

/// Twenty idle TCP connections to the owner's port, opened before the real peers dial, do
/// not delay set-up: each incoming connection is handshaken on its own thread, so the three
/// parties establish and run well within their 20 s limit (handshaken one at a time at 5 s
/// each, the idle strangers alone took 100 s and all three parties failed), and each idle
/// stranger is then logged as a stranger, by its address.
#[test]
fn idle_strangers_do_not_stall_setup() {
    let plan = chain_plan(1);
    let mut s = setup([plan.header.digest; 3], Duration::from_secs(20), None);
    for c in &mut s.cfgs {
        c.connect_timeout = Duration::from_secs(20);
    }
    let addr0 = s.cfgs[0].addrs[0].clone();
    let idle: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&addr0).unwrap())
        .collect();
    let idle_addrs: Vec<String> = idle
        .iter()
        .map(|c| c.local_addr().unwrap().to_string())
        .collect();
    let events = s.events.clone();
    let t0 = Instant::now();
    let runs = run_all(s, [&plan; 3]);
    let took = t0.elapsed();
    for r in &runs {
        assert!(r.is_ok(), "{:?}", r.as_ref().err().map(|e| e.to_string()));
    }
    let y = &runs[CLIENT as usize].as_ref().unwrap().result.outputs["y"];
    for (a, want) in y.data.iter().zip(expected(1)) {
        assert!((a - want).abs() < 1e-3, "{a} {want}");
    }
    assert!(
        took < Duration::from_secs(8),
        "set-up and run took {took:?}"
    );
    // The idle strangers' handshakes end at their own deadline, after the run.
    let until = Instant::now() + HANDSHAKE_WAIT + Duration::from_secs(5);
    loop {
        let ev = events.lock().unwrap().clone();
        let logged = idle_addrs
            .iter()
            .filter(|a| {
                let line = format!(
                    "party 0: refused a connection from {a} (a stranger): it did not complete a \
                     TLS handshake within 3 s"
                );
                ev.contains(&line)
            })
            .count();
        if logged == idle_addrs.len() {
            break;
        }
        assert!(Instant::now() < until, "{logged} of 20 logged: {ev:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(idle);
}

/// When set-up fails, the error counts and names the strangers that were refused meanwhile
/// (here: idle ones and one sending HTTP), not some unrelated "connection refused".
#[test]
fn setup_failure_names_the_strangers() {
    use std::io::Write;
    let plan = chain_plan(1);
    let mut s = setup([plan.header.digest; 3], Duration::from_secs(5), None);
    let cfg = s.cfgs.remove(0);
    let mut cfg = cfg;
    cfg.connect_timeout = HANDSHAKE_WAIT + Duration::from_secs(1);
    let idle: Vec<std::net::TcpStream> = (0..16)
        .map(|_| std::net::TcpStream::connect(&cfg.addrs[0]).unwrap())
        .collect();
    let mut http = std::net::TcpStream::connect(&cfg.addrs[0]).unwrap();
    http.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let t0 = Instant::now();
    let err = establish(&cfg, s.listeners.remove(0))
        .err()
        .unwrap()
        .to_string();
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert!(
        err.starts_with(
            "party 1 did not connect within 4 s; refused meanwhile 17 connection(s) from strangers \
             (not authenticated as a party): "
        ),
        "{err}"
    );
    assert!(
        err.contains("it did not complete a TLS handshake within 3 s"),
        "{err}"
    );
    assert!(err.contains("and 12 more"), "{err}");
    let http_addr = http.local_addr().unwrap().to_string();
    assert!(err.contains(&format!("{http_addr}: TLS failed")), "{err}");
    drop((idle, http));
}

/// A peer that loaded another plan is refused at the handshake, with an error naming it.
#[test]
fn other_plan_refused() {
    let (plan, other) = (chain_plan(1), chain_plan(2));
    let (d, e) = (plan.header.digest, other.header.digest);
    let r = run_all(
        setup([d, d, e], Duration::from_secs(5), None),
        [&plan, &plan, &other],
    );
    let msg = |p: usize| {
        r[p].as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        msg(0).starts_with("party 2: it runs another plan"),
        "{}",
        msg(0)
    );
    assert!(
        msg(2).starts_with("party 0: it runs another plan"),
        "{}",
        msg(2)
    );
    assert!(r[1].is_err());
}

/// Runs parties 0 and 1 normally while party 2 connects, agrees seeds and then either
/// stops answering for `stall` or goes away at once; returns the errors of 0 and 1.
fn faulty_third(stall: Option<Duration>, timeout: Duration) -> [String; 2] {
    faulty_party(2, stall, timeout)
}

/// Party `k` sets up and then stalls for `stall` (or goes away at once); the other two run
/// the chain plan with `timeout`. Their errors, in party order.
fn faulty_party(k: usize, stall: Option<Duration>, timeout: Duration) -> [String; 2] {
    let plan = chain_plan(3);
    let s = setup([plan.header.digest; 3], timeout, None);
    let d = data(&plan);
    let mut parties: Vec<_> = s.cfgs.into_iter().zip(s.listeners).collect();
    let faulty = parties.remove(k);
    let others: Vec<usize> = (0..3).filter(|&p| p != k).collect();
    let (a, b) = (parties.remove(0), parties.remove(0));
    std::thread::scope(|sc| {
        let bad = sc.spawn(move || {
            let t = establish(&faulty.0, faulty.1).unwrap();
            let ctx = mpcc_runtime::ctx::Ctx::setup(Box::new(t)).unwrap();
            if let Some(d) = stall {
                std::thread::sleep(d);
            }
            drop(ctx);
        });
        let (plan, d) = (&plan, &d);
        let (i, j) = (others[0], others[1]);
        let h0 = sc.spawn(move || run_networked(plan, &d[i], &a.0, a.1, None));
        let h1 = sc.spawn(move || run_networked(plan, &d[j], &b.0, b.1, None));
        let e = [h0, h1].map(|h| h.join().unwrap().expect_err("run fails").to_string());
        bad.join().unwrap();
        e
    })
}

/// A party that times out on a peer which is itself waiting on the third party reports
/// what that peer reports (its abort naming the party that stalled, arriving within a grace
/// period), not "the peer sent nothing": the case of a stalled owner, where the client
/// waits on party 2 and party 2 on the owner.
#[test]
fn timeout_reports_the_peers_own_reason() {
    let digest = [7u8; 32];
    let s = setup([digest; 3], Duration::from_secs(1), None);
    let reason = "party 0 sent nothing for 1 s (timeout) at instruction #4";
    let errs: Vec<Option<String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = s
            .cfgs
            .into_iter()
            .zip(s.listeners)
            .map(|(cfg, l)| {
                sc.spawn(move || {
                    let mut t = establish(&cfg, l).unwrap();
                    match cfg.id {
                        // The client waits on party 2.
                        1 => Some(
                            mpcc_runtime::transport::Transport::recv(&mut t, 2)
                                .unwrap_err()
                                .to_string(),
                        ),
                        // Party 2 gives up on the owner a little after the client's timeout.
                        2 => {
                            std::thread::sleep(Duration::from_millis(1500));
                            t.handle().abort(reason);
                            drop(t);
                            None
                        }
                        // The owner stalls.
                        _ => {
                            std::thread::sleep(Duration::from_secs(3));
                            None
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let client = errs[1].as_deref().unwrap();
    assert!(
        client.contains("party 2 stopped") && client.contains(reason),
        "{client}"
    );
}

/// A peer that goes away mid-run makes the others stop with an error naming it and the
/// instruction.
#[test]
fn dead_peer_stops_others() {
    for e in faulty_third(None, Duration::from_secs(20)) {
        assert!(e.contains("instruction") && e.contains("party 2"), "{e}");
    }
}

/// A peer that stalls makes the others stop with a timeout naming it and the instruction.
#[test]
fn stalled_peer_times_out() {
    let t0 = Instant::now();
    let errs = faulty_third(Some(Duration::from_secs(3)), Duration::from_secs(1));
    // Party 1 waits on party 2 first; party 0, waiting on party 1 meanwhile, may report
    // party 1's abort (which names party 2) or its own timeout on party 1.
    assert!(
        errs[1].contains("instruction") && errs[1].contains("party 2 sent nothing for 1 s"),
        "{errs:?}"
    );
    assert!(
        errs[0].contains("instruction") && errs[0].contains("party"),
        "{errs:?}"
    );
    assert!(t0.elapsed() >= Duration::from_secs(1));
}

/// Shaping keeps the rounds and adds at least half a round trip to every round in which
/// every party waits for a message (the matmul and the products), over TLS and in process.
#[test]
fn shaping_adds_latency() {
    let plan = chain_plan(2);
    let shape = LinkShape::parse("1gbit,60ms").unwrap();
    let plain = run_local(&plan, data(&plan), &RunOptions::default()).unwrap();
    let shaped_local = run_local(
        &plan,
        data(&plan),
        &RunOptions {
            shape: Some(shape),
            ..Default::default()
        },
    )
    .unwrap();
    let blocking = plan
        .graph()
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Mul | Op::MatMul))
        .count() as u32;
    let bound = shape.rtt / 2 * blocking;
    assert_eq!(shaped_local.totals(), plain.totals());
    assert!(
        shaped_local.wall >= bound,
        "{:?} < {bound:?}",
        shaped_local.wall
    );
    let d = plan.header.digest;
    let runs = run_all(
        setup([d; 3], Duration::from_secs(20), Some(shape)),
        [&plan; 3],
    );
    for (p, r) in runs.into_iter().enumerate() {
        let r = r.unwrap();
        let rounds: u64 = r.result.profile.iter().map(|i| i.stats.rounds).sum();
        assert_eq!(rounds, plain.totals().0, "party {p}");
        assert!(r.wall >= bound, "party {p}: {:?} < {bound:?}", r.wall);
    }
}

/// Every party sends 16 MiB to both others before reading anything: the per-link writer
/// threads keep this from deadlocking on full socket buffers, and every byte arrives intact.
#[test]
fn large_simultaneous_messages_do_not_deadlock() {
    use mpcc_runtime::transport::Transport;
    let s = setup([[3; 32]; 3], Duration::from_secs(20), None);
    let msg = |from: u8, to: u8| -> Vec<u8> {
        (0..16usize << 20)
            .map(|i| (i as u8) ^ from.wrapping_mul(31) ^ to)
            .collect()
    };
    let ok = std::thread::scope(|sc| {
        let hs: Vec<_> = s
            .cfgs
            .into_iter()
            .zip(s.listeners)
            .map(|(cfg, l)| {
                sc.spawn(move || {
                    let mut t = establish(&cfg, l).unwrap();
                    let id = cfg.id;
                    let others: Vec<u8> = (0..3).filter(|p| *p != id).collect();
                    for &p in &others {
                        t.send(p, &msg(id, p)).unwrap();
                    }
                    let got: Vec<bool> = others
                        .iter()
                        .map(|&p| t.recv(p).unwrap() == msg(p, id))
                        .collect();
                    // Dropping the transport flushes the writers; then the counts are final.
                    let h = t.handle();
                    drop(t);
                    (got, h.stats().payload)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for (p, (got, sent)) in ok.iter().enumerate() {
        assert_eq!(got, &vec![true, true], "party {p}");
        let want: [u64; 3] = std::array::from_fn(|q| if q == p { 0 } else { 16 << 20 });
        assert_eq!(*sent, want, "party {p}");
    }
}

/// A client whose token id lies outside the vocabulary stops with an error quoting it,
/// but the abort message its peers receive names only the instruction and the node: the
/// value and its position never leave the client.
#[test]
fn abort_reason_keeps_input_values_private() {
    let mut g = Graph::new(18);
    let ids = Op::Input {
        name: "ids".into(),
        owner: CLIENT,
        encoding: InputEncoding::OneHot { depth: 4 },
    };
    let x = g.add(ids, &[], ValueType::z64(&[2, 4], 18, Vis::Client), "ids");
    // The product makes every party wait for a message from the client's side.
    let sq = g.add(
        Op::Mul,
        &[x, x],
        ValueType::z64(&[2, 4], 36, Vis::Client),
        "sq",
    );
    let out = Op::Output {
        name: "y".into(),
        to: vec![CLIENT],
    };
    g.add(out, &[sq], ValueType::z64(&[2, 4], 36, Vis::Client), "y");
    let plan = Plan::from_graph(g).unwrap();
    let mut inputs = HashMap::new();
    let bad = HostTensor {
        shape: vec![2],
        data: vec![1.0, 31337.0],
    };
    inputs.insert("ids".to_string(), bad);
    let datas = party_data(&plan, &inputs, None);
    let s = setup([plan.header.digest; 3], Duration::from_secs(10), None);
    let errs: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = s
            .cfgs
            .into_iter()
            .zip(s.listeners)
            .map(|(cfg, l)| {
                let (plan, d) = (&plan, &datas[cfg.id as usize]);
                sc.spawn(move || run_networked(plan, d, &cfg, l, None))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap().expect_err("run fails").to_string())
            .collect()
    });
    assert!(errs[CLIENT as usize].contains("31337"), "{errs:?}");
    for p in [0, 2] {
        let e = &errs[p];
        assert!(!e.contains("31337") && !e.contains("position 1"), "{e}");
        assert!(
            e.contains("party 1 stopped") && e.contains("node 'ids'"),
            "party {p}: {e}"
        );
    }
}
