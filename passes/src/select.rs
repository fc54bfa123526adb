//! The selector language of recipe overrides: which nodes (and attention heads) get which
//! recipe instead of the policy's.
//!
//! ```text
//! override := selector "=" recipe
//! selector := pair ("," pair)*          each key at most once
//! pair     := key ":" value
//! key      := "op" | "node" | "layer" | "head"
//! recipe   := a name of RECIPES (puma-paper-softmax, …) or of POLICIES (puma-paper, …)
//! ```
//!
//! - `op:NAME` matches the ONNX op type of the node's origin (the node facts' `op_type`,
//!   e.g. `Softmax`) or the IR op being lowered (`softmax`, `gelu`, `rms_norm`), ignoring
//!   case.
//! - `node:GLOB` matches the ONNX node name (`Node::origin`); `*` is any text, `?` one
//!   character.
//! - `layer:N` matches the node facts' layer `N` (also `layer.N`, `embeddings`, `pooler`,
//!   `other`).
//! - `head:N` selects attention head `N` of a per-head op (see [`crate::ctx`]); on any other
//!   op it is an error.
//!
//! A recipe name applies to the selected nodes of its kind only (`puma-paper-gelu` to GeLUs);
//! a policy name gives each selected node that policy's recipe for its op. The JSON form
//! (`--approx-overrides FILE`) is a list of `{"select": {"op": "Softmax", "layer": 3},
//! "recipe": "puma-paper"}`. Overrides apply in order; a later one wins.

use crate::policy::{find_recipe, policy_names, recipe_names, Policy, RecipeInfo};
use crate::recipes::{RecipeKind, Recipes};
use mpcc_ir::{Graph, Layer, Node};
use std::fmt;

/// The keys a selector may use.
pub const KEYS: &[&str] = &["op", "node", "layer", "head"];

/// Which nodes an override selects; a node matches when every key given matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    /// ONNX op type or IR op name, compared ignoring case.
    pub op: Option<String>,
    /// Glob over the ONNX node name.
    pub node: Option<String>,
    /// Layer from the node facts.
    pub layer: Option<Layer>,
    /// Attention head.
    pub head: Option<usize>,
}

/// What an override gives the nodes it selects.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecipeRef {
    /// One named recipe; applies to nodes of its kind.
    Recipe(&'static RecipeInfo),
    /// A policy's recipe for each selected node's op.
    Policy(Policy),
}

impl RecipeRef {
    /// Its name in the registry.
    pub fn name(&self) -> &'static str {
        match self {
            RecipeRef::Recipe(r) => r.name,
            RecipeRef::Policy(p) => p.name(),
        }
    }

    /// Whether it gives a recipe to ops of `kind`: a recipe to its own kind, a policy to all.
    pub fn covers(&self, kind: RecipeKind) -> bool {
        match self {
            RecipeRef::Recipe(r) => r.recipe.kind() == kind,
            RecipeRef::Policy(_) => true,
        }
    }

    /// Sets the recipe for `kind` in `recipes`, if it [covers](Self::covers) `kind`.
    pub fn apply(&self, kind: RecipeKind, recipes: &mut Recipes) {
        match self {
            RecipeRef::Recipe(r) if r.recipe.kind() == kind => recipes.set(r.recipe),
            RecipeRef::Recipe(_) => {}
            RecipeRef::Policy(p) => recipes.set(p.recipes().get(kind)),
        }
    }
}

/// One `SELECTOR=RECIPE` override.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The nodes it selects.
    pub select: Selector,
    /// The recipe they get.
    pub recipe: RecipeRef,
}

/// A malformed override, or one naming an unknown recipe.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad recipe override '{text}': {message}")]
pub struct OverrideError {
    /// The override as written (or a JSON entry's position).
    pub text: String,
    /// What is wrong, with the valid keys or recipes.
    pub message: String,
}

impl Selector {
    /// Whether `node` of `graph` matches every key but `head` (which the pass checks).
    pub fn matches(&self, graph: &Graph, node: &Node) -> bool {
        let facts = graph.node_facts(node.output);
        let op_ok = self.op.as_ref().is_none_or(|op| {
            op.eq_ignore_ascii_case(node.op.name())
                || facts.is_some_and(|f| op.eq_ignore_ascii_case(&f.op_type))
        });
        let node_ok = self.node.as_ref().is_none_or(|g| glob(g, &node.origin));
        let layer_ok = self
            .layer
            .is_none_or(|l| facts.is_some_and(|f| f.layer == l));
        op_ok && node_ok && layer_ok
    }

    /// Sets one key from its text value.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return Err(format!("key '{key}' has no value"));
        }
        let dup = match key {
            "op" => self.op.replace(value.to_string()).is_some(),
            "node" => self.node.replace(value.to_string()).is_some(),
            "layer" => self.layer.replace(parse_layer(value)?).is_some(),
            "head" => {
                let h = value
                    .parse()
                    .map_err(|_| format!("head '{value}' is not a head index (0, 1, …)"))?;
                self.head.replace(h).is_some()
            }
            other => return Err(format!("unknown key '{other}' (keys: {})", KEYS.join(", "))),
        };
        if dup {
            return Err(format!("key '{key}' is given twice"));
        }
        Ok(())
    }

    /// True when no key is given.
    pub fn is_empty(&self) -> bool {
        *self == Selector::default()
    }
}

/// `N`, `layer.N`, `embeddings`, `pooler` or `other`.
fn parse_layer(value: &str) -> Result<Layer, String> {
    match value.parse::<u32>() {
        Ok(n) => Ok(Layer::Index(n)),
        Err(_) => value
            .parse::<Layer>()
            .map_err(|e| format!("{e}; or a layer number")),
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(op) = &self.op {
            parts.push(format!("op:{op}"));
        }
        if let Some(n) = &self.node {
            parts.push(format!("node:{n}"));
        }
        match self.layer {
            Some(Layer::Index(n)) => parts.push(format!("layer:{n}")),
            Some(l) => parts.push(format!("layer:{l}")),
            None => {}
        }
        if let Some(h) = self.head {
            parts.push(format!("head:{h}"));
        }
        f.write_str(&parts.join(","))
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.select, self.recipe.name())
    }
}

/// A recipe or policy name.
fn parse_recipe(name: &str) -> Result<RecipeRef, String> {
    if let Some(r) = find_recipe(name) {
        return Ok(RecipeRef::Recipe(r));
    }
    name.parse::<Policy>().map(RecipeRef::Policy).map_err(|_| {
        format!(
            "unknown recipe '{name}' (recipes: {}; policies: {})",
            recipe_names().join(", "),
            policy_names().join(", ")
        )
    })
}

fn checked(select: Selector, recipe: &str) -> Result<Override, String> {
    if select.is_empty() {
        return Err(format!(
            "the selector is empty; write KEY:VALUE pairs joined by commas (keys: {})",
            KEYS.join(", ")
        ));
    }
    Ok(Override {
        select,
        recipe: parse_recipe(recipe)?,
    })
}

impl std::str::FromStr for Override {
    type Err = OverrideError;
    /// Parses `SELECTOR=RECIPE`, e.g. `op:Softmax,layer:3=puma-paper`.
    fn from_str(text: &str) -> Result<Override, OverrideError> {
        let fail = |message: String| OverrideError {
            text: text.to_string(),
            message,
        };
        let (sel, recipe) = text.rsplit_once('=').ok_or_else(|| {
            fail("expected SELECTOR=RECIPE, e.g. op:Softmax,layer:3=puma-paper".into())
        })?;
        let mut select = Selector::default();
        for pair in sel.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair.split_once(':').ok_or_else(|| {
                fail(format!(
                    "'{pair}' is not KEY:VALUE (keys: {})",
                    KEYS.join(", ")
                ))
            })?;
            select.set(k.trim(), v.trim()).map_err(fail)?;
        }
        checked(select, recipe.trim()).map_err(fail)
    }
}

/// Parses the JSON form: a list of `{"select": {KEY: VALUE, …}, "recipe": NAME}`, where
/// `layer` and `head` may be numbers or strings.
pub fn parse_overrides_json(text: &str) -> Result<Vec<Override>, OverrideError> {
    let list: serde_json::Value = serde_json::from_str(text).map_err(|e| OverrideError {
        text: "the JSON file".into(),
        message: format!("not JSON: {e}"),
    })?;
    let Some(list) = list.as_array() else {
        return Err(OverrideError {
            text: "the JSON file".into(),
            message: "expected a list of {\"select\": {...}, \"recipe\": \"...\"}".into(),
        });
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            json_entry(entry).map_err(|message| OverrideError {
                text: format!("entry {i} ({entry})"),
                message,
            })
        })
        .collect()
}

fn json_entry(entry: &serde_json::Value) -> Result<Override, String> {
    let shape = "expected {\"select\": {KEY: VALUE, ...}, \"recipe\": NAME}";
    let obj = entry.as_object().ok_or(shape)?;
    if let Some(k) = obj.keys().find(|k| *k != "select" && *k != "recipe") {
        return Err(format!("unknown field '{k}'; {shape}"));
    }
    let recipe = obj.get("recipe").and_then(|r| r.as_str()).ok_or(shape)?;
    let pairs = obj.get("select").and_then(|s| s.as_object()).ok_or(shape)?;
    let mut select = Selector::default();
    for (k, v) in pairs {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(format!(
                    "key '{k}' has the value {other}; expected a string or a number"
                ))
            }
        };
        select.set(k, &value)?;
    }
    checked(select, recipe)
}

/// Whether `text` matches `pattern`, where `*` is any text and `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Greedy match with backtracking to the last `*` (linear in practice).
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}
