//! One party's whole networked run: connect, agree seeds, run the plan, and on failure tell
//! the peers why before closing the links.

use super::link::NetStats;
use super::setup::{establish, NetConfig};
use crate::ctx::{Ctx, Stats};
use crate::error::RtError;
use crate::vm::{check_party_data, run_party, PartyData, PartyResult, Progress};
use mpcc_ir::plan::Plan;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// What a networked party ends a successful run with.
#[derive(Clone, Debug)]
pub struct NetRun {
    /// Outputs revealed to this party and the per-instruction profile.
    pub result: PartyResult,
    /// Traffic of the seed agreement.
    pub setup: Stats,
    /// What went over each link (payload, messages, wire bytes).
    pub net: NetStats,
    /// Time from the links being up to the last instruction (seed agreement included).
    pub wall: Duration,
}

/// Runs `plan` as party `cfg.id` over TLS links: checks the party's data, connects (see
/// [`establish`]), runs [`run_party`] and closes the links after flushing them. When the run
/// fails, the peers receive [`RtError::peer_reason`] as the reason this party stopped (no
/// input values; the error returned here keeps them).
pub fn run_networked(
    plan: &Plan,
    data: &PartyData,
    cfg: &NetConfig,
    listener: TcpListener,
    progress: Option<Progress>,
) -> Result<NetRun, RtError> {
    check_party_data(plan, cfg.id, data)?;
    if cfg.plan_digest != plan.header.digest {
        return Err(RtError::Internal(
            "network config and plan disagree on the digest".into(),
        ));
    }
    let transport = establish(cfg, listener)?;
    let handle = transport.handle();
    let others: Vec<String> = (0..3u8)
        .filter(|p| *p != cfg.id)
        .map(|p| p.to_string())
        .collect();
    cfg.event(&format!(
        "connected to parties {} (TLS 1.3, mutual authentication); running {} instructions",
        others.join(" and "),
        plan.graph().nodes.len()
    ));
    let t0 = Instant::now();
    let mut ctx = Ctx::setup(Box::new(transport))?;
    let setup = ctx.take_stats();
    let r = run_party(plan, &mut ctx, data, progress);
    if let Err(e) = &r {
        handle.abort(&e.peer_reason());
    }
    let wall = t0.elapsed();
    drop(ctx);
    Ok(NetRun {
        result: r?,
        setup,
        net: handle.stats(),
        wall,
    })
}

/// What a networked session of several runs ends with.
#[derive(Clone, Debug)]
pub struct NetSession<T> {
    /// What the body returned.
    pub value: T,
    /// Traffic of the seed agreement.
    pub setup: Stats,
    /// What went over each link.
    pub net: NetStats,
    /// Time from the links being up to the end of the body.
    pub wall: Duration,
}

/// Connects as party `cfg.id` (see [`establish`]), agrees the seeds once, then hands the
/// context to `body`, which may run several plans on it in turn (a generation's set-up and
/// steps, each with [`run_party`]). When the body fails, the peers receive
/// [`RtError::peer_reason`] as the reason this party stopped.
pub fn with_session<T>(
    cfg: &NetConfig,
    listener: TcpListener,
    body: impl FnOnce(&mut Ctx) -> Result<T, RtError>,
) -> Result<NetSession<T>, RtError> {
    let transport = establish(cfg, listener)?;
    let handle = transport.handle();
    cfg.event("connected to the other two parties (TLS 1.3, mutual authentication)");
    let t0 = Instant::now();
    let mut ctx = Ctx::setup(Box::new(transport))?;
    let setup = ctx.take_stats();
    let r = body(&mut ctx);
    if let Err(e) = &r {
        handle.abort(&e.peer_reason());
    }
    let wall = t0.elapsed();
    drop(ctx);
    Ok(NetSession {
        value: r?,
        setup,
        net: handle.stats(),
        wall,
    })
}
