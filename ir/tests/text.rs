//! The text form: print → parse → print is the identity, and parse errors name the line,
//! the column and what was expected.

use mpcc_ir::text::parse;
use mpcc_ir::*;
use proptest::prelude::*;

fn ty(shape: &[usize], scale: u32, vis: Vis) -> ValueType {
    ValueType::z64(shape, scale, vis)
}

/// A small graph with sources, arithmetic, a piecewise polynomial, a comparison and an output.
fn sample() -> Graph {
    let mut g = Graph::new(18);
    let enc = InputEncoding::OneHot { depth: 4 };
    let ids = g.add(
        Op::Input {
            name: "ids \"q\"".into(),
            owner: CLIENT,
            encoding: enc,
        },
        &[],
        ty(&[2, 4], 18, Vis::Client),
        "embed/ids",
    );
    let w = g.add(
        Op::Weight { name: "w".into() },
        &[],
        ty(&[4, 3], 18, Vis::Owner),
        "w",
    );
    let mm = g.add(Op::MatMul, &[ids, w], ty(&[2, 3], 36, Vis::Secret), "mm\tλ");
    let t = g.add(
        Op::Trunc { bits: 18 },
        &[mm],
        ty(&[2, 3], 18, Vis::Secret),
        "mm",
    );
    let c = g.add(
        Op::Const {
            values: vec![0.1, -2.5e-7],
        },
        &[],
        ty(&[2, 1], 18, Vis::Public),
        "",
    );
    let s = g.add(Op::Add, &[t, c], ty(&[2, 3], 18, Vis::Secret), "add");
    let pieces = vec![
        Piece::Zero,
        Piece::Poly(vec![0.5, -1.0 / 3.0]),
        Piece::Identity,
    ];
    let p = g.add(
        Op::PiecewisePoly {
            breaks: vec![-4.0, 3.0],
            pieces,
        },
        &[s],
        ty(&[2, 3], 18, Vis::Secret),
        "gelu",
    );
    let b = g.add(
        Op::Ge {
            thresholds: vec![-14.0],
        },
        &[p],
        ty(&[1, 2, 3], 0, Vis::Secret),
        "ge",
    );
    let r = g.add(Op::Reshape, &[b], ty(&[], 0, Vis::Secret), "scalar?");
    let cat = g.add(
        Op::Concat { axis: 0 },
        &[p, p, s],
        ty(&[6, 3], 18, Vis::Secret),
        "cat",
    );
    g.add(
        Op::Output {
            name: "y".into(),
            to: vec![CLIENT, 2],
        },
        &[cat],
        ty(&[6, 3], 18, Vis::Secret),
        "y",
    );
    let _ = r;
    g
}

/// Printing, parsing and printing again gives the same text and the same graph.
#[test]
fn round_trip_sample() {
    let g = sample();
    let text = g.to_string();
    let back = parse(&text).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.to_string(), text);
}

/// A hand-written text parses, verifies and prints back verbatim.
#[test]
fn hand_written_text() {
    let text = r#"graph frac_bits=12
v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<1x4,z64,f12> @ "x"
v1 = softmax {"axis":1} v0 : client<1x4,z64,f12> @ "attn/softmax"
v2 = rms_norm {"axis":1,"eps":1e-5} v1 : client<1x4,z64,f12> @ "ln"
v3 = output {"name":"y","to":[1]} v2 : client<1x4,z64,f12> @ "y"
"#;
    let g: Graph = text.parse().unwrap();
    assert_eq!(g.frac_bits, 12);
    assert_eq!(g.nodes[2].op, Op::RmsNorm { axis: 1, eps: 1e-5 });
    assert_eq!(g.ty(ValueId(3)).shape, vec![1, 4]);
    g.verify(false).unwrap();
    // Numbers print in serde_json's shortest form.
    assert_eq!(g.to_string(), text.replace("1e-5", "0.00001"));
}

/// The ring conversions print their shift as serde names it, and a mixed-ring graph (Ditto's
/// z64 → z32 → z64) parses, verifies and prints back verbatim.
#[test]
fn ring_conversions_text() {
    let text = r#"graph frac_bits=18
v0 = input {"encoding":"Fixed","name":"x","owner":1} : client<2,z64,f18> @ "x"
v1 = downcast {"shift":10} v0 : client<2,z32,f8> @ "to16"
v2 = upcast {"shift":10} v1 : client<2,z64,f18> @ "to32"
v3 = output {"name":"y","to":[1]} v2 : client<2,z64,f18> @ "y"
"#;
    let g: Graph = text.parse().unwrap();
    assert_eq!(g.nodes[1].op, Op::Downcast { shift: 10 });
    assert_eq!(g.nodes[2].op, Op::Upcast { shift: 10 });
    g.verify(true).unwrap();
    assert_eq!(g.to_string(), text);
}

/// Comments, blank lines, extra spaces and nodes out of id order are accepted.
#[test]
fn lenient_layout() {
    let text = "# a comment\n\n  graph   frac_bits=18\nv1 = neg  v0 : sec<,z32,f0> @ \"n\"\n  v0 = const {\"values\" : [ 1 ]} : pub<,z32,f0> @ \"c\"  \n";
    let g = parse(text).unwrap();
    assert_eq!(g.nodes[0].output, ValueId(1));
    assert_eq!(
        g.values[0],
        ValueType {
            shape: vec![],
            ring: Ring::Z32,
            scale: 0,
            vis: Vis::Public
        }
    );
    assert_eq!(g.nodes[1].op, Op::Const { values: vec![1.0] });
}

fn err(text: &str) -> (usize, usize, String) {
    let e = parse(text).unwrap_err();
    (e.line, e.column, e.message)
}

/// Errors give the line, the column and what was expected.
#[test]
fn errors_name_line_and_expectation() {
    let h = "graph frac_bits=18\n";
    assert_eq!(
        err("").2,
        "expected the header 'graph frac_bits=N', found the end of the text"
    );
    assert_eq!(err("grph frac_bits=1").0, 1);
    let (line, col, msg) = err(&format!("{h}v0 = neg v1 : sec<2,z64,f18 @ \"\""));
    assert_eq!((line, col), (2, 28));
    assert!(
        msg.starts_with("expected '>' closing the type, found ' @"),
        "{msg}"
    );
    let (line, _, msg) = err(&format!("{h}\nv0 = frobnicate v1 : sec<2,z64,f18> @ \"\""));
    assert_eq!(line, 3);
    assert!(msg.contains("frobnicate"), "{msg}");
    let (_, col, msg) = err(&format!(
        "{h}v0 = trunc {{\"bits\":-1}} v1 : sec<2,z64,f18> @ \"\""
    ));
    assert_eq!(col, 6);
    assert!(msg.starts_with("bad op 'trunc'"), "{msg}");
    let (_, _, msg) = err(&format!("{h}v0 = add v1 v2 : sec<2,z64,f18> @ \"\""));
    assert!(
        msg.starts_with("expected ',' and an operand, or ':' and the type"),
        "{msg}"
    );
    let (_, _, msg) = err(&format!("{h}v0 = neg v0 : sec<2,z64,f18> @ \"x"));
    assert_eq!(
        msg,
        "expected '\"' closing the origin, found the end of the line"
    );
    let (line, _, msg) = err(&format!(
        "{h}v0 = neg v0 : sec<2,z64,f18> @ \"\"\nv0 = neg v0 : sec<2,z64,f18> @ \"\""
    ));
    assert_eq!((line, msg.as_str()), (3, "v0 is defined twice"));
    let (_, _, msg) = err(&format!("{h}v0 = neg v7 : sec<2,z64,f18> @ \"\""));
    assert_eq!(msg, "operand v7 is not defined by any line");
    let (_, _, msg) = err(&format!("{h}v0 = neg v0 : secret<2,z64,f18> @ \"\""));
    assert!(
        msg.starts_with("expected a visibility (pub, client, owner or sec)"),
        "{msg}"
    );
}

fn arb_string() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn arb_f64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |x| x.is_finite())
}

fn arb_floats() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(arb_f64(), 0..4)
}

fn arb_piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        Just(Piece::Zero),
        Just(Piece::Identity),
        arb_floats().prop_map(Piece::Poly)
    ]
}

fn arb_usizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..100, 0..4)
}

fn arb_op() -> impl Strategy<Value = Op> {
    let encoding = prop_oneof![
        Just(InputEncoding::Fixed),
        Just(InputEncoding::Int),
        (1usize..1000).prop_map(|depth| InputEncoding::OneHot { depth })
    ];
    let unit = prop::sample::select(vec![
        Op::Add,
        Op::Sub,
        Op::Neg,
        Op::Mul,
        Op::MatMul,
        Op::Reshape,
        Op::Broadcast,
        Op::Select,
        Op::Relu,
        Op::Gelu,
        Op::Erf,
        Op::Tanh,
        Op::Sigmoid,
        Op::Silu,
        Op::Exp,
        Op::Div,
        Op::Sqrt,
    ]);
    let n = 0u32..64;
    prop_oneof![
        unit,
        (arb_string(), 0u8..3, encoding).prop_map(|(name, owner, encoding)| Op::Input {
            name,
            owner,
            encoding
        }),
        arb_string().prop_map(|name| Op::Weight { name }),
        arb_floats().prop_map(|values| Op::Const { values }),
        n.clone().prop_map(|bits| Op::Trunc { bits }),
        n.clone().prop_map(|bits| Op::Shl { bits }),
        n.clone().prop_map(|shift| Op::Downcast { shift }),
        n.clone().prop_map(|shift| Op::Upcast { shift }),
        prop::collection::vec((0usize..4, 0usize..4), 0..4).prop_map(|pads| Op::Pad { pads }),
        arb_usizes().prop_map(|perm| Op::Transpose { perm }),
        (0usize..5, 0usize..9, 0usize..9, 1usize..4).prop_map(|(axis, start, end, step)| {
            Op::Slice {
                axis,
                start,
                end,
                step,
            }
        }),
        (0usize..5).prop_map(|axis| Op::Concat { axis }),
        (0usize..5, arb_usizes()).prop_map(|(axis, indices)| Op::Gather { axis, indices }),
        arb_usizes().prop_map(|axes| Op::ReduceSum { axes }),
        arb_floats().prop_map(|thresholds| Op::Ge { thresholds }),
        (0usize..5).prop_map(|axis| Op::MaxAxis { axis }),
        n.clone().prop_map(|iters| Op::ExpTaylor { iters }),
        n.clone().prop_map(|iters| Op::Reciprocal { iters }),
        n.prop_map(|iters| Op::Rsqrt { iters }),
        arb_floats().prop_map(|coeffs| Op::Poly { coeffs }),
        (arb_floats(), prop::collection::vec(arb_piece(), 0..4))
            .prop_map(|(breaks, pieces)| Op::PiecewisePoly { breaks, pieces }),
        (arb_string(), prop::collection::vec(0u8..3, 0..3))
            .prop_map(|(name, to)| Op::Output { name, to }),
        (0usize..5).prop_map(|axis| Op::Softmax { axis }),
        (0usize..5, arb_f64()).prop_map(|(axis, eps)| Op::RmsNorm { axis, eps }),
    ]
}

fn arb_type() -> impl Strategy<Value = ValueType> {
    let vis = prop::sample::select(vec![Vis::Public, Vis::Client, Vis::Owner, Vis::Secret]);
    let ring = prop_oneof![Just(Ring::Z32), Just(Ring::Z64)];
    (prop::collection::vec(0usize..70, 0..4), ring, 0u32..80, vis).prop_map(
        |(shape, ring, scale, vis)| ValueType {
            shape,
            ring,
            scale,
            vis,
        },
    )
}

/// Optional origin facts and range of one value.
fn arb_facts() -> impl Strategy<Value = (Option<NodeFacts>, Option<Range>)> {
    let layer = prop_oneof![
        Just(Layer::Embeddings),
        (0u32..40).prop_map(Layer::Index),
        Just(Layer::Pooler),
        Just(Layer::Other),
    ];
    let node = (arb_string(), layer).prop_map(|(op_type, layer)| NodeFacts { op_type, layer });
    let range = (arb_f64(), arb_f64()).prop_map(|(a, b)| Range {
        lo: a.min(b),
        hi: a.max(b),
    });
    (prop::option::of(node), prop::option::of(range))
}

/// A graph of random nodes (not necessarily well typed) with operands among earlier values.
fn arb_graph() -> impl Strategy<Value = Graph> {
    let node = (
        arb_op(),
        arb_type(),
        arb_string(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        arb_facts(),
    );
    (0u32..40, prop::collection::vec(node, 0..12)).prop_map(|(frac_bits, nodes)| {
        let mut g = Graph::new(frac_bits);
        for (i, (op, ty, origin, picks, (node_facts, range))) in nodes.into_iter().enumerate() {
            let inputs: Vec<ValueId> = if i == 0 {
                vec![]
            } else {
                picks.iter().map(|p| ValueId(p.index(i) as u32)).collect()
            };
            let v = g.add(op, &inputs, ty, &origin);
            if let Some(f) = node_facts {
                g.facts.node.insert(v, f);
            }
            if let Some(r) = range {
                g.facts.range.insert(v, r);
            }
        }
        g
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Any graph prints, parses back to an equal graph, and prints to the same text.
    #[test]
    fn round_trip_random(g in arb_graph()) {
        let text = g.to_string();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(back, g);
    }
}
