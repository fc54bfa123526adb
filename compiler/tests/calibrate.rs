//! `mpcc compile --calibrate`: ranges from the ring-exact simulation on sample inputs, in the
//! plan and `--emit-ir`, the per-layer summary, every input format, and the format check
//! with its margin (docs/FORMATS.md).

mod common;
use common::{mpcc, text};
use mpcc_compiler::calibrate::{self, CalibrateError, RANGE_MARGIN};
use mpcc_compiler::io::Reference;
use mpcc_ir::Weights;
use mpcc_runtime::HostTensor;
use std::collections::HashMap;
use std::path::PathBuf;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mpcc-calibrate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A calibrated bert-tiny plan: ranges in `--emit-ir`, a summary line per layer, and the
/// plan still matches onnxruntime under the VM.
#[test]
fn calibrated_compile_records_ranges_and_still_matches() {
    let d = tmp("bert");
    let model = models().join("bert-tiny");
    let reference = model.join("reference.json");
    let plan = d.join("bt.plan");
    let ir = d.join("bt.ir");
    let out = mpcc(&[
        "compile",
        model.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
        "--calibrate",
        reference.to_str().unwrap(),
        "--emit-ir",
        ir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{stdout}", text(&out.stderr));
    assert!(stdout.contains("calibrated on 1 input(s)"), "{stdout}");
    for layer in ["embeddings", "layer.0", "layer.1"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(layer) && l.contains("max |x| <= 2^")),
            "no summary line for {layer}:\n{stdout}"
        );
    }
    let ir_text = std::fs::read_to_string(&ir).unwrap();
    let matmuls: Vec<&str> = ir_text
        .lines()
        .filter(|l| l.contains(" = matmul "))
        .collect();
    assert!(!matmuls.is_empty());
    for l in &matmuls {
        assert!(l.contains("\"range\":["), "a matmul without a range: {l}");
    }
    // Ranges are powers of two (only the exponent is stored).
    let g = mpcc_ir::text::parse(&ir_text).unwrap();
    for r in g.facts.range.values() {
        for b in [r.lo.abs(), r.hi.abs()] {
            if b > 0.0 {
                let e = b.log2();
                // Bounds the passes prove (sqrt(n) for a normalised value) are not rounded.
                assert!(
                    e.fract() == 0.0 || b < 16.0,
                    "range {b} is not a power of two"
                );
            }
        }
    }
    let run = mpcc(&[
        "run",
        plan.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--output-dir",
        d.join("out").to_str().unwrap(),
    ]);
    let run_out = text(&run.stdout);
    assert!(run.status.success(), "{}{run_out}", text(&run.stderr));
    assert!(
        run_out.contains("cosine 1.0000") || run_out.contains("cosine 0.9999"),
        "{run_out}"
    );
}

/// A folder of NAME.npy files gives the same ranges as the reference.json it came from,
/// and a text file is tokenized with the export's tokenizer, one input per line.
#[test]
fn folder_and_text_inputs() {
    let d = tmp("formats");
    let model = models().join("bert-tiny-seqcls");
    let reference = model.join("reference.json");
    let npy = d.join("npy");
    std::fs::create_dir_all(&npy).unwrap();
    let r = Reference::load(&reference).unwrap();
    r.write_inputs(&npy).unwrap();
    let shapes: Vec<String> = r
        .input_shapes()
        .iter()
        .map(|(n, s)| {
            let dims: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            format!("{n}={}", dims.join(","))
        })
        .collect();
    let compile = |calib: &PathBuf, ir: &str| {
        let mut args = vec![
            "compile".to_string(),
            model.to_str().unwrap().into(),
            "-o".into(),
            d.join(format!("{ir}.plan")).to_str().unwrap().into(),
            "--calibrate".into(),
            calib.to_str().unwrap().into(),
            "--emit-ir".into(),
            d.join(ir).to_str().unwrap().into(),
        ];
        for s in &shapes {
            args.push("--input-shape".into());
            args.push(s.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = mpcc(&args);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stderr),
            text(&out.stdout)
        );
        (
            text(&out.stdout),
            std::fs::read_to_string(d.join(ir)).unwrap(),
        )
    };
    let (_, from_json) = compile(&reference, "json.ir");
    let (_, from_npy) = compile(&npy, "npy.ir");
    assert_eq!(from_json, from_npy);
    let lines = d.join("sentences.txt");
    std::fs::write(
        &lines,
        "the movie was great\n\nan awful, boring film\nit was fine\n",
    )
    .unwrap();
    let (stdout, _) = compile(&lines, "text.ir");
    let batch = r.input_shapes()[0].1[0];
    let expected = 3usize.div_ceil(batch);
    assert!(
        stdout.contains(&format!("calibrated on {expected} input(s)")),
        "{stdout}"
    );
}

/// A text file without a tokenizer, and a folder missing an input, are refused naming what
/// is missing.
#[test]
fn bad_calibration_inputs_are_named() {
    let d = tmp("bad");
    let model = models().join("bert-tiny").join("model.onnx");
    let lines = d.join("s.txt");
    std::fs::write(&lines, "hello\n").unwrap();
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (calib, want) in [
        (&lines, "needs the export's\n     tokenizer.json"),
        (&empty, "has no"),
    ] {
        let out = mpcc(&[
            "compile",
            model.to_str().unwrap(),
            "-o",
            d.join("x.plan").to_str().unwrap(),
            "--batch",
            "1",
            "--seq",
            "16",
            "--calibrate",
            calib.to_str().unwrap(),
        ]);
        let err = text(&out.stderr).replace('\n', " ");
        assert!(!out.status.success());
        let want = want.replace("\n     ", " ");
        assert!(err.contains(&want), "{err}");
        assert!(!d.join("x.plan").exists(), "a plan was written");
    }
}

/// `y = x · x` truncated back: a value that fits only without the margin is refused,
/// naming the node, and one that wraps the ring is refused as an overflow reaching the
/// output; one with room passes.
#[test]
fn the_margin_is_enforced_and_overflow_named() {
    let g = mpcc_ir::text::parse(
        "graph frac_bits=18\n\
         v0 = input {\"encoding\":\"Fixed\",\"name\":\"x\",\"owner\":1} : client<4,z64,f18> @ \"x\"\n\
         v1 = mul v0, v0 : client<4,z64,f36> @ \"square\"\n\
         v2 = trunc {\"bits\":18} v1 : client<4,z64,f18> @ \"square\"\n\
         v3 = output {\"name\":\"y\",\"to\":[1]} v2 : client<4,z64,f18> @ \"y\"\n",
    )
    .unwrap();
    let sample = |x: f64| {
        let host: HashMap<String, HostTensor> = [(
            "x".to_string(),
            HostTensor {
                shape: vec![4],
                data: vec![x, -x, 0.5, -0.25],
            },
        )]
        .into();
        vec![("sample".to_string(), host)]
    };
    let check = |x: f64| {
        let cal = calibrate::observe(&g, &Weights::default(), &sample(x), |_| {})?;
        let mut g2 = g.clone();
        calibrate::apply(&mut g2, &cal);
        calibrate::check(&g2, &cal, RANGE_MARGIN).map(|_| g2)
    };
    // x² · 2^36 · 4 < 2^62 needs |x| < 2^12; 2^11 has room.
    let ok = check(2048.0).unwrap();
    assert_eq!(ok.facts.range[&mpcc_ir::ValueId(1)].hi, 2048.0 * 2048.0);
    // 6000² · 2^36 ≈ 2^61.1 fits the truncation's 2^62, but not four times it.
    match check(6000.0) {
        Err(CalibrateError::NoRoom { origin, op, .. }) => {
            assert_eq!((origin.as_str(), op), ("square", "mul"));
        }
        other => panic!("expected NoRoom, got {other:?}"),
    }
    // 2^14: x² · 2^36 = 2^64 wraps the ring.
    match check(16384.0) {
        Err(CalibrateError::Overflow { origin, output, .. }) => {
            assert_eq!((origin.as_str(), output.as_str()), ("square", "y"));
        }
        other => panic!("expected Overflow, got {other:?}"),
    }
}
