//! Kernel benchmarks: one party's local 64-bit ring matmul against plaintext f32, and the
//! throughput of secure protocols (multiply, comparison, approximations) run by three
//! in-process parties. Traffic per element and rounds are printed once per protocol.
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mpcc_ir::{Op, Piece, Ring};
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::kernels::{arith, boolean};
use mpcc_runtime::ops;
use mpcc_runtime::ring::encode;
use mpcc_runtime::share::AShare;
use mpcc_runtime::transport::LocalTransport;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::time::Duration;

/// BERT-base FFN shape: 128 tokens, hidden 384 (MiniLM), intermediate 1536.
const M: usize = 128;
const K: usize = 384;
const N: usize = 1536;

fn random_u64(n: usize, seed: u64) -> Vec<u64> {
    let mut r = ChaCha12Rng::seed_from_u64(seed);
    (0..n).map(|_| r.gen()).collect()
}

fn random_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut r = ChaCha12Rng::seed_from_u64(seed);
    (0..n).map(|_| r.gen_range(-1.0..1.0)).collect()
}

/// A straightforward row-major f32 matmul (i, k, j loop order, as `arith::matmul_acc`).
fn matmul_f32(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for kk in 0..k {
            let av = a[i * k + kk];
            for (o, bv) in row.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                *o += av * bv;
            }
        }
    }
    out
}

fn bench_matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_128x384x1536");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements((M * K * N) as u64));
    let a = AShare {
        a: random_u64(M * K, 1),
        b: random_u64(M * K, 2),
    };
    let b = AShare {
        a: random_u64(K * N, 3),
        b: random_u64(K * N, 4),
    };
    g.bench_function("u64_share_cross (one party)", |bn| {
        bn.iter(|| arith::matmul_local_cross(black_box(&a).view(), black_box(&b).view(), M, K, N))
    });
    g.bench_function("u64_matmul_acc (one product)", |bn| {
        bn.iter(|| {
            let mut out = vec![0u64; M * N];
            arith::matmul_acc(black_box(&a.a), black_box(&b.a), M, K, N, &mut out);
            out
        })
    });
    // `--threads`: the same product split over 1, 2 and every worker thread.
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1, 2, all];
    counts.dedup();
    for t in counts {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap();
        g.bench_function(BenchmarkId::new("u64_matmul_acc threads", t), |bn| {
            bn.iter(|| {
                let mut out = vec![0u64; M * N];
                pool.install(|| {
                    arith::matmul_acc(black_box(&a.a), black_box(&b.a), M, K, N, &mut out)
                });
                out
            })
        });
    }
    let (af, bf) = (random_f32(M * K, 5), random_f32(K * N, 6));
    g.bench_function("f32_loop", |bn| {
        bn.iter(|| matmul_f32(black_box(&af), black_box(&bf), M, K, N))
    });
    let an = ndarray::Array2::from_shape_vec((M, K), af.clone()).unwrap();
    let bnd = ndarray::Array2::from_shape_vec((K, N), bf.clone()).unwrap();
    g.bench_function("f32_ndarray", |bn| {
        bn.iter(|| black_box(&an).dot(black_box(&bnd)))
    });
    g.finish();
}

/// Three parties with set-up sessions, reused across iterations.
fn sessions() -> Vec<Ctx> {
    let links = LocalTransport::triple(Duration::from_secs(600));
    std::thread::scope(|s| {
        let hs: Vec<_> = links
            .into_iter()
            .map(|l| s.spawn(move || Ctx::setup(Box::new(l)).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Runs `body` at the three parties at once (one thread each) on their own inputs.
fn run3<T: Sync, R: Send>(
    ctxs: &mut [Ctx],
    inputs: &[T],
    body: impl Fn(&mut Ctx, &T) -> R + Sync,
) -> Vec<R> {
    std::thread::scope(|s| {
        let hs: Vec<_> = ctxs
            .iter_mut()
            .zip(inputs)
            .map(|(ctx, x)| {
                let body = &body;
                s.spawn(move || body(ctx, x))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Shares of n fixed-point values in [lo, hi) at scale 18, input-shared by party 1 and
/// multiplied by a secret one so that no share component is statically zero.
fn shared(ctxs: &mut [Ctx], n: usize, lo: f64, hi: f64) -> Vec<AShare> {
    let mut r = ChaCha12Rng::seed_from_u64(9);
    let data: Vec<u64> = (0..n)
        .map(|_| encode(r.gen_range(lo..hi), 18, Ring::Z64))
        .collect();
    let ones = vec![encode(1.0, 18, Ring::Z64); n];
    run3(ctxs, &[(), (), ()], |ctx, _| {
        let mine = (ctx.id == 1).then_some(data.as_slice());
        let x = arith::share_input(ctx, 1, mine, n, Ring::Z64).unwrap();
        let one = arith::share_input(
            ctx,
            0,
            (ctx.id == 0).then_some(ones.as_slice()),
            n,
            Ring::Z64,
        )
        .unwrap();
        let p = arith::mul(ctx, &x, &one, Ring::Z64).unwrap();
        arith::trunc(ctx, &p, 18, Ring::Z64).unwrap()
    })
}

/// Prints the measured rounds and bytes per element of one run of `body`.
fn report<F>(name: &str, ctxs: &mut [Ctx], xs: &[AShare], n: usize, body: &F)
where
    F: Fn(&mut Ctx, &AShare) + Sync,
{
    ctxs.iter_mut().for_each(|c| {
        c.take_stats();
    });
    run3(ctxs, xs, body);
    let st: Vec<_> = ctxs.iter_mut().map(|c| c.take_stats()).collect();
    let per: Vec<String> = st
        .iter()
        .map(|s| format!("{:.1}", s.bytes_sent as f64 / n as f64))
        .collect();
    eprintln!(
        "{name}: n = {n}, rounds {}, bytes sent per element by parties 0/1/2: {}",
        st[0].rounds,
        per.join(" / ")
    );
}

fn bench_protocol<F>(c: &mut Criterion, name: &str, n: usize, lo: f64, hi: f64, body: F)
where
    F: Fn(&mut Ctx, &AShare) + Sync,
{
    let mut ctxs = sessions();
    let xs = shared(&mut ctxs, n, lo, hi);
    report(name, &mut ctxs, &xs, n, &body);
    let mut g = c.benchmark_group("secure");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new(name, n), &n, |bn, _| {
        bn.iter(|| run3(&mut ctxs, &xs, &body))
    });
    g.finish();
}

fn gelu() -> Op {
    Op::PiecewisePoly {
        breaks: vec![-4.0, -1.95, 3.0],
        pieces: vec![
            Piece::Zero,
            Piece::Poly(vec![
                -0.5054031199708174,
                -0.42226581151983866,
                -0.11807612951181953,
                -0.011034134030615728,
            ]),
            Piece::Poly(vec![
                0.008526321541038084,
                0.5,
                0.3603292692789629,
                0.0,
                -0.037688200365904236,
                0.0,
                0.0018067462606141187,
            ]),
            Piece::Identity,
        ],
    }
}

fn bench_secure(c: &mut Criterion) {
    let z = Ring::Z64;
    bench_protocol(c, "mul", 1 << 20, -4.0, 4.0, |ctx, x| {
        arith::mul(ctx, x, x, z).unwrap();
    });
    bench_protocol(c, "trunc", 1 << 20, -4.0, 4.0, |ctx, x| {
        arith::trunc(ctx, x, 18, z).unwrap();
    });
    bench_protocol(c, "ge_1_threshold", 1 << 20, -4.0, 4.0, |ctx, x| {
        boolean::ge_const(ctx, x, &[encode(0.5, 18, z)], z).unwrap();
    });
    let kernels = [
        ("gelu", gelu(), -6.0, 6.0),
        ("exp_taylor_5", Op::ExpTaylor { iters: 5 }, -14.0, 0.0),
        ("reciprocal_2", Op::Reciprocal { iters: 2 }, 1.0, 100.0),
        ("rsqrt_2", Op::Rsqrt { iters: 2 }, 0.01, 100.0),
    ];
    for (name, op, lo, hi) in kernels {
        bench_protocol(c, name, 1 << 16, lo, hi, move |ctx, x| {
            ops::exec_secret(ctx, &op, x, 18, z).unwrap();
        });
    }
}

criterion_group!(benches, bench_matmul, bench_secure);
criterion_main!(benches);
