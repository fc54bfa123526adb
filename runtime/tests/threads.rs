//! `--threads`: the local matrix product split over worker threads
//! ([`mpcc_runtime::kernels::arith::matmul_acc`]) gives exactly the serial product, for
//! shapes on both sides of the size where the split starts and row counts that do not
//! divide into the blocks.

use mpcc_runtime::kernels::arith::{matmul_acc, matmul_acc_serial};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn threaded_matmul_equals_serial(
        m in 1usize..70,
        k in prop::sample::select(vec![1usize, 7, 128, 300]),
        n in prop::sample::select(vec![1usize, 33, 512]),
        threads in 2usize..=5,
        seed in any::<u64>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<u64> = (0..m * k).map(|_| rng.gen()).collect();
        let b: Vec<u64> = (0..k * n).map(|_| rng.gen()).collect();
        let start: Vec<u64> = (0..m * n).map(|_| rng.gen()).collect();
        let mut want = start.clone();
        matmul_acc_serial(&a, &b, m, k, n, &mut want);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut got = start;
        pool.install(|| matmul_acc(&a, &b, m, k, n, &mut got));
        prop_assert_eq!(got, want);
    }
}
