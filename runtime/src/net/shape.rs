//! Link shaping: a bandwidth and round-trip-time model of a link, the pacer that applies it
//! to a stream of messages, and [`Shaped`], a [`Transport`] wrapper for in-process runs.
//!
//! Model: a message of `n` bytes sent at `t` occupies the link from `max(t, link free)` for
//! `8n / bandwidth` seconds and is delivered half a round trip after it has been put on
//! the link. Messages on one direction of one link queue behind each other.

use crate::transport::{Transport, TransportError};
use mpcc_ir::PartyId;
use std::fmt;
use std::time::{Duration, Instant};

/// Bandwidth and round-trip time of a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkShape {
    /// Bits per second in each direction.
    pub bits_per_sec: f64,
    /// Round-trip time.
    pub rtt: Duration,
}

impl LinkShape {
    /// A LAN: 5 Gbit/s, 0.4 ms RTT.
    pub const LAN: LinkShape = LinkShape {
        bits_per_sec: 5e9,
        rtt: Duration::from_micros(400),
    };
    /// A WAN: 400 Mbit/s, 40 ms RTT.
    pub const WAN: LinkShape = LinkShape {
        bits_per_sec: 400e6,
        rtt: Duration::from_millis(40),
    };

    /// Parses `lan`, `wan` or `BW,RTT`, where BW is a number with an optional unit
    /// (`kbit`, `mbit`, `gbit`; default Mbit/s) and RTT a number with an optional unit
    /// (`us`, `ms`, `s`; default ms). Examples: `wan`, `1gbit,10ms`, `100,80`.
    pub fn parse(s: &str) -> Result<LinkShape, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lan" => return Ok(Self::LAN),
            "wan" => return Ok(Self::WAN),
            _ => {}
        }
        let (bw, rtt) = s.split_once(',').ok_or_else(|| {
            format!("link shape '{s}': expected lan, wan or BW,RTT (e.g. 1gbit,10ms)")
        })?;
        let bits_per_sec = with_unit(bw, &[("kbit", 1e3), ("mbit", 1e6), ("gbit", 1e9)], 1e6)
            .ok_or_else(|| format!("link shape '{s}': bad bandwidth '{bw}' (e.g. 400mbit)"))?;
        let secs = with_unit(rtt, &[("us", 1e-6), ("ms", 1e-3), ("s", 1.0)], 1e-3)
            .ok_or_else(|| format!("link shape '{s}': bad round-trip time '{rtt}' (e.g. 40ms)"))?;
        if bits_per_sec <= 0.0 || !bits_per_sec.is_finite() || !secs.is_finite() || secs < 0.0 {
            return Err(format!(
                "link shape '{s}': bandwidth must be positive and RTT not negative"
            ));
        }
        Ok(LinkShape {
            bits_per_sec,
            rtt: Duration::from_secs_f64(secs),
        })
    }

    /// Time to put `bytes` on the link.
    pub fn transfer(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / self.bits_per_sec)
    }
}

fn with_unit(s: &str, units: &[(&str, f64)], default: f64) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix("/s").unwrap_or(&s);
    let s = s
        .strip_suffix("ps")
        .map(|x| format!("{x}it"))
        .unwrap_or(s.to_string());
    for (unit, mul) in units {
        if let Some(num) = s.strip_suffix(unit) {
            return num.trim().parse::<f64>().ok().map(|v| v * mul);
        }
    }
    s.parse::<f64>().ok().map(|v| v * default)
}

impl fmt::Display for LinkShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bw = self.bits_per_sec;
        if bw >= 1e9 {
            write!(f, "{} Gbit/s", bw / 1e9)?;
        } else {
            write!(f, "{} Mbit/s", bw / 1e6)?;
        }
        write!(f, ", {} ms RTT", self.rtt.as_secs_f64() * 1e3)
    }
}

/// Applies a [`LinkShape`] to one direction of one link.
#[derive(Clone, Debug)]
pub struct Pacer {
    shape: LinkShape,
    free_at: Option<Instant>,
}

impl Pacer {
    /// A pacer for an idle link.
    pub fn new(shape: LinkShape) -> Pacer {
        Pacer {
            shape,
            free_at: None,
        }
    }

    /// When a message of `bytes` bytes handed over at `sent` is delivered.
    pub fn deliver_at(&mut self, sent: Instant, bytes: usize) -> Instant {
        let start = self.free_at.map_or(sent, |f| f.max(sent));
        let done = start + self.shape.transfer(bytes);
        self.free_at = Some(done);
        done + self.shape.rtt / 2
    }
}

/// Sleeps until `t` (returns at once when `t` has passed).
pub(crate) fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// A shaped transport for parties that share a clock (threads of one process): each
/// message carries its delivery time (8 bytes, not counted by [`crate::ctx::Ctx`], which
/// counts payload before the transport) and the receiver waits until then.
pub struct Shaped<T> {
    inner: T,
    epoch: Instant,
    pacers: [Pacer; 3],
}

impl<T: Transport> Shaped<T> {
    /// Wraps three connected endpoints with one shape and a common clock.
    pub fn triple(links: [T; 3], shape: LinkShape) -> [Shaped<T>; 3] {
        let epoch = Instant::now();
        links.map(|inner| Shaped {
            inner,
            epoch,
            pacers: std::array::from_fn(|_| Pacer::new(shape)),
        })
    }
}

impl<T: Transport> Transport for Shaped<T> {
    fn id(&self) -> PartyId {
        self.inner.id()
    }

    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        let at = self.pacers[to as usize % 3].deliver_at(Instant::now(), data.len());
        let nanos = (at - self.epoch).as_nanos() as u64;
        let mut m = Vec::with_capacity(data.len() + 8);
        m.extend_from_slice(&nanos.to_le_bytes());
        m.extend_from_slice(data);
        self.inner.send(to, &m)
    }

    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let mut m = self.inner.recv(from)?;
        if m.len() < 8 {
            return Err(TransportError::Io {
                peer: from,
                message: "shaped message without its delivery time".into(),
            });
        }
        let nanos = u64::from_le_bytes(m[..8].try_into().expect("8 bytes"));
        sleep_until(self.epoch + Duration::from_nanos(nanos));
        m.drain(..8);
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The named shapes and the BW,RTT form parse to the documented numbers.
    #[test]
    fn parse_shapes() {
        assert_eq!(LinkShape::parse("lan").unwrap(), LinkShape::LAN);
        assert_eq!(LinkShape::parse("WAN").unwrap(), LinkShape::WAN);
        let s = LinkShape::parse("1gbit,10ms").unwrap();
        assert_eq!((s.bits_per_sec, s.rtt), (1e9, Duration::from_millis(10)));
        let s = LinkShape::parse("100,80").unwrap();
        assert_eq!((s.bits_per_sec, s.rtt), (100e6, Duration::from_millis(80)));
        let s = LinkShape::parse("400mbps,0.1s").unwrap();
        assert_eq!((s.bits_per_sec, s.rtt), (400e6, Duration::from_millis(100)));
        assert!(LinkShape::parse("fast").is_err());
        assert!(LinkShape::parse("0,10").is_err());
        assert_eq!(LinkShape::WAN.to_string(), "400 Mbit/s, 40 ms RTT");
    }

    /// Back-to-back messages queue on the link: the second is delivered one transfer later.
    #[test]
    fn pacer_queues() {
        let shape = LinkShape::parse("8mbit,10ms").unwrap();
        let mut p = Pacer::new(shape);
        let t = Instant::now();
        let a = p.deliver_at(t, 1000);
        let b = p.deliver_at(t, 1000);
        assert_eq!(a - t, Duration::from_millis(1) + Duration::from_millis(5));
        assert_eq!(b - a, Duration::from_millis(1));
    }
}
