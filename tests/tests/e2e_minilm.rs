//! End to end on a real model: all-MiniLM-L6-v2 (sentence-transformers weights) at its
//! reference input of two sentences padded to 32 tokens. The model lives outside the
//! repository: `MPCC_MINILM_DIR`, by default `<repo>/../shared/models/all-minilm-l6-v2`.

mod e2e_common;

use e2e_common::{compile_and_run, repo_root};
use mpcc_compiler::io;
use std::path::PathBuf;

fn minilm_dir() -> PathBuf {
    std::env::var_os("MPCC_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/models/all-minilm-l6-v2"))
}

/// Mean of `h` `[b, t, d]` over the tokens whose mask is 1: the sentence-transformers pooling.
fn mean_pool(h: &[f64], mask: &[f64], b: usize, t: usize, d: usize) -> Vec<Vec<f64>> {
    (0..b)
        .map(|i| {
            let mut acc = vec![0.0; d];
            let mut n = 0.0;
            for j in 0..t {
                let m = mask[i * t + j];
                n += m;
                for (k, a) in acc.iter_mut().enumerate() {
                    *a += m * h[(i * t + j) * d + k];
                }
            }
            acc.iter().map(|a| a / n).collect()
        })
        .collect()
}

/// The secure sentence embeddings (mean-pooled over the attention mask) of both sentences
/// have cosine ≥ 0.9995 with onnxruntime's; prints last_hidden_state's max abs error.
#[test]
fn minilm_sentence_embeddings() {
    let dir = minilm_dir();
    assert!(
        dir.join("model.onnx").exists(),
        "all-MiniLM-L6-v2 not found at {} (set MPCC_MINILM_DIR)",
        dir.display()
    );
    let o = compile_and_run(&dir, false);
    let (got, want) = o.output("last_hidden_state");
    let (b, t, d) = (got.shape[0], got.shape[1], got.shape[2]);
    let mask = &o.reference.input("attention_mask").expect("mask").data;
    let a = io::agreement(&got.data, &want.data);
    let (rounds, bytes) = o.result.totals();
    println!(
        "all-MiniLM-L6-v2 [2,32]: last_hidden_state max abs error {:.3e}, cosine {:.7}; \
         {rounds} rounds, {bytes} bytes, {:.1} s",
        a.max_abs,
        a.cosine,
        o.result.wall.as_secs_f64()
    );
    let pg = mean_pool(&got.data, mask, b, t, d);
    let pw = mean_pool(&want.data, mask, b, t, d);
    let cos: Vec<f64> = pg
        .iter()
        .zip(&pw)
        .map(|(g, w)| io::agreement(g, w).cosine)
        .collect();
    println!("sentence embedding cosines: {cos:.7?}");
    o.assert_cost_matches();
    for (i, c) in cos.iter().enumerate() {
        assert!(
            *c >= 0.9995,
            "sentence {i}: embedding cosine {c:.7} < 0.9995"
        );
    }
}
