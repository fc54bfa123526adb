//! Shape instructions: `reshape`, `transpose`, `slice`, `concat`, `broadcast`, `gather`,
//! `pad` and `reduce_sum`. They apply to each share component alike and are free.

use super::{at_out_shape, Flow, Instr, SimArgs, Zeros};
use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels::shape;
use crate::protocol::{Args, Host};
use crate::share::Val;
use crate::sim::fixed::Sim;
use mpcc_ir::ValueType;

/// `reshape`: same elements.
pub(super) struct Reshape;

impl Instr for Reshape {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(args.vals[0].clone())
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(args.vals[0].to_vec())
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `transpose`.
pub(super) struct Transpose<'o> {
    pub perm: &'o [usize],
}

impl Instr for Transpose<'_> {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(args.vals[0].map(|x| shape::transpose(x, &args.tys[0].shape, self.perm)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(shape::transpose(
            args.vals[0],
            &args.tys[0].shape,
            self.perm,
        ))
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `slice`.
pub(super) struct Slice {
    pub axis: usize,
    pub start: usize,
    pub end: usize,
    pub step: usize,
}

impl Instr for Slice {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let s = &args.tys[0].shape;
        Ok(args.vals[0].map(|x| shape::slice(x, s, self.axis, self.start, self.end, self.step)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(shape::slice(
            args.vals[0],
            &args.tys[0].shape,
            self.axis,
            self.start,
            self.end,
            self.step,
        ))
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `concat`: public parts of a secret concatenation join as trivial sharings.
pub(super) struct Concat {
    pub axis: usize,
}

impl Instr for Concat {
    fn exec(&self, ctx: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let shapes: Vec<&[usize]> = args.tys.iter().map(|t| t.shape.as_slice()).collect();
        Ok(shape::concat_vals(ctx.id, &args.vals, &shapes, self.axis))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let parts: Vec<(&[u64], &[usize])> = args
            .vals
            .iter()
            .zip(&args.tys)
            .map(|(v, t)| (*v, t.shape.as_slice()))
            .collect();
        Ok(shape::concat(&parts, self.axis))
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.all_secret_same.filter(|_| !z.has_public)
    }
}

/// `broadcast` to the output's shape.
pub(super) struct Broadcast;

impl Instr for Broadcast {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(at_out_shape(args, 0).into_owned())
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(args.at_out_shape(0).into_owned())
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `gather` with public indices.
pub(super) struct Gather<'o> {
    pub axis: usize,
    pub indices: &'o [usize],
}

impl Instr for Gather<'_> {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(args.vals[0].map(|x| shape::gather(x, &args.tys[0].shape, self.axis, self.indices)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(shape::gather(
            args.vals[0],
            &args.tys[0].shape,
            self.axis,
            self.indices,
        ))
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}

/// `pad` with zeros.
pub(super) struct Pad<'o> {
    pub pads: &'o [(usize, usize)],
}

impl Instr for Pad<'_> {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        Ok(args.vals[0].map(|x| shape::pad(x, &args.tys[0].shape, self.pads)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, _: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        Ok(shape::pad(args.vals[0], &args.tys[0].shape, self.pads))
    }
    fn flow(&self) -> Flow {
        Flow::Move
    }
}

/// `reduce_sum`, keeping the reduced axes as size 1.
pub(super) struct ReduceSum<'o> {
    pub axes: &'o [usize],
}

impl Instr for ReduceSum<'_> {
    fn exec(&self, _: &mut Ctx, _: &mut dyn Host, args: &Args) -> Result<Val, RtError> {
        let m = args.out.ring.mask();
        Ok(args.vals[0].map(|x| shape::reduce_sum(x, &args.tys[0].shape, self.axes, m)))
    }
    fn cost(&self, _: &[&ValueType], _: &ValueType) -> Cost {
        Cost::ZERO
    }
    fn sim(&self, s: &mut Sim, _: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError> {
        let x = args.tys[0];
        Ok(crate::sim::reduce_sum(
            s,
            args.vals[0],
            &x.shape,
            self.axes,
            x,
        ))
    }
    fn flow(&self) -> Flow {
        Flow::Reduce(self.axes.to_vec())
    }
    fn zero(&self, z: &Zeros) -> Option<u8> {
        z.first_secret
    }
}
