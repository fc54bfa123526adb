//! Sources and the sink: `input` and `weight` (shared by their owner, or public), `const`,
//! and `output`, the only instruction that reconstructs a secret. A `state` input takes the
//! shares each party kept from an earlier run, and an output to no party keeps them: neither
//! sends anything.

use super::{secret, Flow, Instr, SimArgs, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::arith;
use crate::protocol::{Args, Host};
use crate::ring::encode;
use crate::share::Val;
use crate::sim::fixed::Sim;
use mpcc_ir::{InputEncoding, PartyId, ValueType, Vis, MODEL_OWNER};

/// `input`: the owner encodes its data and shares it.
pub(super) struct Input<'o> {
    pub name: &'o str,
    pub owner: PartyId,
    pub encoding: &'o InputEncoding,
}

impl Instr for Input<'_> {
    fn exec(&self, ctx: &mut Ctx, host: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let out = args.out;
        if let InputEncoding::State = self.encoding {
            let v = host.state(self.name, out)?;
            if v.len() != out.len() {
                return Err(RtError::Input(format!(
                    "state '{}' holds {} elements; the plan expects {:?}",
                    self.name,
                    v.len(),
                    out.shape
                )));
            }
            return Ok(v);
        }
        let encoded = if ctx.id == self.owner {
            Some(host.input(self.name, self.encoding, out)?)
        } else {
            None
        };
        let s = arith::share_input(ctx, self.owner, encoded.as_deref(), out.len(), out.ring)?;
        Ok(Val::Sec(s))
    }
    fn cost(&self, _: &[&ValueType], out: &ValueType) -> Cost {
        if let InputEncoding::State = self.encoding {
            return Cost::ZERO;
        }
        arith::share_input_cost(self.owner, out.len(), out.ring)
    }
    fn sim(&self, _: &mut Sim, host: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        host.input(self.name, self.encoding, args.out)
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
    fn zero(&self, _: &Zeros) -> Option<u8> {
        match self.encoding {
            // Shares kept from another run: no component is known to be zero.
            InputEncoding::State => None,
            InputEncoding::Fixed | InputEncoding::Int | InputEncoding::OneHot { .. } => {
                Some((self.owner + 2) % 3)
            }
        }
    }
}

/// `weight`: public weights are read by every party; secret ones shared by the model owner.
pub(super) struct Weight<'o> {
    pub name: &'o str,
}

impl Instr for Weight<'_> {
    fn exec(&self, ctx: &mut Ctx, host: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let out = args.out;
        if out.vis == Vis::Public {
            return Ok(Val::Pub(host.weight(self.name, out)?));
        }
        let encoded = if ctx.id == MODEL_OWNER {
            Some(host.weight(self.name, out)?)
        } else {
            None
        };
        let s = arith::share_input(ctx, MODEL_OWNER, encoded.as_deref(), out.len(), out.ring)?;
        Ok(Val::Sec(s))
    }
    fn cost(&self, _: &[&ValueType], out: &ValueType) -> Cost {
        if out.vis.is_secret() {
            arith::share_input_cost(MODEL_OWNER, out.len(), out.ring)
        } else {
            Cost::ZERO
        }
    }
    fn sim(&self, _: &mut Sim, host: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        host.weight(self.name, args.out)
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
    fn zero(&self, _: &Zeros) -> Option<u8> {
        Some((MODEL_OWNER + 2) % 3)
    }
}

/// `const`: a public constant encoded at the output's scale (free).
pub(super) struct Const<'o> {
    pub values: &'o [f64],
}

impl Const<'_> {
    fn encoded(&self, out: &ValueType) -> Vec<u64> {
        self.values
            .iter()
            .map(|v| encode(*v, out.scale, out.ring))
            .collect()
    }
}

impl Instr for Const<'_> {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(Val::Pub(self.encoded(args.out)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(self.encoded(args.out))
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
}

/// `output`: reveals the operand to the parties in `to`, which hand it to their host. The
/// instruction's own slot holds an empty public value.
pub(super) struct Output<'o> {
    pub name: &'o str,
    pub to: &'o [PartyId],
}

impl Instr for Output<'_> {
    fn exec(&self, ctx: &mut Ctx, host: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        if self.to.is_empty() {
            host.keep(self.name, args.vals[0].clone())?;
            return Ok(Val::Pub(Vec::new()));
        }
        let revealed = match args.vals[0] {
            Val::Pub(v) => self.to.contains(&ctx.id).then(|| v.clone()),
            Val::Sec(s) => arith::reveal(ctx, s, self.to, args.out.ring)?,
        };
        if let Some(v) = revealed {
            host.output(self.name, args.out, &v)?;
        }
        Ok(Val::Pub(Vec::new()))
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        if secret(tys, 0) && !self.to.is_empty() {
            arith::reveal_cost(self.to, out.len(), out.ring)
        } else {
            Cost::ZERO
        }
    }
    /// Hands the value to the host (the simulation reveals every output); the slot is empty.
    fn sim(&self, _: &mut Sim, host: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        host.output(self.name, args.out, args.vals[0])?;
        Ok(Vec::new())
    }
    fn flow(&self) -> Flow {
        Flow::Source
    }
}
