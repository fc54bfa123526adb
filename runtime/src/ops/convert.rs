//! Ring conversions: `downcast` (Z_2^64 → Z_2^32: a truncation, then a local drop of the
//! high bits) and `upcast` (Z_2^32 → Z_2^64: Ditto's two-round lift, then a local shift).

use super::{secret, Instr, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::convert;
use crate::protocol::{Args, Host};
use crate::share::Val;
use mpcc_ir::ValueType;

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
}
