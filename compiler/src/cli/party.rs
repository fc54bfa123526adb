//! `mpcc party`: run one party of a plan as its own process, over mutually authenticated TLS
//! links to the two other parties.

use crate::backend;
use crate::cli::compile::{human_bytes, party_name};
use crate::cli::memory::{self, Stage};
use crate::cli::paths::{check_distinct, output_path, run_outputs, Role};
use crate::cli::run::parse_input;
use crate::io;
use anyhow::{bail, Context};
use mpcc_ir::plan::Plan;
use mpcc_ir::{PartyId, MODEL_OWNER};
use mpcc_runtime::net::{bind, run_networked, LinkShape, NetConfig, NetRun, PartyKeys};
use mpcc_runtime::{HostTensor, PartyData};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Run one party of a plan as its own process, over TLS to the two other parties.
///
/// Party i listens on the i-th address of --peers and dials the parties before it. The
/// model owner (party 0) supplies only the weights, the client (party 1) only its inputs,
/// the helper (party 2) nothing; each party writes the outputs the plan reveals to it.
/// Links use TLS 1.3 with pinned certificates (make them with `mpcc keygen`), then a
/// handshake that checks the protocol version, the party id and the plan digest.
///
/// Examples (one line per machine):
///
///   mpcc party --id 0 --plan m.plan --weights m.weights --keys-dir keys/ \
///       --peers 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
///   mpcc party --id 1 --plan m.plan --input input_ids=ids.npy --output-dir out/ \
///       --keys-dir keys/ --peers 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
///   mpcc party --id 2 --plan m.plan --keys-dir keys/ \
///       --peers 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// This party: 0 = model owner, 1 = client, 2 = helper.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub id: u8,

    /// The plan written by `mpcc compile` (the same file at all three parties).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// The three parties' addresses, HOST:PORT,HOST:PORT,HOST:PORT, by party id.
    #[arg(long, value_name = "ADDRS", value_delimiter = ',', required = true)]
    pub peers: Vec<String>,

    /// Address to listen on, if not this party's entry in --peers (e.g. 0.0.0.0:7000).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// The weights file (model owner only; default: the plan's path with extension
    /// .weights).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// An input this party owns, as NAME=FILE.npy. Repeat (or list several) per input.
    #[arg(long = "input", value_name = "NAME=FILE.npy", value_parser = parse_input, num_args = 1..)]
    pub inputs: Vec<(String, PathBuf)>,

    /// Directory for the outputs revealed to this party, written as NAME.npy (float32).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,

    /// Directory holding partyN.key for this party and party0.crt, party1.crt, party2.crt.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["key", "cert", "peer_certs"])]
    pub keys_dir: Option<PathBuf>,

    /// This party's private key (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["cert", "peer_certs"])]
    pub key: Option<PathBuf>,

    /// This party's certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The peers' certificates: three by party id (this party's entry is its own
    /// certificate), or the two others in increasing id order.
    #[arg(
        long,
        value_name = "A.crt,B.crt,C.crt",
        value_delimiter = ',',
        requires = "key"
    )]
    pub peer_certs: Vec<PathBuf>,

    /// Seconds a party waits for a peer's message before giving up on it.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// Seconds to keep trying to connect to the peers at start.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub connect_timeout: u64,

    /// Shape the links as lan (5 Gbit/s, 0.4 ms RTT), wan (400 Mbit/s, 40 ms RTT) or
    /// BW,RTT (e.g. 1gbit,10ms); every party should pass the same shape.
    #[arg(long, value_name = "lan|wan|BW,RTT", value_parser = LinkShape::parse)]
    pub shape: Option<LinkShape>,

    /// Write this party's measurements (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Run a generation plan (`mpcc compile --generate`): the set-up, then one step per
    /// token until the client stops. Every party passes it; the client (party 1) also gives
    /// the prompt and writes DIR/tokens.json, as `mpcc generate` (docs/GENERATION.md).
    #[arg(long, conflicts_with_all = ["inputs", "profile"])]
    pub generate: bool,

    /// With --generate, the client: the prompt, tokenized with the plan's tokenizer.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "generate",
        conflicts_with = "prompt_ids"
    )]
    pub prompt: Option<String>,

    /// With --generate, the client: the prompt as int64 token ids (.npy).
    #[arg(long, value_name = "FILE.npy", requires = "generate")]
    pub prompt_ids: Option<PathBuf>,

    /// With --generate, the client: a Hugging Face tokenizer.json (default:
    /// PLAN.tokenizer.json).
    #[arg(long, value_name = "FILE", requires = "generate")]
    pub tokenizer: Option<PathBuf>,

    /// With --generate, the client: how many tokens to generate.
    #[arg(long, value_name = "N", default_value_t = 16, requires = "generate")]
    pub max_new_tokens: usize,

    /// With --generate, the client: stop at the export's end-of-sequence token.
    #[arg(long, requires = "generate")]
    pub stop_at_eos: bool,
    /// Worker threads for this party's local work (the matrix products; default: every
    /// core). Results, rounds and bytes do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Runs `mpcc party`.
pub fn main(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        mpcc_runtime::threads::configure(n.into())
            .map_err(|e| anyhow::anyhow!("--threads: {e}"))?;
    }
    let id = args.id;
    let plan = backend::load_plan(&args.plan)?;
    memory::check(&plan, Stage::Party).map_err(|e| {
        anyhow::anyhow!(
            "{} cannot run '{}': {e}",
            party_name(id),
            args.plan.display()
        )
    })?;
    if args.generate {
        return generation(args, &plan);
    }
    check_outputs(&plan, &args)?;
    let data = party_data(&plan, id, &args)?;
    mpcc_runtime::vm::check_party_data(&plan, id, &data)?;
    let (cfg, listener, listen) = connect(&args, &plan, true)?;
    eprintln!(
        "party {id}: listening on {listen}, plan {}…, shaping {}",
        &plan.digest_hex()[..16],
        shape_name(args.shape)
    );
    // The error's own text already holds its causes (instruction, peer), so it is shown
    // without anyhow's chain, which would repeat them.
    let run = run_networked(&plan, &data, &cfg, listener, progress_bar(&plan))
        .map_err(|e| anyhow::anyhow!("{} stopped: {e}", party_name(id)))?;
    // The files first, then the report: a reader of standard output that goes away (`| head`)
    // must not cost the outputs.
    let written = write_outputs(&plan, id, &run, &args.output_dir)?;
    if let Some(path) = &args.profile {
        let text = serde_json::to_string_pretty(&profile_json(&plan, id, &run, args.shape))?;
        io::write_file(path, text.as_bytes())?;
    }
    print_summary(&plan, id, &run, args.shape);
    for line in &written {
        outln!("{line}");
    }
    if let Some(path) = &args.profile {
        outln!("profile written to {}", path.display());
    }
    Ok(())
}

/// The peers' addresses, the keys and this party's listening socket (bound), and the output
/// folder made when `outputs`: what every networked run needs before it connects.
fn connect(
    args: &Args,
    plan: &Plan,
    outputs: bool,
) -> anyhow::Result<(NetConfig, std::net::TcpListener, String)> {
    let id = args.id;
    let addrs: [String; 3] = args.peers.clone().try_into().map_err(|p: Vec<String>| {
        anyhow::anyhow!(
            "--peers needs three addresses HOST:PORT (one per party), got {}",
            p.len()
        )
    })?;
    check_peers(&addrs)?;
    let keys = load_keys(args)?;
    if outputs {
        std::fs::create_dir_all(&args.output_dir).with_context(|| {
            format!(
                "cannot create the output directory '{}'",
                args.output_dir.display()
            )
        })?;
    }
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| addrs[id as usize].clone());
    let listener = bind(&listen)?;
    let cfg = NetConfig {
        id,
        addrs,
        keys,
        plan_digest: plan.header.digest,
        timeout: Duration::from_secs(args.timeout.max(1)),
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        shape: args.shape,
        on_event: Some(Arc::new(move |line: &str| eprintln!("party {id}: {line}"))),
    };
    Ok((cfg, listener, listen))
}

/// Refuses `--peers` entries that cannot work: no `HOST:PORT`, port 0 (the OS would pick a
/// port the other parties cannot know), or two parties at one address (a party would dial
/// itself, and the handshake then fails on the certificate, naming the wrong cause).
pub fn check_peers(addrs: &[String; 3]) -> anyhow::Result<()> {
    for (i, a) in addrs.iter().enumerate() {
        let Some((host, port)) = a.rsplit_once(':') else {
            bail!(
                "--peers entry {i} ('{a}') is not HOST:PORT (e.g. 10.0.0.{}:7000)",
                i + 1
            );
        };
        match port.parse::<u16>() {
            Ok(0) => bail!(
                "--peers entry {i} ('{a}') has port 0; give each party a fixed port the others can dial"
            ),
            Ok(_) if !host.is_empty() => {}
            _ => bail!("--peers entry {i} ('{a}') is not HOST:PORT with a port 1..=65535"),
        }
    }
    for i in 0..3 {
        for j in i + 1..3 {
            if addrs[i].eq_ignore_ascii_case(&addrs[j]) {
                bail!(
                    "--peers gives parties {i} and {j} the same address '{}'; each party needs                      its own HOST:PORT (on one machine, one port each: 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002)",
                    addrs[i]
                );
            }
        }
    }
    Ok(())
}

/// `mpcc party --generate`: one party of a generation over TLS.
fn generation(args: Args, plan: &Plan) -> anyhow::Result<()> {
    use crate::generate::{party_generation, ClientAsk};
    let id = args.id;
    let client = crate::client::ClientInfo::load(&crate::client::client_path(&args.plan)).context(
        "--generate needs the plan's client file beside it (every party gets it: it is \
             public); compile with `mpcc compile MODEL --generate --max-seq-len L`",
    )?;
    let Some(info) = client.generate.clone() else {
        bail!(
            "'{}' is not a generation plan; compile it with `mpcc compile MODEL --generate \
             --max-seq-len L`",
            args.plan.display()
        );
    };
    let is_client = id == mpcc_ir::CLIENT;
    if !is_client && (args.prompt.is_some() || args.prompt_ids.is_some()) {
        bail!("only the client (party 1) gives the prompt");
    }
    let tokenizer = if is_client {
        crate::cli::generate::load_tokenizer(&args.plan, &client, args.tokenizer.as_deref())?
    } else {
        None
    };
    let ask = if is_client {
        let prompt = crate::cli::generate::read_prompt(
            args.prompt.as_deref(),
            args.prompt_ids.as_deref(),
            tokenizer.as_ref(),
            &info,
        )?;
        crate::generate::check_fits(&info, prompt.len(), args.max_new_tokens)?;
        Some(ClientAsk {
            prompt,
            max_new: args.max_new_tokens,
            stop_at: info.eos_token_id.filter(|_| args.stop_at_eos),
        })
    } else {
        None
    };
    let weights = if id == MODEL_OWNER {
        let path = args
            .weights
            .clone()
            .unwrap_or_else(|| backend::weights_path(&args.plan));
        backend::load_weights(&path, plan)?.map(Arc::new)
    } else if args.weights.is_some() {
        bail!(
            "{} does not take --weights: only the {} supplies the weights",
            party_name(id),
            party_name(MODEL_OWNER)
        );
    } else {
        None
    };
    let (cfg, listener, listen) = connect(&args, plan, is_client)?;
    eprintln!(
        "party {id}: listening on {listen}, generation plan {}…",
        &plan.digest_hex()[..16]
    );
    let run = mpcc_runtime::net::with_session(&cfg, listener, |ctx| {
        party_generation(plan, ctx, weights.clone(), &info, ask.as_ref())
    })
    .map_err(|e| anyhow::anyhow!("{} stopped: {e}", party_name(id)))?;
    let g = run.value;
    let setup = g.setup.clone().unwrap_or(crate::generate::Step {
        token: -1,
        logits: None,
        rounds: 0,
        bytes: 0,
        wall_s: 0.0,
    });
    let (r, b) = g
        .steps
        .iter()
        .fold((0, 0), |(r, b), s| (r + s.rounds, b + s.bytes));
    if let Some(a) = &ask {
        let text = tokenizer
            .as_ref()
            .map(|t| {
                let ids: Vec<u32> = g.new_ids.iter().map(|x| *x as u32).collect();
                t.decode(&ids, true).unwrap_or_default()
            })
            .unwrap_or_default();
        let path = args.output_dir.join("tokens.json");
        crate::cli::generate::write_tokens(
            &path, &a.prompt, &g.new_ids, &text, &setup, &g.steps, &g.kinds,
        )?;
        outln!("new ids: {:?}", g.new_ids);
        if tokenizer.is_some() {
            outln!("text: {text:?}");
        }
        outln!("written to {}", path.display());
    }
    outln!(
        "{}: set-up {} rounds, {} sent; {} steps, {r} rounds, {} sent by this party; {:.3} s",
        party_name(id),
        setup.rounds,
        human_bytes(setup.bytes),
        g.steps.len(),
        human_bytes(b),
        run.wall.as_secs_f64()
    );
    Ok(())
}

/// Where output `name` goes: DIR/<file-safe name>.npy.
/// Refuses, before anything is written, an output file or profile of this party that is the
/// same file as the plan, the weights, an input, a key or certificate, or another output.
fn check_outputs(plan: &Plan, args: &Args) -> anyhow::Result<()> {
    let wpath = args
        .weights
        .clone()
        .unwrap_or_else(|| backend::weights_path(&args.plan));
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|(n, _)| format!("the input file of '{n}'"))
        .collect();
    let mut inputs = vec![
        Role::new("the plan", &args.plan),
        Role::new("the weights file", &wpath),
    ];
    for ((_, file), what) in args.inputs.iter().zip(&names) {
        inputs.push(Role::new(what, file));
    }
    for p in args.key.iter().chain(&args.cert).chain(&args.peer_certs) {
        inputs.push(Role::new("a key or certificate", p));
    }
    let files = run_outputs(
        plan,
        &args.output_dir,
        Some(args.id),
        args.profile.as_deref(),
    );
    let outputs: Vec<Role> = files.iter().map(|(w, p)| Role::new(w, p)).collect();
    check_distinct(&inputs, &outputs)
}

/// What this party brings: the weights (model owner, or everyone when they are public) and
/// the inputs it owns. Refuses data that belongs to another party.
fn party_data(plan: &Plan, id: PartyId, args: &Args) -> anyhow::Result<PartyData> {
    let mut data = PartyData {
        inputs: owned_inputs(plan, id, args)?,
        weights: None,
        state: Default::default(),
    };
    let public = plan.body.weights.iter().any(|w| w.public);
    let needs_weights = !plan.body.weights.is_empty() && (id == MODEL_OWNER || public);
    match (&args.weights, needs_weights) {
        (Some(_), false) => bail!(
            "{} does not take --weights: only the {} supplies the weights",
            party_name(id),
            party_name(MODEL_OWNER)
        ),
        (w, true) => {
            let path = w
                .clone()
                .unwrap_or_else(|| backend::weights_path(&args.plan));
            data.weights = backend::load_weights(&path, plan)?.map(Arc::new);
        }
        (None, false) => {}
    }
    Ok(data)
}

/// Reads the inputs this party owns from `--input`; refuses another party's inputs and
/// lists the missing ones.
fn owned_inputs(
    plan: &Plan,
    id: PartyId,
    args: &Args,
) -> anyhow::Result<HashMap<String, HostTensor>> {
    let mut inputs = HashMap::new();
    for (name, file) in &args.inputs {
        let decl = plan
            .body
            .inputs
            .iter()
            .find(|d| &d.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = plan.body.inputs.iter().map(|d| d.name.as_str()).collect();
                anyhow::anyhow!(
                    "the plan has no input named '{name}'; it declares: {}",
                    known.join(", ")
                )
            })?;
        if decl.owner != id {
            bail!(
                "input '{name}' belongs to the {}; {} supplies only its own inputs",
                party_name(decl.owner),
                party_name(id)
            );
        }
        if inputs.contains_key(name) {
            bail!("input '{name}' is given twice");
        }
        let t = io::check_input(plan, decl, io::read_npy_for(file, decl)?)?;
        inputs.insert(name.clone(), t);
    }
    let missing: Vec<String> = plan
        .body
        .inputs
        .iter()
        .filter(|d| d.owner == id && !inputs.contains_key(&d.name))
        .map(|d| format!("{} ({} {:?})", d.name, d.dtype, d.shape))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} owns input(s) {}; pass each as --input NAME=FILE.npy",
            party_name(id),
            missing.join(", ")
        );
    }
    Ok(inputs)
}

fn load_keys(args: &Args) -> anyhow::Result<PartyKeys> {
    let id = args.id;
    if let Some(dir) = &args.keys_dir {
        return Ok(PartyKeys::from_dir(id, dir)?);
    }
    let (Some(key), Some(cert)) = (&args.key, &args.cert) else {
        bail!("give the TLS keys: --keys-dir DIR, or --key, --cert and --peer-certs (make them with `mpcc keygen`)");
    };
    let c = &args.peer_certs;
    let certs: [&Path; 3] = match c.len() {
        3 => {
            let same = std::fs::read(&c[id as usize]).ok() == std::fs::read(cert).ok();
            if !same {
                bail!(
                    "--peer-certs entry {id} ('{}') is not this party's --cert ('{}'); list the three certificates by party id, or only the two peers'",
                    c[id as usize].display(),
                    cert.display()
                );
            }
            [&c[0], &c[1], &c[2]].map(|p| p.as_path())
        }
        2 => {
            let mut it = c.iter();
            [0u8, 1, 2].map(|p| {
                if p == id {
                    cert.as_path()
                } else {
                    it.next().expect("two").as_path()
                }
            })
        }
        n => bail!(
            "--peer-certs needs the three certificates by party id (or the two peers'), got {n}"
        ),
    };
    Ok(PartyKeys::load(id, key, certs)?)
}

fn shape_name(shape: Option<LinkShape>) -> String {
    match shape {
        None => "none (the real network)".into(),
        Some(s) if s == LinkShape::LAN => format!("lan ({s})"),
        Some(s) if s == LinkShape::WAN => format!("wan ({s})"),
        Some(s) => s.to_string(),
    }
}

/// A progress bar over instructions when stdout is a terminal.
fn progress_bar(plan: &Plan) -> Option<mpcc_runtime::vm::Progress> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(plan.graph().nodes.len() as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} instructions",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(Arc::new(move |done, total| {
        bar.set_position(done as u64);
        if done == total {
            bar.finish_and_clear();
        }
    }))
}

fn print_summary(plan: &Plan, id: PartyId, run: &NetRun, shape: Option<LinkShape>) {
    let rounds: u64 = run.result.profile.iter().map(|i| i.stats.rounds).sum();
    let payload: u64 = run.net.payload.iter().sum();
    let wire: u64 = run.net.wire.iter().sum();
    let messages: u64 = run.net.messages.iter().sum();
    outln!(
        "{}: {} instructions in {:.3} s, shaping {}",
        party_name(id),
        plan.graph().nodes.len(),
        run.wall.as_secs_f64(),
        shape_name(shape)
    );
    outln!("rounds:     {rounds}");
    outln!(
        "bytes sent: {} payload in {messages} messages (of which {} seed set-up); {} on the wire with framing and TLS",
        human_bytes(payload),
        human_bytes(run.setup.bytes_sent),
        human_bytes(wire)
    );
}

/// Writes each output revealed to this party as float32 .npy (through a temporary file and a
/// rename, as `io::write_file` does, so a failed run never leaves a partial file); returns the
/// line to print for each.
fn write_outputs(
    plan: &Plan,
    id: PartyId,
    run: &NetRun,
    dir: &Path,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for decl in plan.body.outputs.iter().filter(|d| d.to.contains(&id)) {
        let Some(t) = run.result.outputs.get(&decl.name) else {
            continue;
        };
        let path = output_path(dir, &decl.name);
        io::write_npy_f32(&path, t)?;
        lines.push(format!(
            "output {} {:?} written to {}",
            decl.name,
            t.shape,
            path.display()
        ));
    }
    Ok(lines)
}

fn profile_json(
    plan: &Plan,
    id: PartyId,
    run: &NetRun,
    shape: Option<LinkShape>,
) -> serde_json::Value {
    let g = plan.graph();
    let instrs: Vec<serde_json::Value> = run
        .result
        .profile
        .iter()
        .zip(&g.nodes)
        .enumerate()
        .map(|(i, (p, n))| {
            serde_json::json!({
                "index": i, "op": n.op.name(), "origin": n.origin,
                "rounds": p.stats.rounds, "bytes_sent": p.stats.bytes_sent,
                "wall_s": p.wall.as_secs_f64(),
            })
        })
        .collect();
    serde_json::json!({
        "party": id,
        "plan_digest": plan.digest_hex(),
        "shape": shape.map(|s| serde_json::json!({
            "bits_per_sec": s.bits_per_sec, "rtt_ms": s.rtt.as_secs_f64() * 1e3,
        })),
        "wall_s": run.wall.as_secs_f64(),
        "rounds": run.result.profile.iter().map(|i| i.stats.rounds).sum::<u64>(),
        "setup_bytes_sent": run.setup.bytes_sent,
        "payload_bytes_sent_to": run.net.payload,
        "messages_sent_to": run.net.messages,
        "wire_bytes_sent_to": run.net.wire,
        "instructions": instrs,
    })
}
