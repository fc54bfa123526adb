//! Arithmetic instructions: `add`, `sub`, `neg`, `shl` (local), `mul` and `select` (one round
//! for two secret operands), `matmul` and `trunc`.

use super::{at_out_shape, secret, Flow, Instr, SimArgs, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::{elementwise, matmul};
use crate::protocol::{Args, Host};
use crate::share::Val;
use crate::sim::fixed::{signed, Sim};
use mpcc_ir::ValueType;

/// `add`, or `sub` with `sub` (local).
pub(super) struct AddSub {
    pub sub: bool,
}

impl Instr for AddSub {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let (x, y) = (at_out_shape(args, 0), at_out_shape(args, 1));
        Ok(elementwise::add_sub(
            ctx.id,
            &x,
            &y,
            self.sub,
            args.out.ring,
        ))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (x, y) = (args.at_out_shape(0), args.at_out_shape(1));
        let (ring, scale) = (args.out.ring, args.out.scale);
        let step = if self.sub { "sub" } else { "add" };
        Ok(x.iter()
            .zip(y.iter())
            .enumerate()
            .map(|(i, (a, b))| {
                s.elem = i;
                if self.sub {
                    s.sub(*a, *b, ring, step, scale)
                } else {
                    s.add(*a, *b, ring, step, scale)
                }
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        if z.has_public {
            z.first_secret.filter(|&c| c != 0)
        } else {
            z.all_secret_same
        }
    }
}

/// `neg` (local).
pub(super) struct Neg;

impl Instr for Neg {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(elementwise::neg(args.vals[0], args.out.ring))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (ring, scale) = (args.out.ring, args.out.scale);
        Ok(args.vals[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                s.elem = i;
                s.fit(-signed(*v, ring), ring, "neg", scale)
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `shl` (local).
pub(super) struct Shl {
    pub bits: u32,
}

impl Instr for Shl {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(elementwise::shl(args.vals[0], self.bits, args.out.ring))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (ring, scale) = (args.out.ring, args.out.scale);
        Ok(args.vals[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                s.elem = i;
                s.shl(*v, self.bits, ring, "shl", scale)
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `mul` and `select` (a product by 0/1 bits, kept apart so that reports name selects).
pub(super) struct Mul;

impl Instr for Mul {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let (x, y) = (at_out_shape(args, 0), at_out_shape(args, 1));
        Ok(elementwise::mul(ctx, &x, &y, args.out.ring)?)
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        elementwise::mul_cost(out.len(), secret(tys, 0) && secret(tys, 1), out.ring)
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (x, y) = (args.at_out_shape(0), args.at_out_shape(1));
        let (ring, scale) = (args.out.ring, args.out.scale);
        Ok(x.iter()
            .zip(y.iter())
            .enumerate()
            .map(|(i, (a, b))| {
                s.elem = i;
                s.mul(*a, *b, ring, "mul", scale)
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Product
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret.filter(|_| z.has_public)
    }
}

/// `matmul`.
pub(super) struct MatMul;

impl Instr for MatMul {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let (sa, sb) = (&args.tys[0].shape, &args.tys[1].shape);
        let zero = [args.zero[0], args.zero[1]];
        let (a, b) = (args.vals[0], args.vals[1]);
        Ok(matmul::matmul(ctx, a, b, sa, sb, zero, args.out.ring)?)
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        let secret = [secret(tys, 0), secret(tys, 1)];
        matmul::matmul_cost(&tys[0].shape, &tys[1].shape, out.len(), secret, out.ring)
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let (sa, sb) = (&args.tys[0].shape, &args.tys[1].shape);
        Ok(crate::sim::matmul(
            s,
            args.vals[0],
            args.vals[1],
            sa,
            sb,
            args.out,
        ))
    }
    fn flow(&self) -> Flow {
        Flow::MatMul
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret.filter(|_| z.has_public)
    }
}

/// `trunc`: an arithmetic shift of a public value, the truncation protocol on a secret one.
pub(super) struct Trunc {
    pub bits: u32,
}

impl Instr for Trunc {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(elementwise::trunc(
            ctx,
            args.vals[0],
            self.bits,
            args.out.ring,
        )?)
    }
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost {
        elementwise::trunc_cost(out.len(), secret(tys, 0), out.ring)
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let ring = args.out.ring;
        let scale = args.tys[0].scale;
        let secret = args.tys[0].vis.is_secret();
        Ok(args.vals[0]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                s.elem = i;
                if secret {
                    s.trunc(*v, self.bits, ring, "trunc", scale)
                } else {
                    Sim::trunc_public(*v, self.bits, ring)
                }
            })
            .collect())
    }
    fn flow(&self) -> Flow {
        Flow::Elementwise
    }
}
