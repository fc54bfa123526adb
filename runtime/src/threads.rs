//! The worker threads a party's local work runs on (`mpcc run --threads`, `mpcc party
//! --threads`): one process-wide pool that the kernels split their largest local loops
//! over (today the local matrix products, [`crate::kernels::arith::matmul_acc`], by blocks
//! of output rows). Message exchanges stay on the party's own thread, so the rounds, bytes
//! and results do not depend on the thread count.
//!
//! In `mpcc run` the three parties share the pool; `mpcc party` has one pool per party.

/// Sets the number of worker threads (at least 1) before any kernel runs. Without a call
/// the pool uses every core. Fails if the pool was already started with another count.
pub fn configure(threads: usize) -> Result<(), String> {
    let threads = threads.max(1);
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == threads => Ok(()),
        Err(e) => Err(format!(
            "cannot set {threads} worker threads: {e} (already running with {})",
            rayon::current_num_threads()
        )),
    }
}

/// The number of worker threads the kernels split their local work over.
pub fn count() -> usize {
    rayon::current_num_threads()
}
