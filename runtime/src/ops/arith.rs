//! Arithmetic instructions: `add`, `sub`, `neg`, `shl` (local), `mul` and `select` (one round
//! for two secret operands), `matmul` and `trunc`.

use super::{at_out_shape, secret, Instr, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::{elementwise, matmul};
use crate::protocol::{Args, Host};
use crate::share::Val;
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
}
