//! The simulation's ring arithmetic on plaintext elements ([`Sim`]): every sum, product and
//! shift wraps modulo 2^k as the shares do, and is checked against the signed range; a
//! secret truncation rounds as the VM's does ([`Rounding`]) and checks its precondition.
//! Each broken range is recorded as an [`Event`] of the running instruction and marks the
//! output element being computed.

use crate::ring::to_signed;
use mpcc_ir::Ring;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// How a secret truncation by d bits rounds in the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// As the VM's `trunc` (`kernels::arith::trunc1`): `floor(x/2^d) + 1` with probability
    /// `((x mod 2^d) + 1) / 2^d`, else `floor(x/2^d)`, drawn from a PRG with this seed.
    /// The VM's mask is uniform, so this is the distribution of the VM's result.
    Vm {
        /// PRG seed.
        seed: u64,
    },
    /// Always `floor(x/2^d)`, the lower of the VM's two results (deterministic).
    Floor,
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding::Vm { seed: 0 }
    }
}

/// What went out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// An integer result outside the ring's signed range `[-2^(k-1), 2^(k-1))`: the ring
    /// wraps it, the shares with it.
    Wrap,
    /// A secret truncation of `|x| >= 2^(k-2)`: outside the exact truncation's range, the
    /// VM's result may be off by `2^(k-d)` units (`kernels::arith::trunc_exact`).
    TruncRange,
    /// A secret `upcast` of `|x| > 2^30`: off by ±2^32 with probability `(|x| - 2^30)/2^31`.
    UpcastRange,
    /// A comparison of `x` with `t` where `|x - t| >= 2^(k-1)`: the sign bit is wrong.
    CompareRange,
    /// A kernel input outside the kernel's documented valid range (`reciprocal`, `rsqrt`:
    /// `x in [2^-f, 2^S)`).
    KernelRange,
}

/// Out-of-range results of one kind at one step of one instruction.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// What went out of range.
    pub kind: EventKind,
    /// Where in the instruction (`"mul"`, `"rsqrt: normalise"`, …).
    pub step: &'static str,
    /// How many elements.
    pub count: u64,
    /// log2 of the largest magnitude of the offending ring integer (unreduced).
    pub bits: f64,
    /// The largest offending magnitude as a real, the integer over 2^scale at that step.
    pub worst: f64,
}

/// The simulation's state while one instruction runs.
pub struct Sim {
    rounding: Rounding,
    rng: ChaCha12Rng,
    /// The output element being computed (for marks).
    pub elem: usize,
    events: Vec<Event>,
    marks: Vec<usize>,
}

/// The signed value of a ring element, widened.
pub fn signed(x: u64, ring: Ring) -> i128 {
    to_signed(x, ring) as i128
}

/// A ring element from an integer (its low k bits).
pub fn reduce(v: i128, ring: Ring) -> u64 {
    (v as u64) & ring.mask()
}

fn fits(v: i128, bits: u32) -> bool {
    let lim = 1i128 << bits;
    (-lim..lim).contains(&v)
}

impl Sim {
    /// A fresh simulation state.
    pub fn new(rounding: Rounding) -> Sim {
        let seed = match rounding {
            Rounding::Vm { seed } => seed,
            Rounding::Floor => 0,
        };
        Sim {
            rounding,
            rng: ChaCha12Rng::seed_from_u64(seed),
            elem: 0,
            events: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Records an out-of-range integer `v` (at `scale`) and marks the current element.
    pub fn flag(&mut self, kind: EventKind, step: &'static str, v: i128, scale: u32) {
        let mag = (v as f64).abs();
        let (bits, worst) = (mag.log2(), mag / (scale as f64).exp2());
        match self
            .events
            .iter_mut()
            .find(|e| e.kind == kind && e.step == step)
        {
            Some(e) => {
                e.count += 1;
                e.bits = e.bits.max(bits);
                e.worst = e.worst.max(worst);
            }
            None => self.events.push(Event {
                kind,
                step,
                count: 1,
                bits,
                worst,
            }),
        }
        if self.marks.last() != Some(&self.elem) {
            self.marks.push(self.elem);
        }
    }

    /// The events and marked elements so far, leaving none.
    pub fn take(&mut self) -> (Vec<Event>, Vec<usize>) {
        (
            std::mem::take(&mut self.events),
            std::mem::take(&mut self.marks),
        )
    }

    /// `v` as a ring element, recording a [`EventKind::Wrap`] when it does not fit.
    pub fn fit(&mut self, v: i128, ring: Ring, step: &'static str, scale: u32) -> u64 {
        if !fits(v, ring.bits() - 1) {
            self.flag(EventKind::Wrap, step, v, scale);
        }
        reduce(v, ring)
    }

    /// `a + b` in the ring (checked).
    pub fn add(&mut self, a: u64, b: u64, ring: Ring, step: &'static str, scale: u32) -> u64 {
        self.fit(signed(a, ring) + signed(b, ring), ring, step, scale)
    }

    /// `a - b` in the ring (checked).
    pub fn sub(&mut self, a: u64, b: u64, ring: Ring, step: &'static str, scale: u32) -> u64 {
        self.fit(signed(a, ring) - signed(b, ring), ring, step, scale)
    }

    /// `a * b` in the ring (checked; `scale` is the product's).
    pub fn mul(&mut self, a: u64, b: u64, ring: Ring, step: &'static str, scale: u32) -> u64 {
        self.fit(signed(a, ring) * signed(b, ring), ring, step, scale)
    }

    /// `x * 2^bits` in the ring (checked; `scale` is the result's).
    pub fn shl(&mut self, x: u64, bits: u32, ring: Ring, step: &'static str, scale: u32) -> u64 {
        if bits >= 64 {
            return self.fit(signed(x, ring).signum() << 100, ring, step, scale);
        }
        self.fit(signed(x, ring) << bits, ring, step, scale)
    }

    /// The VM's secret truncation by `d` bits of `x` at scale `scale`: floor or one more
    /// ([`Rounding`]); records [`EventKind::TruncRange`] when `|x| >= 2^(k-2)`.
    pub fn trunc(&mut self, x: u64, d: u32, ring: Ring, step: &'static str, scale: u32) -> u64 {
        let v = signed(x, ring);
        if !fits(v, ring.bits() - 2) {
            self.flag(EventKind::TruncRange, step, v, scale);
        }
        let floor = v >> d.min(127);
        let up = match self.rounding {
            Rounding::Vm { .. } if d < 64 => {
                let mask = (1u64 << d) - 1;
                let low = (v as u64) & mask;
                i128::from(self.rng.next_u64() & mask <= low)
            }
            Rounding::Vm { .. } | Rounding::Floor => 0,
        };
        reduce(floor + up, ring)
    }

    /// A public truncation: the arithmetic shift `floor(x/2^d)`.
    pub fn trunc_public(x: u64, d: u32, ring: Ring) -> u64 {
        reduce(signed(x, ring) >> d.min(127), ring)
    }

    /// `[x >= t]` as the comparison protocol computes it, `1 - msb(x - t)`; records
    /// [`EventKind::CompareRange`] when `|x - t| >= 2^(k-1)` (a secret x).
    pub fn ge(&mut self, x: u64, t: u64, ring: Ring, step: &'static str, scale: u32) -> u64 {
        let d = signed(x, ring) - signed(t, ring);
        if !fits(d, ring.bits() - 1) {
            self.flag(EventKind::CompareRange, step, d, scale);
        }
        crate::kernels::boolean::plain::ge(x, t, ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VM-like rounding gives floor or floor + 1 with the VM's probabilities, and is
    /// exact on multiples of 2^d (but for probability 2^-d).
    #[test]
    fn vm_rounding_distribution() {
        let ring = Ring::Z64;
        let mut s = Sim::new(Rounding::Vm { seed: 7 });
        let x = reduce(-(3 << 10) - 256, ring); // x / 2^10 = -3.25: floor -4
        let ups = (0..20_000)
            .filter(|_| signed(s.trunc(x, 10, ring, "t", 10), ring) == -3)
            .count();
        // P(floor + 1) = (768 + 1) / 1024 ≈ 0.751.
        assert!((14_600..15_450).contains(&ups), "{ups}");
        let exact = reduce(5 << 12, ring);
        let hits = (0..1000)
            .filter(|_| s.trunc(exact, 12, ring, "t", 12) == 5)
            .count();
        assert!(hits >= 998, "{hits}");
        assert!(s.take().0.is_empty());
    }

    /// Out-of-range results are recorded once per kind and step, with their magnitude.
    #[test]
    fn events_merge_by_step() {
        let ring = Ring::Z64;
        let mut s = Sim::new(Rounding::Floor);
        let big = reduce(1 << 40, ring);
        s.elem = 3;
        s.mul(big, big, ring, "sq", 36);
        s.elem = 5;
        s.mul(big, big, ring, "sq", 36);
        s.trunc(reduce(1 << 62, ring), 18, ring, "t", 36);
        let (events, marks) = s.take();
        assert_eq!(marks, vec![3, 5]);
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].kind, events[0].count), (EventKind::Wrap, 2));
        assert_eq!(events[0].bits, 80.0);
        assert_eq!(events[1].kind, EventKind::TruncRange);
    }
}
