//! The pass context: what every pass reads instead of a global policy. It holds the base
//! recipes (a [`Policy`]), the per-node overrides ([`crate::select`]) and, when the caller
//! has one, a cost model.
//!
//! A lowering asks [`PassCtx::recipes_for`] for the recipes of the node it lowers: the
//! policy's, with every override that selects the node applied in order (a later one wins).
//! A per-head op asks [`PassCtx::recipes_per_head`] for one set per attention head.
//!
//! **Heads.** Hugging Face exports compute attention scores as `[batch, heads, seq, seq]` and
//! run the softmax over the last axis. So a softmax is per head when its input has rank 4
//! and it runs over axis 3; the head axis is then axis 1 ([`head_axis`]). No other op is per
//! head: a `head:` key that selects any other node is an error.

use crate::policy::Policy;
use crate::recipes::{RecipeKind, Recipes};
use crate::select::{Override, RecipeRef};
use crate::PassError;
use mpcc_ir::{Graph, Node, Op};
use std::cell::Cell;

/// What one node costs to run, as a cost model predicts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCost {
    /// Communication rounds.
    pub rounds: u64,
    /// Bytes sent, all parties together.
    pub bytes: u64,
}

/// A cost model the passes may consult to choose between recipes. The passes crate does not
/// depend on the runtime; the compiler implements this with `mpcc_runtime::node_cost`.
pub trait CostModel {
    /// The cost of `node` of `graph` (a kernel op; high-level ops have no cost).
    fn cost(&self, graph: &Graph, node: &Node) -> NodeCost;
}

/// The context a pass runs in.
pub struct PassCtx<'a> {
    policy: Policy,
    overrides: &'a [Override],
    /// How many nodes (or heads) each override gave a recipe to.
    hits: Vec<Cell<usize>>,
    cost: Option<&'a dyn CostModel>,
}

impl Default for PassCtx<'_> {
    fn default() -> Self {
        PassCtx::new(Policy::default())
    }
}

impl<'a> PassCtx<'a> {
    /// A context with `policy`'s recipes, no overrides and no cost model.
    pub fn new(policy: Policy) -> PassCtx<'a> {
        PassCtx {
            policy,
            overrides: &[],
            hits: Vec::new(),
            cost: None,
        }
    }

    /// The same context with `overrides` applied over the policy, in order.
    pub fn with_overrides(self, overrides: &'a [Override]) -> PassCtx<'a> {
        PassCtx {
            overrides,
            hits: vec![Cell::new(0); overrides.len()],
            ..self
        }
    }

    /// The same context with a cost model.
    pub fn with_cost_model(self, cost: &'a dyn CostModel) -> PassCtx<'a> {
        PassCtx {
            cost: Some(cost),
            ..self
        }
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The policy's recipes, before any override.
    pub fn base_recipes(&self) -> &'static Recipes {
        self.policy.recipes()
    }

    /// The cost model, if the caller gave one.
    pub fn cost_model(&self) -> Option<&'a dyn CostModel> {
        self.cost
    }

    /// The recipes for `node` of `graph` (the graph the pass reads): the policy's, with the
    /// overrides that select it applied. An override with a `head:` key that selects the
    /// node is an error, since the node is not lowered per head.
    pub fn recipes_for(&self, graph: &Graph, node: &Node) -> Result<Recipes, PassError> {
        self.resolve(graph, node, None)
    }

    /// The recipes for each of the `heads` heads of the per-head `node` ([`head_axis`]).
    /// An override without `head:` applies to every head; one with `head:` beyond the last
    /// head is an error.
    pub fn recipes_per_head(
        &self,
        graph: &Graph,
        node: &Node,
        heads: usize,
    ) -> Result<Vec<Recipes>, PassError> {
        for o in self.selecting(graph, node) {
            if let Some(h) = o.select.head.filter(|&h| h >= heads) {
                return Err(self.refuse(
                    o,
                    node,
                    format!("head {h} is out of range: it has {heads} heads (0..{heads})"),
                ));
            }
        }
        (0..heads)
            .map(|h| self.resolve(graph, node, Some(h)))
            .collect()
    }

    /// Fails on the first override that gave no node a recipe (call after the passes ran).
    pub fn check_overrides_used(&self) -> Result<(), PassError> {
        let unused = self
            .overrides
            .iter()
            .zip(&self.hits)
            .find(|(_, n)| n.get() == 0);
        let Some((o, _)) = unused else {
            return Ok(());
        };
        let hint = match o.recipe {
            RecipeRef::Recipe(r) => format!(
                "; recipe '{}' applies to {} nodes only",
                r.name,
                r.recipe.kind().op_name()
            ),
            RecipeRef::Policy(_) => String::new(),
        };
        Err(PassError::UnmatchedOverride {
            text: o.to_string(),
            hint,
        })
    }

    /// The overrides whose selector (all keys but `head`) matches `node`, with the recipe
    /// kind of the node.
    fn selecting<'s>(
        &'s self,
        graph: &'s Graph,
        node: &'s Node,
    ) -> impl Iterator<Item = &'a Override> + 's {
        let kind = RecipeKind::of(&node.op);
        self.overrides.iter().filter(move |o| {
            kind.is_some_and(|k| o.recipe.covers(k)) && o.select.matches(graph, node)
        })
    }

    fn resolve(
        &self,
        graph: &Graph,
        node: &Node,
        head: Option<usize>,
    ) -> Result<Recipes, PassError> {
        let mut r = *self.base_recipes();
        let Some(kind) = RecipeKind::of(&node.op) else {
            return Ok(r);
        };
        for (o, hits) in self.overrides.iter().zip(&self.hits) {
            if !o.select.matches(graph, node) || !o.recipe.covers(kind) {
                continue;
            }
            match (o.select.head, head) {
                (Some(_), None) => return Err(self.refuse(o, node, not_per_head(graph, node))),
                (Some(h), Some(cur)) if h != cur => continue,
                (Some(_), Some(_)) | (None, _) => {}
            }
            o.recipe.apply(kind, &mut r);
            hits.set(hits.get() + 1);
        }
        Ok(r)
    }

    fn refuse(&self, o: &Override, node: &Node, message: String) -> PassError {
        PassError::Override {
            text: o.to_string(),
            op: node.op.name(),
            origin: node.origin.clone(),
            message,
        }
    }
}

/// Why `head:` does not apply to `node`.
fn not_per_head(graph: &Graph, node: &Node) -> String {
    let what = if let (Op::Softmax { .. }, Some(&x)) = (&node.op, node.inputs.first()) {
        format!("a softmax with input shape {:?}", graph.ty(x).shape)
    } else {
        format!("a {}", node.op.name())
    };
    format!(
        "head: selects attention heads, and {what} is not per head (only a softmax over the \
         last axis of a rank-4 [batch, heads, seq, seq] input, or of a rank-3 [heads, seq, \
         seq] one, is; add op:Softmax to the selector to leave other ops out)"
    )
}

/// The head axis of a per-head node and its number of heads: axis 1 of a softmax over the
/// last axis of a rank-4 input (`[batch, heads, seq, seq]`), or axis 0 of a softmax over the
/// last axis of a rank-3 self-attention input (`[heads, seq, seq]`, square: the front end
/// drops a batch of 1, as tract does for vit-tiny at batch 1); `None` for any other node.
pub fn head_axis(graph: &Graph, node: &Node) -> Option<(usize, usize)> {
    let Op::Softmax { axis } = node.op else {
        return None;
    };
    let shape = &graph.ty(*node.inputs.first()?).shape;
    match shape.len() {
        4 if axis == 3 => Some((1, shape[1])),
        3 if axis == 2 && shape[1] == shape[2] => Some((0, shape[0])),
        _ => None,
    }
}
