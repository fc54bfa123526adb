//! `mpcc generate`: private text generation with a plan from `mpcc compile --generate`, the
//! three parties in this process. The prompt and each token stay the client's; the weights
//! stay the owner's; the key/value cache stays secret-shared between steps.

use crate::backend;
use crate::generate::{GenerateInfo, Session, Step};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Generate text from a prompt with a generation plan (`mpcc compile --generate`).
///
/// Prints each new token as it is produced, with the rounds and bytes of its step, and
/// writes DIR/tokens.json: {"prompt_ids", "new_ids", "text", "steps": [{"rounds",
/// "bytes_sent", "wall_s"}, ...]} (with a `--reveal logits` plan each step also holds
/// "logits", the last position's). With a KV-cache plan the prompt takes one step per token
/// and steps[] lists the prompt's steps first ("kind": "prefill"), then one per new token
/// ("kind": "decode"). "setup" holds the cost of sharing the weights, once per generation.
///
/// Examples:
///   mpcc compile out/ -o chat.plan --generate --max-seq-len 32
///   mpcc generate chat.plan --prompt "The capital of France is" --max-new-tokens 8 \
///       --stop-at-eos --output-dir answer/
///   mpcc compile smollm2/model_with_past.onnx -o smol.plan --generate --max-seq-len 20
///   mpcc generate smol.plan --prompt "The capital of France is" \
///       --tokenizer smollm2/tokenizer.json --max-new-tokens 8 --output-dir answer/
///   mpcc generate gpt2.plan --prompt-ids prompt.npy --max-new-tokens 16 --output-dir out/
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The generation plan written by `mpcc compile --generate`.
    pub plan: PathBuf,

    /// The prompt, tokenized with the plan's tokenizer (PLAN.tokenizer.json, copied from the
    /// export folder) or --tokenizer.
    #[arg(
        long,
        value_name = "TEXT",
        conflicts_with = "prompt_ids",
        required_unless_present = "prompt_ids"
    )]
    pub prompt: Option<String>,

    /// The prompt as token ids: a one-dimensional (or [1, n]) int64 .npy file.
    #[arg(long, value_name = "FILE.npy")]
    pub prompt_ids: Option<PathBuf>,

    /// A Hugging Face tokenizer.json (default: PLAN.tokenizer.json).
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// How many tokens to generate.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_new_tokens: usize,

    /// Stop at the export's end-of-sequence token (config.json's eos_token_id).
    #[arg(long)]
    pub stop_at_eos: bool,

    /// Directory for tokens.json (created if needed).
    #[arg(long, value_name = "DIR")]
    pub output_dir: PathBuf,

    /// The weights file (default: the plan's path with extension .weights).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
}

/// Runs `mpcc generate`.
pub fn main(args: Args) -> anyhow::Result<()> {
    let plan = backend::load_plan(&args.plan)?;
    let cpath = crate::client::client_path(&args.plan);
    let client = crate::client::ClientInfo::load(&cpath).with_context(|| {
        format!(
            "'{}' has no generation client file; compile it with `mpcc compile MODEL --generate \
             --max-seq-len L`",
            args.plan.display()
        )
    })?;
    let Some(info) = client.generate.clone() else {
        anyhow::bail!(
            "'{}' is not a generation plan; compile the decoder with `mpcc compile MODEL \
             --generate --max-seq-len L`",
            args.plan.display()
        );
    };
    let tokenizer = load_tokenizer(&args.plan, &client, args.tokenizer.as_deref())?;
    let prompt = read_prompt(
        args.prompt.as_deref(),
        args.prompt_ids.as_deref(),
        tokenizer.as_ref(),
        &info,
    )?;
    crate::generate::check_fits(&info, prompt.len(), args.max_new_tokens)?;
    let out_path = args.output_dir.join("tokens.json");
    std::fs::create_dir_all(&args.output_dir).with_context(|| {
        format!(
            "cannot create the output directory '{}'",
            args.output_dir.display()
        )
    })?;
    let wpath = args
        .weights
        .clone()
        .unwrap_or_else(|| backend::weights_path(&args.plan));
    let weights = backend::load_weights(&wpath, &plan)?.map(Arc::new);
    let decode = |ids: &[i64]| -> String {
        match &tokenizer {
            Some(t) => {
                let ids: Vec<u32> = ids.iter().map(|x| *x as u32).collect();
                t.decode(&ids, true).unwrap_or_default()
            }
            None => String::new(),
        }
    };
    outln!(
        "prompt: {} tokens; generating up to {} ({}, capacity {})",
        prompt.len(),
        args.max_new_tokens,
        if info.with_past {
            "secret-shared key/value cache"
        } else {
            "window recomputed each step"
        },
        info.capacity
    );
    let g = generate(&plan, weights, &info, &prompt, &args, |i, s, id| {
        let piece = match &tokenizer {
            Some(_) => format!(" {:?}", decode(&[id])),
            None => String::new(),
        };
        outln!(
            "token {:>3}: {id:>6}{piece}  ({} rounds, {}, {:.3} s)",
            i + 1,
            s.rounds,
            crate::cli::compile::human_bytes(s.bytes),
            s.wall_s
        );
    })?;
    let (new, steps) = (&g.new_ids, &g.steps);
    let setup = g.setup.clone().expect("generate runs the set-up");
    let text = decode(new);
    if tokenizer.is_some() {
        outln!("text: {text:?}");
    }
    write_tokens(&out_path, &prompt, new, &text, &setup, steps, &g.kinds)?;
    let (r, b) = steps
        .iter()
        .fold((0, 0), |(r, b), s| (r + s.rounds, b + s.bytes));
    outln!(
        "{} new tokens in {} steps: {r} rounds, {} sent (all parties); written to {}",
        new.len(),
        steps.len(),
        crate::cli::compile::human_bytes(b),
        out_path.display()
    );
    Ok(())
}

/// The generation loop: the prompt's steps, then one step per new token, stopping at the
/// end-of-sequence token when asked. `on_token(i, step, id)` is called for each new token.
/// Returns the new ids, every step with its kind (`prefill` or `decode`), and the set-up
/// (the owner sharing the weights once).
pub fn generate(
    plan: &mpcc_ir::plan::Plan,
    weights: Option<Arc<mpcc_ir::Weights>>,
    info: &GenerateInfo,
    prompt: &[i64],
    args: &Args,
    mut on_token: impl FnMut(usize, &Step, i64),
) -> anyhow::Result<crate::generate::PartyGeneration> {
    let mut session = Session::new(plan, weights, info.clone());
    let setup = session.setup()?.clone();
    outln!(
        "set-up: the model owner shared the weights once ({} rounds, {}, {:.3} s)",
        setup.rounds,
        crate::cli::compile::human_bytes(setup.bytes),
        setup.wall_s
    );
    let mut steps = session.prefill(prompt)?;
    let mut kinds = vec!["prefill"; steps.len()];
    let mut new = Vec::new();
    let mut next = steps.last().map(|s| s.token).unwrap_or_default();
    for i in 0..args.max_new_tokens {
        new.push(next);
        if let Some(s) = steps.last() {
            on_token(i, s, next);
        }
        let eos = args.stop_at_eos && info.eos_token_id == Some(next);
        if eos || i + 1 == args.max_new_tokens {
            break;
        }
        let s = session.feed(next)?;
        next = s.token;
        steps.push(s);
        kinds.push("decode");
    }
    Ok(crate::generate::PartyGeneration {
        new_ids: new,
        setup: Some(setup),
        steps,
        kinds,
    })
}

/// The tokenizer: `--tokenizer`, else the one `mpcc compile` copied beside the plan.
pub fn load_tokenizer(
    plan: &Path,
    client: &crate::client::ClientInfo,
    flag: Option<&Path>,
) -> anyhow::Result<Option<tokenizers::Tokenizer>> {
    let path = match (flag, &client.tokenizer) {
        (Some(t), _) => Some(t.to_path_buf()),
        (None, Some(name)) => Some(plan.with_file_name(name)),
        (None, None) => None,
    };
    path.map(|p| {
        crate::io::read_tokenizer(&p).map_err(|e| {
            anyhow::anyhow!(
                "'{}' is not a Hugging Face tokenizer.json: {e}",
                p.display()
            )
        })
    })
    .transpose()
}

/// The prompt's token ids, from text (with the tokenizer) or from a `.npy` file, checked
/// against the vocabulary.
pub fn read_prompt(
    text: Option<&str>,
    ids: Option<&Path>,
    tokenizer: Option<&tokenizers::Tokenizer>,
    info: &GenerateInfo,
) -> anyhow::Result<Vec<i64>> {
    let prompt: Vec<i64> = match (text, ids) {
        (Some(text), _) => {
            let tok = tokenizer.ok_or_else(|| {
                anyhow::anyhow!(
                    "--prompt needs a tokenizer: pass --tokenizer FILE, or compile the export \
                     folder, which copies its tokenizer.json beside the plan; or give \
                     --prompt-ids"
                )
            })?;
            let enc = tok
                .encode(text, false)
                .map_err(|e| anyhow::anyhow!("cannot tokenize the prompt: {e}"))?;
            enc.get_ids().iter().map(|x| *x as i64).collect()
        }
        (None, Some(path)) => {
            let t = crate::io::read_npy(path)?;
            let shape = &t.tensor.shape;
            if shape.len() > 2 || (shape.len() == 2 && shape[0] != 1) {
                anyhow::bail!(
                    "'{}' has shape {shape:?}; --prompt-ids takes [n] or [1, n] token ids",
                    path.display()
                );
            }
            if t.tensor.data.iter().any(|x| x.fract() != 0.0) {
                anyhow::bail!("'{}' holds non-integer token ids", path.display());
            }
            t.tensor.data.iter().map(|x| *x as i64).collect()
        }
        (None, None) => anyhow::bail!("give the prompt with --prompt TEXT or --prompt-ids FILE"),
    };
    if let Some(bad) = prompt
        .iter()
        .find(|t| **t < 0 || **t as usize >= info.vocab)
    {
        anyhow::bail!(
            "prompt token id {bad} is outside the vocabulary 0..{}",
            info.vocab
        );
    }
    Ok(prompt)
}

/// Writes tokens.json.
pub fn write_tokens(
    path: &Path,
    prompt: &[i64],
    new: &[i64],
    text: &str,
    setup: &Step,
    steps: &[Step],
    kinds: &[&str],
) -> anyhow::Result<()> {
    let json_steps: Vec<serde_json::Value> = steps
        .iter()
        .zip(kinds)
        .map(|(s, kind)| {
            let mut v = serde_json::json!({
                "kind": kind,
                "token": s.token,
                "rounds": s.rounds,
                "bytes_sent": s.bytes,
                "wall_s": s.wall_s,
            });
            if let Some(l) = &s.logits {
                v["logits"] = serde_json::json!(l);
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "prompt_ids": prompt,
        "new_ids": new,
        "text": text,
        "setup": {"rounds": setup.rounds, "bytes_sent": setup.bytes, "wall_s": setup.wall_s},
        "steps": json_steps,
    });
    crate::io::write_file(path, serde_json::to_string_pretty(&doc)?.as_bytes())
        .with_context(|| format!("cannot write '{}'", path.display()))
}
