//! Ring conversions: `downcast` (Z_2^64 → Z_2^32: a truncation, then a local drop of the
//! high bits) and `upcast` (Z_2^32 → Z_2^64: Ditto's two-round lift, then a local shift).

use super::{secret, Flow, Instr, SimArgs, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::convert;
use crate::protocol::{Args, Host};
use crate::share::Val;
use crate::sim::fixed::{reduce, signed, EventKind, Sim};
use mpcc_ir::{Ring, ValueType};

/// `downcast`: [`convert::downcast`].
pub(super) struct Downcast {
    pub shift: u32,
}

impl Instr for Downcast {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(convert::downcast(ctx, args.vals[0], self.shift)?)
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        convert::downcast_cost(out.len(), secret(tys, 0), self.shift)
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (secret, scale) = (args.tys[0].vis.is_secret(), args.tys[0].scale);
        let out_scale = args.out.scale;
        Ok(args.vals[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                s.elem = i;
                let t = match (self.shift, secret) {
                    (0, _) => *v,
                    (d, true) => s.trunc(*v, d, Ring::Z64, "downcast: truncation", scale),
                    (d, false) => Sim::trunc_public(*v, d, Ring::Z64),
                };
                let wide = signed(t, Ring::Z64);
                if signed(t & Ring::Z32.mask(), Ring::Z32) != wide {
                    s.flag(EventKind::Wrap, "downcast: narrow", wide, out_scale);
                }
                t & Ring::Z32.mask()
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        // Without a truncation every share component is only narrowed: zero stays zero.
        z.first_secret.filter(|_| self.shift == 0)
    }
}

/// `upcast`: [`convert::upcast`].
pub(super) struct Upcast {
    pub shift: u32,
}

impl Instr for Upcast {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(convert::upcast(ctx, args.vals[0], self.shift)?)
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        convert::upcast_cost(out.len(), secret(tys, 0))
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (secret, scale) = (args.tys[0].vis.is_secret(), args.tys[0].scale);
        let lim = convert::UPCAST_OFFSET as i128;
        Ok(args.vals[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                s.elem = i;
                let x = signed(*v, Ring::Z32);
                if secret && !(-lim..=lim).contains(&x) {
                    s.flag(EventKind::UpcastRange, "upcast", x, scale);
                }
                let wide = reduce(x, Ring::Z64);
                s.shl(
                    wide,
                    self.shift,
                    Ring::Z64,
                    "upcast: shift",
                    scale + self.shift,
                )
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
}
