//! The network model of cost reports: bandwidth and round-trip time, the `--network` spec
//! parser, and the time formula.

use std::fmt;
use std::str::FromStr;

/// The time model, as written into reports.
pub const MODEL: &str =
    "per instruction: rounds * rtt_s + max over parties of bytes_sent * 8 / bandwidth_bps; summed";

/// A network model: bandwidth and round-trip time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
    /// Bits per second.
    pub bandwidth_bps: f64,
    /// Round-trip time in seconds.
    pub rtt_s: f64,
}

/// A `--network` value that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid network '{spec}': {reason}; expected lan, wan or BANDWIDTH,RTT such as 1e9,0.01 (bits/s, seconds) or 1gbit,10ms")]
pub struct NetworkSpecError {
    /// The value given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Network {
    /// 5 Gbit/s, 0.4 ms RTT.
    pub const LAN: Network = Network {
        bandwidth_bps: 5e9,
        rtt_s: 0.4e-3,
    };
    /// 400 Mbit/s, 40 ms RTT.
    pub const WAN: Network = Network {
        bandwidth_bps: 400e6,
        rtt_s: 40e-3,
    };

    /// "lan", "wan" or "custom".
    pub fn name(&self) -> &'static str {
        if *self == Network::LAN {
            "lan"
        } else if *self == Network::WAN {
            "wan"
        } else {
            "custom"
        }
    }

    /// Estimated time of one instruction, as (latency, transfer) in seconds: each round
    /// costs one RTT, and the parties send in parallel, each over its own link, so the
    /// transfer takes as long as the busiest party's bits over the bandwidth.
    pub fn time(&self, rounds: u64, bytes: [u64; 3]) -> (f64, f64) {
        let busiest = bytes.iter().copied().max().unwrap_or(0);
        (
            rounds as f64 * self.rtt_s,
            busiest as f64 * 8.0 / self.bandwidth_bps,
        )
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}, RTT {}",
            self.name(),
            super::text::bits_per_s(self.bandwidth_bps),
            super::text::seconds(self.rtt_s)
        )
    }
}

impl FromStr for Network {
    type Err = NetworkSpecError;

    /// Parses `lan`, `wan` or `BANDWIDTH,RTT`. A bare bandwidth is in bits/s and may end in
    /// `k`, `m`, `g` (×10³, ×10⁶, ×10⁹), optionally followed by `bit`, `bps` or `bit/s`; a
    /// bare RTT is in seconds and may end in `s`, `ms` or `us`.
    fn from_str(spec: &str) -> Result<Network, NetworkSpecError> {
        let err = |reason: &str| NetworkSpecError {
            spec: spec.into(),
            reason: reason.into(),
        };
        let s = spec.trim().to_ascii_lowercase();
        match s.as_str() {
            "lan" => return Ok(Network::LAN),
            "wan" => return Ok(Network::WAN),
            _ => {}
        }
        let (bw, rtt) = s
            .split_once(',')
            .ok_or_else(|| err("not a known network name"))?;
        let bandwidth_bps = quantity(bw.trim(), bandwidth_unit)
            .ok_or_else(|| err(&format!("bad bandwidth '{}'", bw.trim())))?;
        let rtt_s = quantity(rtt.trim(), time_unit)
            .ok_or_else(|| err(&format!("bad round-trip time '{}'", rtt.trim())))?;
        if bandwidth_bps <= 0.0 {
            return Err(err("the bandwidth must be positive"));
        }
        Ok(Network {
            bandwidth_bps,
            rtt_s,
        })
    }
}

/// Parses a non-negative finite number followed by a unit that `unit` scales.
fn quantity(s: &str, unit: fn(&str) -> Option<f64>) -> Option<f64> {
    let split = (1..=s.len())
        .rev()
        .filter(|&i| s.is_char_boundary(i))
        .find(|&i| s[..i].parse::<f64>().is_ok())?;
    let v: f64 = s[..split].parse().ok()?;
    let scale = unit(s[split..].trim())?;
    let v = v * scale;
    (v.is_finite() && v >= 0.0).then_some(v)
}

fn bandwidth_unit(u: &str) -> Option<f64> {
    let (prefix, rest) = match u.chars().next() {
        Some('k') => (1e3, &u[1..]),
        Some('m') => (1e6, &u[1..]),
        Some('g') => (1e9, &u[1..]),
        _ => (1.0, u),
    };
    matches!(rest, "" | "bit" | "bps" | "bit/s" | "b/s").then_some(prefix)
}

fn time_unit(u: &str) -> Option<f64> {
    match u {
        "" | "s" => Some(1.0),
        "ms" => Some(1e-3),
        "us" | "µs" => Some(1e-6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names, plain numbers and suffixed numbers parse to bits/s and seconds.
    #[test]
    fn parses_specs() {
        let ok = [
            ("lan", Network::LAN),
            ("WAN", Network::WAN),
            ("1e9,0.01", net(1e9, 0.01)),
            ("1gbit,10ms", net(1e9, 0.01)),
            ("100mbps, 50ms", net(100e6, 0.05)),
            ("2.5g,250us", net(2.5e9, 250e-6)),
            ("800kbit/s,1s", net(800e3, 1.0)),
            ("5000000000,0.0004", Network::LAN),
        ];
        for (spec, want) in ok {
            let got: Network = spec.parse().unwrap();
            assert!(
                (got.bandwidth_bps - want.bandwidth_bps).abs() < 1e-3
                    && (got.rtt_s - want.rtt_s).abs() < 1e-12,
                "{spec}: {got:?}"
            );
        }
    }

    /// Unknown names, bad units and non-positive bandwidths are refused with the reason.
    #[test]
    fn refuses_bad_specs() {
        let bad = [
            ("fast", "not a known network name"),
            ("1gbit", "not a known network name"),
            ("1tbit,1ms", "bad bandwidth '1tbit'"),
            ("1gbit,10min", "bad round-trip time '10min'"),
            ("0,1ms", "the bandwidth must be positive"),
            ("-5,1ms", "bad bandwidth '-5'"),
            ("inf,1ms", "bad bandwidth 'inf'"),
            ("1e9,", "bad round-trip time ''"),
        ];
        for (spec, reason) in bad {
            let e = spec.parse::<Network>().unwrap_err();
            assert_eq!(e.reason, reason, "{spec}");
        }
    }

    fn net(bandwidth_bps: f64, rtt_s: f64) -> Network {
        Network {
            bandwidth_bps,
            rtt_s,
        }
    }
}
