//! Replicated shares and run-time values.

/// 2-out-of-3 replicated arithmetic shares held by party i: `a = x_i`, `b = x_{i+1}`,
/// with `x = x_0 + x_1 + x_2 mod 2^k`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AShare {
    /// x_i.
    pub a: Vec<u64>,
    /// x_{i+1}.
    pub b: Vec<u64>,
}

/// A borrowed view of replicated shares (a slice of an [`AShare`]).
#[derive(Clone, Copy, Debug)]
pub struct ShareRef<'a> {
    /// x_i.
    pub a: &'a [u64],
    /// x_{i+1}.
    pub b: &'a [u64],
}

impl AShare {
    /// The whole sharing, borrowed.
    pub fn view(&self) -> ShareRef<'_> {
        ShareRef {
            a: &self.a,
            b: &self.b,
        }
    }
    /// Elements `range`, borrowed.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ShareRef<'_> {
        ShareRef {
            a: &self.a[range.clone()],
            b: &self.b[range],
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.a.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }
    /// Applies a local, element-moving map (shape ops) to both components.
    pub fn map(&self, f: impl Fn(&[u64]) -> Vec<u64>) -> AShare {
        AShare {
            a: f(&self.a),
            b: f(&self.b),
        }
    }
}

/// 2-out-of-3 replicated boolean shares: `x = x_0 ^ x_1 ^ x_2`, each word holds up to 64
/// bits of one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BShare {
    /// x_i.
    pub a: Vec<u64>,
    /// x_{i+1}.
    pub b: Vec<u64>,
}

/// A value in a VM slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// Known to all parties.
    Pub(Vec<u64>),
    /// Secret-shared.
    Sec(AShare),
}

impl Val {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Val::Pub(v) => v.len(),
            Val::Sec(s) => s.len(),
        }
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Applies a local element-moving map (shape ops).
    pub fn map(&self, f: impl Fn(&[u64]) -> Vec<u64>) -> Val {
        match self {
            Val::Pub(v) => Val::Pub(f(v)),
            Val::Sec(s) => Val::Sec(s.map(f)),
        }
    }
    /// Bytes this value occupies in memory.
    pub fn mem_bytes(&self) -> u64 {
        match self {
            Val::Pub(v) => 8 * v.len() as u64,
            Val::Sec(s) => 16 * s.len() as u64,
        }
    }
}
