//! Private text generation: a decoder export compiled into one step program over a
//! fixed-capacity, secret-shared key/value cache, and the client-side loop that runs it.
//!
//! **The step program.** `mpcc compile --generate --max-seq-len L` compiles the export at
//! one token per step. With a KV-cache export (`text-generation-with-past`: inputs
//! `past_key_values.{i}.key/value` `[1, kv_heads, past, head_dim]`, outputs `present.*`) the
//! past is fixed at `L - 1` slots, *right-aligned*: after `t` tokens the cache's last `t`
//! slots hold them and the attention mask (`[1, L]`, the client's input) zeroes the empty
//! slots on the left, exactly as the export masks left padding. Each step feeds one token at
//! its true position (`position_ids`), and the program keeps
//! `present[:, :, 1:, :]` (the oldest slot, always an empty one while the cache has room,
//! dropped) as the next step's past: an output to no party, whose shares every party keeps
//! ([`mpcc_ir::InputEncoding::State`]); nothing of the cache is ever revealed or re-shared.
//! A no-cache export (`text-generation`) is compiled at `[1, L]` over a right-aligned window
//! of the tokens so far: each step recomputes the window, and the prompt is one step.
//!
//! **The token.** By default the program ends in a secure argmax over the last position's
//! logits: the max by a comparison tree, the bits `[x_i >= max]`, and their dot products with
//! `(i)` and `(1)` (local): the client learns the id and the number of ids at the maximum
//! (one, except for an exact fixed-point tie, which it reports instead of guessing). With
//! `--reveal logits` the client learns the last position's logits instead and picks.
//! Either way the client learns a function of its own prompt's prefixes, which it could ask
//! for with shorter prompts; the predictions at prompt positions (prefill steps of the cache
//! design) therefore reveal nothing the functionality does not.

use crate::frontend::{CompileError, DeclaredInput};
use mpcc_ir::{Graph, Op, PartyId, ValueType, Vis, CLIENT, MODEL_OWNER};
use mpcc_runtime::share::{AShare, Val};
use mpcc_runtime::{HostTensor, PartyData};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Name of the revealed output of a token-revealing plan: `[1, 2]`, the id and the number of
/// ids at the maximum.
pub const NEXT_TOKEN: &str = "next_token";
/// Name of the revealed output of a logits-revealing plan: `[1, 1, vocab]`.
pub const LOGITS: &str = "logits";
/// Prefix of the state that holds a secret weight's shares: the owner shares each weight
/// once per generation ([`setup_plan`]), not once per step.
pub const WEIGHT_STATE: &str = "weight:";

/// What a generation step reveals to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reveal {
    /// The next token's id (a secure argmax): nothing of the logits.
    Token,
    /// The last position's logits; the client picks the token.
    Logits,
}

/// The generation facts of a plan, kept in its client file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateInfo {
    /// Tokens a generation may feed: the prompt plus all new tokens but the last.
    pub capacity: usize,
    /// The export has a KV cache (one token per step), else a window recomputed each step.
    pub with_past: bool,
    /// What each step reveals.
    pub reveal: Reveal,
    /// Vocabulary size.
    pub vocab: usize,
    /// End-of-sequence id, when the export's config names one.
    pub eos_token_id: Option<i64>,
    /// Names of the cache tensors (state inputs and kept outputs).
    pub cache: Vec<String>,
    /// The text inputs the plan declares.
    pub inputs: Vec<String>,
}

fn is_past(name: &str) -> bool {
    name.starts_with("past_key_values.")
}

/// Input shapes by name.
pub type Shapes = Vec<(String, Vec<usize>)>;

/// The input shapes a generation plan compiles at, for capacity `capacity`, and whether the
/// export has a KV cache.
pub fn shapes(inputs: &[DeclaredInput], capacity: usize) -> anyhow::Result<(Shapes, bool)> {
    if capacity < 2 {
        anyhow::bail!("--max-seq-len must be at least 2 (the prompt and one new token)");
    }
    if !inputs.iter().any(|i| i.name == "input_ids") {
        anyhow::bail!(
            "--generate needs a decoder export with an input_ids input; this model's inputs: {}",
            inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let with_past = inputs.iter().any(|i| is_past(&i.name));
    let mut out = Vec::new();
    for i in inputs {
        let shape = match i.name.as_str() {
            "input_ids" | "position_ids" if with_past => vec![1, 1],
            "input_ids" | "position_ids" | "attention_mask" => vec![1, capacity],
            name if is_past(name) => {
                let fixed = |k: usize| i.dims.get(k).and_then(|d| d.clone().ok());
                match (i.dims.len(), fixed(1), fixed(3)) {
                    (4, Some(heads), Some(dim)) => vec![1, heads, capacity - 1, dim],
                    _ => anyhow::bail!(
                        "cache input '{name}' is not [batch, kv_heads, past, head_dim] with \
                         fixed heads and head_dim ({:?})",
                        i.dims
                    ),
                }
            }
            name => anyhow::bail!(
                "--generate knows the inputs input_ids, attention_mask, position_ids and \
                 past_key_values.*; this export also has '{name}'"
            ),
        };
        out.push((i.name.clone(), shape));
    }
    Ok((out, with_past))
}

/// Rewrites a lowered decoder graph into the step program: cache inputs become state,
/// `present.*` outputs become the kept next past (oldest slot dropped), the logits output
/// becomes the secure argmax of the last position (or that position's logits), and every
/// secret weight becomes state `weight:NAME` that [`setup_plan`] shares once.
/// Returns the vocabulary size and the cache names.
pub fn rewrite(
    graph: &mut Graph,
    with_past: bool,
    reveal: Reveal,
) -> Result<(usize, Vec<String>), CompileError> {
    let bad = CompileError::Generation;
    let nodes = std::mem::take(&mut graph.nodes);
    let mut cache = Vec::new();
    let mut vocab = None;
    for node in nodes {
        let mut node = node;
        if let Op::Weight { name } = &node.op {
            if graph.ty(node.output).vis.is_secret() {
                node.op = Op::Input {
                    name: format!("{WEIGHT_STATE}{name}"),
                    owner: MODEL_OWNER,
                    encoding: mpcc_ir::InputEncoding::State,
                };
                graph.nodes.push(node);
                continue;
            }
        }
        if let Op::Input { name, encoding, .. } = &mut node.op {
            if with_past && is_past(name) {
                *encoding = mpcc_ir::InputEncoding::State;
                cache.push(name.clone());
                graph.nodes.push(node);
                continue;
            }
        }
        let Op::Output { name, .. } = &node.op else {
            graph.nodes.push(node);
            continue;
        };
        let x = node.inputs[0];
        let origin = node.origin.clone();
        let shape = graph.ty(x).shape.clone();
        if let Some(rest) = name.strip_prefix("present.") {
            if !with_past {
                return Err(bad(format!("output '{name}' without cache inputs")));
            }
            let [_, _, len, _] = shape[..] else {
                return Err(bad(format!(
                    "cache output '{name}' is not rank 4: {shape:?}"
                )));
            };
            let next = typed(
                graph,
                Op::Slice {
                    axis: 2,
                    start: 1,
                    end: len,
                    step: 1,
                },
                &[x],
                None,
                &origin,
            )?;
            let ty = graph.ty(next).clone();
            graph.add(
                Op::Output {
                    name: format!("past_key_values.{rest}"),
                    to: Vec::new(),
                },
                &[next],
                ty,
                &origin,
            );
        } else if name == "logits" {
            let [b, s, v] = shape[..] else {
                return Err(bad(format!(
                    "logits are not [batch, seq, vocab]: {shape:?}"
                )));
            };
            vocab = Some(v);
            let last = typed(
                graph,
                Op::Slice {
                    axis: 1,
                    start: s - 1,
                    end: s,
                    step: 1,
                },
                &[x],
                None,
                &origin,
            )?;
            match reveal {
                Reveal::Logits => {
                    let ty = graph.ty(last).clone();
                    graph.add(output(LOGITS, CLIENT), &[last], ty, &origin);
                }
                Reveal::Token => {
                    let id = argmax(graph, last, b, v, &origin)?;
                    let ty = graph.ty(id).clone();
                    graph.add(output(NEXT_TOKEN, CLIENT), &[id], ty, &origin);
                }
            }
        } else {
            return Err(bad(format!(
                "--generate keeps logits and present.* outputs; this export also has '{name}'"
            )));
        }
    }
    let vocab = vocab.ok_or_else(|| bad("the export has no logits output".into()))?;
    graph.verify(true)?;
    Ok((vocab, cache))
}

fn output(name: &str, to: PartyId) -> Op {
    Op::Output {
        name: name.into(),
        to: vec![to],
    }
}

fn typed(
    graph: &mut Graph,
    op: Op,
    inputs: &[mpcc_ir::ValueId],
    shape: Option<&[usize]>,
    origin: &str,
) -> Result<mpcc_ir::ValueId, CompileError> {
    graph
        .add_typed(op, inputs, shape, origin)
        .map_err(|e| CompileError::bug(format!("generation rewrite: {}", e.0)))
}

/// `[b, 2]`: per row the index of the maximum of `x` (`[b, 1, v]`) and how many entries
/// reach it, from the max tree, one comparison per entry and a public matmul.
fn argmax(
    graph: &mut Graph,
    x: mpcc_ir::ValueId,
    b: usize,
    v: usize,
    origin: &str,
) -> Result<mpcc_ir::ValueId, CompileError> {
    let m = typed(graph, Op::MaxAxis { axis: 2 }, &[x], None, origin)?;
    let d = typed(graph, Op::Sub, &[x, m], None, origin)?;
    let bits = typed(
        graph,
        Op::Ge {
            thresholds: vec![0.0],
        },
        &[d],
        None,
        origin,
    )?;
    let flat = typed(graph, Op::Reshape, &[bits], Some(&[b, v]), origin)?;
    let ring = graph.ty(flat).ring;
    let mut table = Vec::with_capacity(2 * v);
    for i in 0..v {
        table.extend([i as f64, 1.0]);
    }
    let t = graph.add(
        Op::Const { values: table },
        &[],
        ValueType::new(&[v, 2], ring, 0, Vis::Public),
        origin,
    );
    typed(graph, Op::MatMul, &[flat, t], None, origin)
}

/// The set-up program of a generation plan: the owner shares every secret weight the step
/// program reads as state (`weight:NAME`), once per generation. It is derived from the step
/// plan alone (names, shapes and scales of its weight state), so every party builds the same
/// program; its digest follows from the step plan's.
pub fn setup_plan(step: &mpcc_ir::plan::Plan) -> Result<mpcc_ir::plan::Plan, mpcc_ir::PlanError> {
    let mut g = Graph::new(step.graph().frac_bits);
    for s in &step.body.state {
        let Some(name) = s.name.strip_prefix(WEIGHT_STATE) else {
            continue;
        };
        let ty = step.graph().ty(s.slot).clone();
        let w = g.add(Op::Weight { name: name.into() }, &[], ty.clone(), name);
        g.add(
            Op::Output {
                name: s.name.clone(),
                to: Vec::new(),
            },
            &[w],
            ty,
            name,
        );
    }
    mpcc_ir::plan::Plan::from_graph(g)
}

/// The weights file's tensors for a generation plan: those its set-up program shares and
/// those its step program reads in public, bound to the step plan's digest.
pub fn bind_weights(
    step: &mpcc_ir::plan::Plan,
    mut weights: mpcc_ir::Weights,
) -> Result<mpcc_ir::Weights, CompileError> {
    let setup = setup_plan(step)?;
    let mut kept = Vec::new();
    for decl in step.body.weights.iter().chain(&setup.body.weights) {
        let t = weights.get(&decl.name).ok_or_else(|| {
            CompileError::bug(format!(
                "the generation plan reads weight '{}' that the front end did not produce",
                decl.name
            ))
        })?;
        if t.shape != decl.shape {
            return Err(CompileError::bug(format!(
                "weight '{}' has shape {:?}, the plan reads {:?}",
                decl.name, t.shape, decl.shape
            )));
        }
        kept.push(t.clone());
    }
    weights.tensors = kept;
    weights.plan_digest = step.header.digest;
    Ok(weights)
}

/// One step's result, as the client sees it.
#[derive(Clone, Debug)]
pub struct Step {
    /// The predicted next token (-1 for the set-up).
    pub token: i64,
    /// The last position's logits (a logits-revealing plan only).
    pub logits: Option<Vec<f64>>,
    /// Measured rounds.
    pub rounds: u64,
    /// Measured bytes sent: all parties in one process, this party's in `mpcc party`.
    pub bytes: u64,
    /// Wall time.
    pub wall_s: f64,
}

/// The client's side of the inputs: the tokens so far, and each step's input_ids,
/// position_ids and attention_mask from them (public facts of the client's own prompt).
#[derive(Clone, Debug)]
pub struct Feeder {
    info: GenerateInfo,
    window: Vec<i64>,
}

impl Feeder {
    /// No tokens yet.
    pub fn new(info: GenerateInfo) -> Feeder {
        Feeder {
            info,
            window: Vec::new(),
        }
    }

    /// Tokens fed so far.
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// True before the first token.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The inputs of each step that feeds `tokens`: one step per token with a KV cache, one
    /// step for all of them without.
    pub fn push(&mut self, tokens: &[i64]) -> anyhow::Result<Vec<HashMap<String, HostTensor>>> {
        if let Some(t) = tokens
            .iter()
            .find(|t| **t < 0 || **t as usize >= self.info.vocab)
        {
            anyhow::bail!(
                "token id {t} is outside the vocabulary 0..{}",
                self.info.vocab
            );
        }
        if self.window.len() + tokens.len() > self.info.capacity {
            anyhow::bail!(
                "the plan's capacity of {} tokens is full (compiled with --max-seq-len {})",
                self.info.capacity,
                self.info.capacity
            );
        }
        if !self.info.with_past {
            self.window.extend(tokens);
            return Ok(vec![self.window_inputs()]);
        }
        let l = self.info.capacity;
        let mut steps = Vec::new();
        for &token in tokens {
            let pos = self.window.len();
            self.window.push(token);
            let mut mask = vec![0.0; l];
            mask[l - 1 - pos..].iter_mut().for_each(|m| *m = 1.0);
            let one = |v: f64| HostTensor {
                shape: vec![1, 1],
                data: vec![v],
            };
            let mut inputs = HashMap::new();
            inputs.insert("input_ids".to_string(), one(token as f64));
            inputs.insert("position_ids".to_string(), one(pos as f64));
            inputs.insert(
                "attention_mask".to_string(),
                HostTensor {
                    shape: vec![1, l],
                    data: mask,
                },
            );
            steps.push(inputs);
        }
        Ok(steps)
    }

    /// The no-cache step: the window right-aligned in `[1, L]`, left-padded with id 0 and
    /// masked, positions counted from the first real token.
    fn window_inputs(&self) -> HashMap<String, HostTensor> {
        let l = self.info.capacity;
        let pad = l - self.window.len();
        let mut ids = vec![0.0; l];
        let mut mask = vec![0.0; l];
        let mut pos = vec![1.0; l];
        for (j, t) in self.window.iter().enumerate() {
            ids[pad + j] = *t as f64;
            mask[pad + j] = 1.0;
            pos[pad + j] = j as f64;
        }
        let row = |data: Vec<f64>| HostTensor {
            shape: vec![1, l],
            data,
        };
        let mut inputs = HashMap::new();
        inputs.insert("input_ids".to_string(), row(ids));
        inputs.insert("attention_mask".to_string(), row(mask));
        inputs.insert("position_ids".to_string(), row(pos));
        inputs
    }
}

/// The token (and logits) a step revealed to the client.
pub fn answer(
    info: &GenerateInfo,
    outputs: &std::collections::BTreeMap<String, HostTensor>,
) -> anyhow::Result<(i64, Option<Vec<f64>>)> {
    match info.reveal {
        Reveal::Token => {
            let t = outputs
                .get(NEXT_TOKEN)
                .ok_or_else(|| anyhow::anyhow!("the step revealed no {NEXT_TOKEN}"))?;
            let (id, count) = (t.data[0].round(), t.data[1].round());
            if count != 1.0 {
                anyhow::bail!(
                    "{count} tokens tie for the maximum at this step (their ids sum to {id}); \
                     the secure argmax cannot pick one: compile with --reveal logits to choose \
                     in the clear"
                );
            }
            Ok((id as i64, None))
        }
        Reveal::Logits => {
            let t = outputs
                .get(LOGITS)
                .ok_or_else(|| anyhow::anyhow!("the step revealed no {LOGITS}"))?;
            let best = (0..t.data.len())
                .max_by(|a, b| t.data[*a].total_cmp(&t.data[*b]).then(b.cmp(a)))
                .unwrap_or(0);
            Ok((best as i64, Some(t.data.clone())))
        }
    }
}

/// Checks that a prompt of `prompt` tokens and `new` new tokens fit the capacity.
pub fn check_fits(info: &GenerateInfo, prompt: usize, new: usize) -> anyhow::Result<()> {
    if prompt == 0 {
        anyhow::bail!("the prompt is empty: give at least one token");
    }
    let need = prompt + new.max(1) - 1;
    if need > info.capacity {
        anyhow::bail!(
            "a prompt of {prompt} tokens and {new} new tokens feed {need} tokens; this plan \
             holds {} (compiled with --max-seq-len {}): shorten the prompt, ask for fewer \
             tokens, or recompile with a larger --max-seq-len",
            info.capacity,
            info.capacity
        );
    }
    Ok(())
}

/// Each party's starting state: shares of an empty cache (zeros, which every party makes
/// alone; the weights' shares come from the set-up).
fn empty_cache(plan: &mpcc_ir::plan::Plan) -> HashMap<String, Arc<Val>> {
    plan.body
        .state
        .iter()
        .filter(|s| !s.name.starts_with(WEIGHT_STATE))
        .map(|s| {
            let n: usize = s.shape.iter().product();
            let z = AShare {
                a: vec![0; n],
                b: vec![0; n],
            };
            (s.name.clone(), Arc::new(Val::Sec(z)))
        })
        .collect()
}

/// A generation in progress with the three parties in this process: each party's cache and
/// weight shares between steps, and the client's tokens.
pub struct Session<'p> {
    plan: &'p mpcc_ir::plan::Plan,
    weights: Option<Arc<mpcc_ir::Weights>>,
    info: GenerateInfo,
    state: [HashMap<String, Arc<Val>>; 3],
    feeder: Feeder,
    opts: mpcc_runtime::RunOptions,
    setup: Option<Step>,
}

impl<'p> Session<'p> {
    /// A fresh generation.
    pub fn new(
        plan: &'p mpcc_ir::plan::Plan,
        weights: Option<Arc<mpcc_ir::Weights>>,
        info: GenerateInfo,
    ) -> Session<'p> {
        let zero = empty_cache(plan);
        Session {
            plan,
            weights,
            feeder: Feeder::new(info.clone()),
            info,
            state: [zero.clone(), zero.clone(), zero],
            opts: mpcc_runtime::RunOptions::default(),
            setup: None,
        }
    }

    /// Tokens fed so far.
    pub fn len(&self) -> usize {
        self.feeder.len()
    }

    /// True before the first token.
    pub fn is_empty(&self) -> bool {
        self.feeder.is_empty()
    }

    /// Runs the set-up program once (the owner shares the weights); its cost, once run.
    pub fn setup(&mut self) -> anyhow::Result<&Step> {
        if self.setup.is_none() {
            let setup = setup_plan(self.plan)?;
            let data = mpcc_runtime::party_data(&setup, &HashMap::new(), self.weights.clone());
            let r = mpcc_runtime::run_local(&setup, data, &self.opts)?;
            let (rounds, bytes) = r.totals();
            for (s, kept) in self.state.iter_mut().zip(r.state) {
                s.extend(kept.into_iter().map(|(k, v)| (k, Arc::new(v))));
            }
            self.setup = Some(Step {
                token: -1,
                logits: None,
                rounds,
                bytes,
                wall_s: r.wall.as_secs_f64(),
            });
        }
        Ok(self.setup.as_ref().expect("set up above"))
    }

    /// Feeds the prompt; returns each step's prediction, the last one being the token after
    /// the prompt (with a KV cache one step per prompt token, without one step).
    pub fn prefill(&mut self, prompt: &[i64]) -> anyhow::Result<Vec<Step>> {
        let steps = self.feeder.push(prompt)?;
        steps.into_iter().map(|i| self.run(i)).collect()
    }

    /// Feeds one token; returns the prediction for the position after it.
    pub fn feed(&mut self, token: i64) -> anyhow::Result<Step> {
        let mut steps = self.feeder.push(&[token])?;
        let inputs = steps.pop().expect("one step per token");
        self.run(inputs)
    }

    fn run(&mut self, mut inputs: HashMap<String, HostTensor>) -> anyhow::Result<Step> {
        self.setup()?;
        inputs.retain(|k, _| self.plan.body.inputs.iter().any(|d| &d.name == k));
        let mut data: [PartyData; 3] =
            mpcc_runtime::party_data(self.plan, &inputs, self.weights.clone());
        for (d, s) in data.iter_mut().zip(self.state.iter()) {
            d.state = s.clone();
        }
        let r = mpcc_runtime::run_local(self.plan, data, &self.opts)?;
        let (rounds, bytes) = r.totals();
        // The new cache replaces the old; the weights' shares stay.
        for (s, kept) in self.state.iter_mut().zip(r.state) {
            s.extend(kept.into_iter().map(|(k, v)| (k, Arc::new(v))));
        }
        let (token, logits) = answer(&self.info, &r.outputs)?;
        Ok(Step {
            token,
            logits,
            rounds,
            bytes,
            wall_s: r.wall.as_secs_f64(),
        })
    }
}

/// What the client asks of a networked generation.
#[derive(Clone, Debug)]
pub struct ClientAsk {
    /// The prompt's token ids.
    pub prompt: Vec<i64>,
    /// New tokens at most.
    pub max_new: usize,
    /// Stop at this id.
    pub stop_at: Option<i64>,
}

/// What a networked party ends a generation with (the client's steps and tokens; the other
/// parties' step costs, their tokens empty).
#[derive(Clone, Debug, Default)]
pub struct PartyGeneration {
    /// New token ids (the client only).
    pub new_ids: Vec<i64>,
    /// The set-up's cost at this party.
    pub setup: Option<Step>,
    /// Each step's cost at this party, with the client's token and logits.
    pub steps: Vec<Step>,
    /// Each step's kind: `prefill` or `decode`.
    pub kinds: Vec<&'static str>,
}

/// Control words the client sends the two other parties before each step.
const GO: u8 = 1;
const STOP: u8 = 0;

/// One party's side of a networked generation on an established context: the set-up (the
/// owner shares the weights), then steps until the client says stop. The client (`ask`
/// given) decides each step and sends the others one control byte before it (counted like
/// every byte; it reveals only when the generation ends, which the others see anyway); the
/// model owner brings the weights; the helper nothing.
pub fn party_generation(
    plan: &mpcc_ir::plan::Plan,
    ctx: &mut mpcc_runtime::ctx::Ctx,
    weights: Option<Arc<mpcc_ir::Weights>>,
    info: &GenerateInfo,
    ask: Option<&ClientAsk>,
) -> Result<PartyGeneration, mpcc_runtime::RtError> {
    use mpcc_runtime::vm::run_party;
    let rt = |e: anyhow::Error| mpcc_runtime::RtError::Input(format!("{e:#}"));
    let cost = |r: &mpcc_runtime::vm::PartyResult, t0: std::time::Instant| {
        let (rounds, bytes) = r.profile.iter().fold((0, 0), |(a, b), p| {
            (a + p.stats.rounds, b + p.stats.bytes_sent)
        });
        (rounds, bytes, t0.elapsed().as_secs_f64())
    };
    let setup = setup_plan(plan).map_err(|e| mpcc_runtime::RtError::Internal(e.to_string()))?;
    let t0 = std::time::Instant::now();
    let data = PartyData {
        weights: weights.clone(),
        ..PartyData::default()
    };
    let r = run_party(&setup, ctx, &data, None)?;
    let (rounds, bytes, wall_s) = cost(&r, t0);
    let mut state = empty_cache(plan);
    state.extend(r.state.into_iter().map(|(k, v)| (k, Arc::new(v))));
    let mut out = PartyGeneration {
        setup: Some(Step {
            token: -1,
            logits: None,
            rounds,
            bytes,
            wall_s,
        }),
        ..PartyGeneration::default()
    };
    let mut feeder = Feeder::new(info.clone());
    // The client's queue of step inputs, and whether the next step predicts a new token.
    let mut queue: Vec<HashMap<String, HostTensor>> = Vec::new();
    if let Some(a) = ask {
        check_fits(info, a.prompt.len(), a.max_new).map_err(rt)?;
        queue = feeder.push(&a.prompt).map_err(rt)?;
        queue.reverse();
    }
    let mut prefill_left = queue.len();
    loop {
        let go = match ask {
            Some(_) => {
                let word = if queue.is_empty() { STOP } else { GO };
                let others: Vec<(mpcc_ir::PartyId, &[u8])> = [0u8, 2]
                    .iter()
                    .map(|p| (*p, std::slice::from_ref(&word)))
                    .collect();
                ctx.exchange_any(&others, &[])?;
                word == GO
            }
            None => {
                let got = ctx.exchange_any(&[], &[mpcc_ir::CLIENT])?;
                got.first().and_then(|m| m.first()).copied() == Some(GO)
            }
        };
        if !go {
            break;
        }
        let t0 = std::time::Instant::now();
        let inputs = queue.pop().unwrap_or_default();
        let data = PartyData {
            inputs: inputs
                .into_iter()
                .filter(|(k, _)| plan.body.inputs.iter().any(|d| &d.name == k))
                .collect(),
            weights: weights.clone(),
            state: state.clone(),
        };
        let mut r = run_party(plan, ctx, &data, None)?;
        let (rounds, bytes, wall_s) = cost(&r, t0);
        // The new cache moves in; no copy of it per step.
        let kept = std::mem::take(&mut r.state);
        state.extend(kept.into_iter().map(|(k, v)| (k, Arc::new(v))));
        let (token, logits) = match ask {
            Some(_) => answer(info, &r.outputs).map_err(rt)?,
            None => (-1, None),
        };
        out.steps.push(Step {
            token,
            logits,
            rounds,
            bytes,
            wall_s,
        });
        let kind = if prefill_left > 0 {
            prefill_left -= 1;
            "prefill"
        } else {
            "decode"
        };
        out.kinds.push(kind);
        if let (Some(a), 0) = (ask, prefill_left) {
            out.new_ids.push(token);
            let done = out.new_ids.len() >= a.max_new || a.stop_at == Some(token);
            if !done {
                queue = feeder.push(&[token]).map_err(rt)?;
            }
        }
    }
    Ok(out)
}
