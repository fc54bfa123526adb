//! The recipe registry, the policy table and the override selector language: parsing (good
//! and bad input, with the error messages), matching by op, node glob, layer and head, and
//! the errors of overrides that cannot apply or select nothing.

mod common;
use common::*;
use mpcc_ir::*;
use mpcc_passes::policy::{find_recipe, recipe_names};
use mpcc_passes::recipes::{self, Recipe, RecipeKind};
use mpcc_passes::select::{glob, RecipeRef};
use mpcc_passes::*;
use std::collections::HashSet;

/// Parses `text` as an override and prints it back in canonical form.
fn check(text: &str, canonical: &str) {
    let o: Override = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(o.to_string(), canonical);
}

/// The error message of a malformed override.
fn check_err(text: &str, message: &str) {
    let e = text.parse::<Override>().unwrap_err();
    assert_eq!(e.to_string(), message);
}

/// Recipe and policy names are unique, every policy's recipes are named in the registry,
/// and the policies keep today's numbers.
#[test]
fn registry_and_policies() {
    let names: HashSet<&str> = RECIPES.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), RECIPES.len());
    let policies: HashSet<&str> = POLICIES.iter().map(|p| p.name).collect();
    assert_eq!(policies.len(), POLICIES.len());
    assert!(names.is_disjoint(&policies));
    let kinds = [
        RecipeKind::Softmax,
        RecipeKind::Gelu,
        RecipeKind::Erf,
        RecipeKind::Tanh,
        RecipeKind::Sigmoid,
        RecipeKind::Silu,
        RecipeKind::RmsNorm,
        RecipeKind::Exp,
        RecipeKind::Div,
        RecipeKind::Sqrt,
    ];
    for p in POLICIES {
        for kind in kinds {
            let r = p.recipes.get(kind);
            assert_eq!(r.kind(), kind);
            assert!(
                RECIPES.iter().any(|info| info.recipe == r),
                "{}'s {kind:?} recipe has no name",
                p.name
            );
        }
    }
    assert_eq!(Policy::default(), Policy::PUMA);
    assert_eq!(POLICIES[0].name, "puma");
    let puma = Policy::PUMA.recipes();
    assert_eq!(
        puma.softmax,
        recipes::SoftmaxRecipe::MaxPolyExp {
            degree: 4,
            squarings: 4,
            cutoff: 14.0,
            reciprocal_iters: 2
        }
    );
    assert_eq!(
        puma.gelu,
        recipes::ActivationRecipe::Piecewise(recipes::MPCC_GELU)
    );
    let paper = Policy::PUMA_PAPER.recipes();
    assert_eq!(paper.exp, recipes::ExpRecipe::Taylor { iters: 8 });
    assert_eq!(
        paper.gelu,
        recipes::ActivationRecipe::Piecewise(recipes::PUMA_GELU)
    );
    assert_eq!(paper.div, puma.div);
    assert_eq!(
        find_recipe("puma-paper-softmax").unwrap().recipe,
        Recipe::Softmax(paper.softmax)
    );
    assert_eq!(recipe_names()[0], "puma-softmax");
}

/// Well-formed overrides parse; whitespace around keys and values is ignored; layers may
/// be written as a number or as the facts print them.
#[test]
fn selectors_parse() {
    check(
        "op:Softmax,layer:3=puma-paper",
        "op:Softmax,layer:3=puma-paper",
    );
    check(
        "layer:0, op:Softmax ,head:1=puma-paper-softmax",
        "op:Softmax,layer:0,head:1=puma-paper-softmax",
    );
    check("layer:layer.2=puma", "layer:2=puma");
    check("layer:pooler=puma", "layer:pooler=puma");
    check(
        "node:/encoder/layer.?/attention/*=puma-paper",
        "node:/encoder/layer.?/attention/*=puma-paper",
    );
    let o: Override = "op:gelu=puma-paper-gelu".parse().unwrap();
    assert!(matches!(o.recipe, RecipeRef::Recipe(r) if r.name == "puma-paper-gelu"));
    let o: Override = "op:gelu=puma-paper".parse().unwrap();
    assert_eq!(o.recipe, RecipeRef::Policy(Policy::PUMA_PAPER));
}

/// Malformed overrides are refused with the text and the valid keys or recipes.
#[test]
fn selectors_refuse_bad_input() {
    check_err(
        "op:Softmax",
        "bad recipe override 'op:Softmax': expected SELECTOR=RECIPE, e.g. \
         op:Softmax,layer:3=puma-paper",
    );
    check_err(
        "kind:Softmax=puma",
        "bad recipe override 'kind:Softmax=puma': unknown key 'kind' (keys: op, node, layer, \
         head)",
    );
    check_err(
        "Softmax=puma",
        "bad recipe override 'Softmax=puma': 'Softmax' is not KEY:VALUE (keys: op, node, \
         layer, head)",
    );
    check_err(
        "layer:x=puma",
        "bad recipe override 'layer:x=puma': unknown layer 'x' (embeddings, layer.N, pooler \
         or other); or a layer number",
    );
    check_err(
        "head:-1=puma",
        "bad recipe override 'head:-1=puma': head '-1' is not a head index (0, 1, …)",
    );
    check_err(
        "op:a,op:b=puma",
        "bad recipe override 'op:a,op:b=puma': key 'op' is given twice",
    );
    check_err(
        "op:=puma",
        "bad recipe override 'op:=puma': key 'op' has no value",
    );
    check_err(
        "=puma",
        "bad recipe override '=puma': the selector is empty; write KEY:VALUE pairs joined by \
         commas (keys: op, node, layer, head)",
    );
    let e = "op:Softmax=fast"
        .parse::<Override>()
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "bad recipe override 'op:Softmax=fast': unknown recipe 'fast' (recipes: \
             puma-softmax, mpcc-softmax, mpcc-fast-softmax, puma-paper-softmax, puma-gelu, "
        ) && e.ends_with("; policies: puma, puma-paper, mpcformer, secformer, mpcvit)"),
        "{e}"
    );
}

/// The JSON form gives the same overrides; its errors name the entry.
#[test]
fn json_overrides() {
    let text = r#"[
        {"select": {"op": "Softmax", "layer": 3}, "recipe": "puma-paper"},
        {"select": {"node": "/encoder/*", "head": 1, "layer": "layer.0"}, "recipe": "puma-paper-softmax"}
    ]"#;
    let got: Vec<String> = parse_overrides_json(text)
        .unwrap()
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(
        got,
        [
            "op:Softmax,layer:3=puma-paper",
            "node:/encoder/*,layer:0,head:1=puma-paper-softmax"
        ]
    );
    let e = parse_overrides_json(r#"[{"select": {"op": "Softmax"}, "recipe": "nope"}]"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "bad recipe override 'entry 0 ({\"recipe\":\"nope\",\"select\":{\"op\":\"Softmax\"}})': \
             unknown recipe 'nope'"
        ),
        "{e}"
    );
    let e = parse_overrides_json(r#"[{"select": {"op": "Softmax"}, "recipe": "puma", "x": 1}]"#)
        .unwrap_err();
    assert!(e.message.starts_with("unknown field 'x'"), "{e}");
    let e = parse_overrides_json(r#"{"select": {}}"#).unwrap_err();
    assert!(e.message.starts_with("expected a list"), "{e}");
    let e = parse_overrides_json("[").unwrap_err();
    assert!(e.message.starts_with("not JSON"), "{e}");
    let e = parse_overrides_json(r#"[{"select": {"layer": [1]}, "recipe": "puma"}]"#).unwrap_err();
    assert_eq!(
        e.message,
        "key 'layer' has the value [1]; expected a string or a number"
    );
}

/// `*` matches any text (also none), `?` one character.
#[test]
fn globs() {
    assert!(glob(
        "/encoder/layer.*/attention/self/Softmax",
        "/encoder/layer.11/attention/self/Softmax"
    ));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "aXXbYbc"));
    assert!(glob("layer.?", "layer.3"));
    assert!(!glob("layer.?", "layer.10"));
    assert!(!glob("*Softmax", "/Softmax_1"));
    assert!(glob("*Softmax*", "/Softmax_1"));
}

/// Selectors match by IR op or ONNX op type (ignoring case), node glob and layer.
#[test]
fn selectors_match() {
    let g = fixture("passes-overrides");
    let sel = |text: &str| text.parse::<Override>().unwrap().select;
    let matching = |text: &str| -> Vec<&str> {
        let s = sel(text);
        let nodes = g.nodes.iter().filter(|n| s.matches(&g, n));
        nodes.map(|n| n.origin.as_str()).collect()
    };
    let sm0 = "/encoder/layer.0/attention/self/Softmax";
    let sm1 = "/encoder/layer.1/attention/self/Softmax";
    assert_eq!(matching("op:SOFTMAX=puma"), [sm0, sm1]);
    assert_eq!(matching("op:softmax,layer:1=puma"), [sm1]);
    assert_eq!(
        matching("layer:0=puma"),
        [sm0, "/encoder/layer.0/intermediate/Gelu"]
    );
    assert_eq!(
        matching("node:*/intermediate/*,layer:1=puma"),
        ["/encoder/layer.1/intermediate/Gelu"]
    );
    assert_eq!(matching("layer:embeddings=puma"), ["s"]);
    assert!(matching("op:MatMul=puma").is_empty());
    // Without facts, `op:` still matches the IR op; `layer:` matches nothing.
    let mut bare = g.clone();
    bare.facts = Default::default();
    let s = sel("op:Softmax=puma");
    assert_eq!(bare.nodes.iter().filter(|n| s.matches(&bare, n)).count(), 2);
    let s = sel("layer:0=puma");
    assert_eq!(bare.nodes.iter().filter(|n| s.matches(&bare, n)).count(), 0);
}

fn pipeline_err(g: Graph, overrides: &[&str]) -> String {
    let opts = PassOptions {
        overrides: overrides.iter().map(|o| o.parse().unwrap()).collect(),
        ..PassOptions::default()
    };
    run_pipeline(g, &opts).unwrap_err().to_string()
}

/// An override that selects nothing is an error naming it; a recipe of another kind says
/// which ops it applies to.
#[test]
fn unmatched_overrides_are_errors() {
    let g = fixture("passes-overrides");
    assert_eq!(
        pipeline_err(g.clone(), &["op:Softmax,layer:7=puma-paper"]),
        "recipe override 'op:Softmax,layer:7=puma-paper' matched no node; `mpcc compile \
         --emit-ir FILE --stop-after 0` shows each node's origin and facts (op_type, layer)"
    );
    assert_eq!(
        pipeline_err(
            g.clone(),
            &["op:Softmax=puma", "op:Softmax=puma-paper-gelu"]
        ),
        "recipe override 'op:Softmax=puma-paper-gelu' matched no node; recipe \
         'puma-paper-gelu' applies to gelu nodes only; `mpcc compile --emit-ir FILE \
         --stop-after 0` shows each node's origin and facts (op_type, layer)"
    );
    // With the passes stopped early, nothing is checked.
    let opts = PassOptions {
        overrides: vec!["op:nothing=puma".parse().unwrap()],
        stop_after: Some(2),
        ..PassOptions::default()
    };
    assert!(run_pipeline(g, &opts).is_ok());
}

/// `head:` on an op that is not per head, or beyond the last head, is refused clearly.
#[test]
fn head_errors() {
    let g = fixture("passes-overrides");
    assert_eq!(
        pipeline_err(g.clone(), &["layer:0,head:1=puma-paper"]),
        "recipe override 'layer:0,head:1=puma-paper' cannot apply to gelu from ONNX node \
         '/encoder/layer.0/intermediate/Gelu': head: selects attention heads, and a gelu is \
         not per head (only a softmax over the last axis of a rank-4 [batch, heads, seq, seq] \
         input, or of a rank-3 [heads, seq, seq] one, is; add op:Softmax to the selector to \
         leave other ops out)"
    );
    assert_eq!(
        pipeline_err(g.clone(), &["op:Softmax,head:2=puma-paper"]),
        "recipe override 'op:Softmax,head:2=puma-paper' cannot apply to softmax from ONNX \
         node '/encoder/layer.0/attention/self/Softmax': head 2 is out of range: it has 2 \
         heads (0..2)"
    );
    let flat = unary_graph(Op::Softmax { axis: 1 }, &[2, 3]);
    assert_eq!(
        pipeline_err(flat, &["op:Softmax,head:0=puma-paper"]),
        "recipe override 'op:Softmax,head:0=puma-paper' cannot apply to softmax from ONNX \
         node 'op': head: selects attention heads, and a softmax with input shape [2, 3] is \
         not per head (only a softmax over the last axis of a rank-4 [batch, heads, seq, seq] \
         input, or of a rank-3 [heads, seq, seq] one, is; add op:Softmax to the selector to \
         leave other ops out)"
    );
}

/// Later overrides win; a recipe of another kind leaves a node alone.
#[test]
fn later_overrides_win() {
    let g = fixture("passes-overrides");
    let ctx_overrides: Vec<Override> = [
        "op:Softmax=puma-paper",
        "layer:1=puma",
        "layer:1=puma-paper-gelu",
    ]
    .iter()
    .map(|o| o.parse().unwrap())
    .collect();
    let ctx = PassCtx::new(Policy::PUMA).with_overrides(&ctx_overrides);
    let softmax: Vec<&Node> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Softmax { .. }))
        .collect();
    let r0 = ctx.recipes_for(&g, softmax[0]).unwrap();
    let r1 = ctx.recipes_for(&g, softmax[1]).unwrap();
    assert_eq!(r0.softmax, recipes::PUMA_PAPER_SOFTMAX);
    assert_eq!(r1.softmax, recipes::MPCC_SOFTMAX);
    let gelu1 = g
        .nodes
        .iter()
        .find(|n| n.origin.ends_with("layer.1/intermediate/Gelu"));
    let r = ctx.recipes_for(&g, gelu1.unwrap()).unwrap();
    assert_eq!(
        r.gelu,
        recipes::ActivationRecipe::Piecewise(recipes::PUMA_GELU)
    );
    assert!(ctx.check_overrides_used().is_ok());
}

/// A cost model in the context is what the caller gave.
#[test]
fn cost_model_is_readable() {
    struct Rounds;
    impl CostModel for Rounds {
        fn cost(&self, _: &Graph, node: &Node) -> NodeCost {
            NodeCost {
                rounds: node.inputs.len() as u64,
                bytes: 0,
            }
        }
    }
    let g = fixture("passes-overrides");
    let ctx = PassCtx::default().with_cost_model(&Rounds);
    let c = ctx.cost_model().unwrap().cost(&g, &g.nodes[1]);
    assert_eq!(c.rounds, 1);
    assert!(PassCtx::default().cost_model().is_none());
    let opts = PassOptions::default();
    let a = run_pipeline_with_cost(g.clone(), &opts, &Rounds).unwrap();
    assert_eq!(a, run_pipeline(g, &opts).unwrap());
}
