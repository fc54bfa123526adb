//! A party's view and its checks: the recording transport, three parties on recorded links,
//! dealer sharings of test secrets, the fields of a view (share components and message
//! fields parsed with their wire layout: ring words or dense bit fields), and the features
//! derived from them (each field, its neighbouring elements, sums, differences and XORs of
//! two fields), tested with [`super::stats`].

use super::stats::{same_distribution, uniform, Failure};
use mpcc_ir::{PartyId, Ring};
use mpcc_runtime::ctx::Ctx;
use mpcc_runtime::share::AShare;
use mpcc_runtime::transport::{LocalTransport, Transport, TransportError};
use rand::RngCore;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a party's transport saw: a message it received (with the sender), or the end of a
/// plan instruction (marked by the VM's progress callback).
#[derive(Clone, Debug)]
pub enum Event {
    /// A received message.
    Recv(PartyId, Vec<u8>),
    /// Instruction `i` ended.
    Done(usize),
}

/// A party's log of events.
pub type Log = Arc<Mutex<Vec<Event>>>;

/// A transport that records every message its party receives, at the transport boundary.
struct Recorder {
    inner: LocalTransport,
    log: Log,
}

impl Transport for Recorder {
    fn id(&self) -> PartyId {
        self.inner.id()
    }
    fn send(&mut self, to: PartyId, data: &[u8]) -> Result<(), TransportError> {
        self.inner.send(to, data)
    }
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, TransportError> {
        let m = self.inner.recv(from)?;
        self.log.lock().unwrap().push(Event::Recv(from, m.clone()));
        Ok(m)
    }
}

/// Runs `body` as each of three parties over recording links, in a fresh session (set-up
/// traffic not recorded); returns each party's result and received messages.
pub fn three_parties<R: Send>(body: impl Fn(&mut Ctx, &Log) -> R + Sync) -> Vec<(R, Vec<Event>)> {
    let links = LocalTransport::triple(Duration::from_secs(60));
    std::thread::scope(|s| {
        let hs: Vec<_> = links
            .into_iter()
            .map(|inner| {
                let body = &body;
                s.spawn(move || {
                    let log: Log = Arc::new(Mutex::new(Vec::new()));
                    let rec = Recorder {
                        inner,
                        log: log.clone(),
                    };
                    let mut ctx = Ctx::setup(Box::new(rec)).unwrap();
                    log.lock().unwrap().clear();
                    let r = body(&mut ctx, &log);
                    let events = log.lock().unwrap().clone();
                    (r, events)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Fresh replicated shares of `xs` made by a dealer in the test (no party knows the value):
/// x_1, x_2 uniform from the OS, x_0 = x - x_1 - x_2; party i gets (x_i, x_{i+1}).
pub fn deal(xs: &[u64], ring: Ring) -> [AShare; 3] {
    let m = ring.mask();
    let mut rng = rand_core::OsRng;
    let r1: Vec<u64> = xs.iter().map(|_| rng.next_u64() & m).collect();
    let r2: Vec<u64> = xs.iter().map(|_| rng.next_u64() & m).collect();
    let x0: Vec<u64> = (0..xs.len())
        .map(|i| xs[i].wrapping_sub(r1[i]).wrapping_sub(r2[i]) & m)
        .collect();
    let c = [x0, r1, r2];
    std::array::from_fn(|i| AShare {
        a: c[i].clone(),
        b: c[(i + 1) % 3].clone(),
    })
}

/// Where a field comes from: the party's own share components, or a received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A share component the party holds.
    Component,
    /// A field of a received message.
    Message,
}

/// One item of a view: a w-bit word per element (`None` where the element is not in it,
/// e.g. a message that covers one block of elements).
#[derive(Clone, Debug)]
pub struct Field {
    /// Name, for failure messages.
    pub name: String,
    /// Bits per word.
    pub width: u32,
    /// Component or message.
    pub kind: Kind,
    /// One word per element.
    pub words: Vec<Option<u64>>,
}

/// Everything a party can see of one run: its fields.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The fields.
    pub fields: Vec<Field>,
}

impl View {
    /// Adds a share component (every element present).
    pub fn component(&mut self, name: &str, width: u32, words: &[u64]) {
        self.fields.push(Field {
            name: name.into(),
            width,
            kind: Kind::Component,
            words: words.iter().map(|w| Some(*w)).collect(),
        });
    }
    /// Adds a message field, one optional word per element.
    pub fn message(&mut self, name: String, width: u32, words: Vec<Option<u64>>) {
        self.fields.push(Field {
            name,
            width,
            kind: Kind::Message,
            words,
        });
    }
    /// Adds a message of ring words, `c·n` of them, as c fields of n words each (element i of
    /// field j at word `j·n + i`).
    pub fn ring_message(&mut self, name: &str, bytes: &[u8], n: usize, ring: Ring) {
        let words = ring_words(bytes, ring);
        assert!(
            !words.is_empty() && words.len().is_multiple_of(n),
            "{name}: {} words for {n} elements",
            words.len()
        );
        for (j, chunk) in words.chunks(n).enumerate() {
            let name = format!("{name}.{j}");
            self.message(name, ring.bits(), chunk.iter().map(|w| Some(*w)).collect());
        }
    }
}

/// Ring words of a message: `ring.bytes()` little-endian bytes each.
pub fn ring_words(bytes: &[u8], ring: Ring) -> Vec<u64> {
    let w = ring.bytes() as usize;
    assert!(bytes.len().is_multiple_of(w), "{} bytes", bytes.len());
    bytes
        .chunks(w)
        .map(|c| c.iter().rev().fold(0u64, |acc, b| acc << 8 | *b as u64))
        .collect()
}

/// Reads a dense little-endian bit string field by field (bit i of the string is bit
/// `i % 8` of byte `i / 8`), the layout of `ring::pack_bits` and the boolean protocols.
pub struct Bits<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Bits<'a> {
        Bits { bytes, pos: 0 }
    }
    /// The next field of `w` bits.
    pub fn take(&mut self, w: u32) -> u64 {
        let mut v = 0;
        for b in 0..w {
            let i = self.pos + b as usize;
            v |= ((self.bytes[i / 8] >> (i % 8)) as u64 & 1) << b;
        }
        self.pos += w as usize;
        v
    }
    /// Asserts that only padding (fewer than 8 zero bits) is left.
    pub fn end(&self) {
        assert_eq!(self.bytes.len(), self.pos.div_ceil(8), "message length");
    }
}

/// The received messages of a log, in order, with their senders.
pub fn messages(events: &[Event]) -> Vec<(PartyId, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Recv(p, m) => Some((*p, m.clone())),
            Event::Done(_) => None,
        })
        .collect()
}

/// Hands out a log's messages in order, checking each sender.
pub struct Inbox {
    msgs: std::vec::IntoIter<(PartyId, Vec<u8>)>,
}

impl Inbox {
    /// The messages of `events`.
    pub fn new(events: &[Event]) -> Inbox {
        Inbox {
            msgs: messages(events).into_iter(),
        }
    }
    /// The next message, which must come from `from`.
    pub fn take(&mut self, from: PartyId) -> Vec<u8> {
        let (p, m) = self.msgs.next().expect("a further message");
        assert_eq!(p, from, "sender");
        m
    }
    /// Asserts that every message was read.
    pub fn end(mut self) {
        assert!(self.msgs.next().is_none(), "unread messages");
    }
}

/// A feature: w-bit values derived from a view, and whether the protocol makes it uniform.
struct Feature {
    name: String,
    width: u32,
    must_be_uniform: bool,
    vals: Vec<u64>,
}

/// How two fields' words combine into a feature.
type Combine = fn(u64, u64) -> u64;

fn mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// The features of a view: every field; every field's differences of neighbouring present
/// elements (a mask reused across elements); and the sum, difference and XOR of every pair
/// of fields over the elements both hold, in the narrower width.
///
/// Which must be uniform: a field, its neighbour differences, and combinations of two
/// components or of two message fields. A combination of a component with a message field
/// need not be (a party's share is often a received message, or one plus local terms), but,
/// like every feature, must not depend on the secret. `uniform_components` false exempts
/// components and their combinations (`trunc_prob`'s shares have only k-d random bits).
fn features(v: &View, uniform_components: bool) -> Vec<Feature> {
    let mut out = Vec::new();
    let comp_ok = |f: &Field| f.kind == Kind::Message || uniform_components;
    for f in &v.fields {
        let vals: Vec<u64> = f.words.iter().flatten().copied().collect();
        let adj: Vec<u64> = vals
            .windows(2)
            .map(|p| p[1].wrapping_sub(p[0]) & mask(f.width))
            .collect();
        out.push(Feature {
            name: f.name.clone(),
            width: f.width,
            must_be_uniform: comp_ok(f),
            vals,
        });
        out.push(Feature {
            name: format!("{} neighbour difference", f.name),
            width: f.width,
            must_be_uniform: comp_ok(f),
            vals: adj,
        });
    }
    for (i, f) in v.fields.iter().enumerate() {
        for g in &v.fields[i + 1..] {
            let w = f.width.min(g.width);
            let m = mask(w);
            let both: Vec<(u64, u64)> = f
                .words
                .iter()
                .zip(&g.words)
                .filter_map(|(x, y)| Some((x.as_ref()? & m, y.as_ref()? & m)))
                .collect();
            if both.len() < 64 {
                continue;
            }
            let uniform = f.kind == g.kind && comp_ok(f) && comp_ok(g);
            let ops: [(&str, Combine); 3] = [
                ("+", |x, y| x.wrapping_add(y)),
                ("-", |x, y| x.wrapping_sub(y)),
                ("^", |x, y| x ^ y),
            ];
            for (op, fun) in ops {
                out.push(Feature {
                    name: format!("{} {op} {}", f.name, g.name),
                    width: w,
                    must_be_uniform: uniform,
                    vals: both.iter().map(|(x, y)| fun(*x, *y) & m).collect(),
                });
            }
        }
    }
    out
}

/// Counts of what [`check_views`] tested.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Features compared.
    pub features: usize,
    /// Tests run (uniformity and two-sample statistics).
    pub tests: usize,
}

/// Checks one party's views of two runs that differ only in the secret: they have the same
/// fields, every feature has the same distribution in both, and every feature the protocol
/// makes uniform is uniform in both. Returns the failures, named by `what`.
pub fn check_views(
    what: &str,
    a: &View,
    b: &View,
    uniform_components: bool,
) -> (Vec<String>, Tally) {
    let names = |v: &View| -> Vec<(String, u32, Vec<bool>)> {
        v.fields
            .iter()
            .map(|f| {
                let present = f.words.iter().map(|w| w.is_some()).collect();
                (f.name.clone(), f.width, present)
            })
            .collect()
    };
    assert_eq!(
        names(a),
        names(b),
        "{what}: the views' shapes depend on the secret"
    );
    let (fa, fb) = (
        features(a, uniform_components),
        features(b, uniform_components),
    );
    let mut fails = Vec::new();
    let mut tally = Tally::default();
    for (x, y) in fa.iter().zip(&fb) {
        if x.vals.len() < 64 {
            continue;
        }
        tally.features += 1;
        let mut f: Vec<Failure> = same_distribution(&x.vals, &y.vals, x.width);
        tally.tests += 3;
        if x.must_be_uniform {
            f.extend(uniform(&x.vals, x.width));
            f.extend(uniform(&y.vals, y.width));
            tally.tests += 6;
        }
        for e in f {
            fails.push(format!(
                "{what}: [{}] {}: {} (p = {:.1e})",
                x.name, e.test, e.detail, e.p
            ));
        }
    }
    (fails, tally)
}

/// Asserts no failures, listing the first few.
pub fn assert_clean(fails: &[String], tally: Tally) {
    eprintln!(
        "{} features, {} tests, {} failures",
        tally.features,
        tally.tests,
        fails.len()
    );
    assert!(
        fails.is_empty(),
        "{} failures in {} tests, e.g.:\n{}",
        fails.len(),
        tally.tests,
        fails
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
