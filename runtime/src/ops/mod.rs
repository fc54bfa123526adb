//! The op table of the ABY3 VM, the one place where IR ops meet protocol kernels: for every
//! [`Op`] variant, one instruction type whose `exec`, `cost` and `sim` (the plaintext
//! simulation, [`crate::sim`]) sit side by side in
//! [`source`] (sources and the reveal), [`arith`] (arithmetic), [`convert`] (ring
//! conversions), [`shape`] (local shape ops) or [`nonlinear`] (comparisons and
//! approximations, and the high-level ops a plan may not hold).
//!
//! [`visit`] is the only `match` over [`Op`] in the runtime. It names every variant, with no
//! catch-all, so an op added to the IR does not compile here until its exec and cost exist.

mod arith;
mod convert;
mod nonlinear;
mod shape;
mod source;

use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::kernels;
use crate::protocol::{Args, Host, NoHost, Protocol};
use crate::share::{AShare, Val};
use crate::sim::fixed::Sim;
use mpcc_ir::{Graph, Node, Op, Ring, ValueType, Vis};
use std::borrow::Cow;

/// One kind of instruction under ABY3: how it runs and what it costs.
trait Instr {
    /// Runs the instruction as party `ctx.id`.
    fn exec(&self, ctx: &mut Ctx, host: &mut dyn Host, args: &Args) -> Result<Val, RtError>;
    /// Predicted cost for operands of types `tys` and an output of type `out`.
    fn cost(&self, tys: &[&ValueType], out: &ValueType) -> Cost;
    /// The plaintext reference at one element at scale f (approximation kernels only).
    fn plain(&self, _x: f64, _f: u32, _ring: Ring) -> Option<f64> {
        None
    }
    /// The output's statically zero share component, from the operands' (see
    /// [`zero_components`]); `None` (none known) unless the instruction keeps one.
    fn zero(&self, _z: &Zeros) -> Option<u8> {
        None
    }
    /// Runs the instruction on plaintext ring elements as its protocol computes them
    /// (the simulation, [`crate::sim`]): the same wrapping, the same public paths, secret
    /// truncations rounded by [`Sim`]; out-of-range steps are recorded there.
    fn sim(&self, s: &mut Sim, host: &mut dyn Host, args: &SimArgs) -> Result<Vec<u64>, RtError>;
    /// How an unreliable operand element reaches the output (for the simulation).
    fn flow(&self) -> Flow;
}

/// Operands of one instruction in the simulation: plaintext ring elements.
pub(crate) struct SimArgs<'a> {
    /// Operand values.
    pub vals: Vec<&'a [u64]>,
    /// Operand types.
    pub tys: Vec<&'a ValueType>,
    /// Output type.
    pub out: &'a ValueType,
}

impl SimArgs<'_> {
    /// Operand i at the output shape, copied only when it really broadcasts.
    pub fn at_out_shape(&self, i: usize) -> Cow<'_, [u64]> {
        let from = &self.tys[i].shape;
        if *from == self.out.shape {
            Cow::Borrowed(self.vals[i])
        } else {
            Cow::Owned(kernels::shape::broadcast(
                self.vals[i],
                from,
                &self.out.shape,
            ))
        }
    }
}

/// How the elements an instruction reads reach the elements it writes: the simulation's
/// taint of unreliable (out-of-range) elements follows it ([`crate::sim`]).
pub(crate) enum Flow {
    /// No operand (sources).
    Source,
    /// Elements move (shape ops): the instruction itself, run on the taint, moves it.
    Move,
    /// Output element i reads element i of each operand at the output shape.
    Elementwise,
    /// As [`Flow::Elementwise`], but an operand element that is an exact 0 gives 0
    /// whatever the other holds (`mul`, `select`).
    Product,
    /// A matrix product: output (i, j) reads row i and column j (exact zeros as in
    /// [`Flow::Product`]).
    MatMul,
    /// A reduction over these axes, kept as size 1.
    Reduce(Vec<usize>),
}

/// What is known of an instruction's operands' zero share components.
struct Zeros {
    /// That of the first secret operand.
    first_secret: Option<u8>,
    /// The component shared by all secret operands (when they agree).
    all_secret_same: Option<u8>,
    /// Whether some operand is public.
    has_public: bool,
}

/// Something to do with an instruction: run it, cost it, evaluate or analyse it.
trait Visit {
    /// The result.
    type Out;
    /// Does it with `instr`.
    fn visit(self, instr: &impl Instr) -> Self::Out;
}

/// The instruction of `op`, handed to `v`. Every variant is listed.
fn visit<V: Visit>(op: &Op, v: V) -> V::Out {
    use self::{arith as a, convert as cv, nonlinear as nl, shape as sh, source as src};
    match op {
        Op::Input {
            name,
            owner,
            encoding,
        } => v.visit(&src::Input {
            name,
            owner: *owner,
            encoding,
        }),
        Op::Weight { name } => v.visit(&src::Weight { name }),
        Op::Const { values } => v.visit(&src::Const { values }),
        Op::Output { name, to } => v.visit(&src::Output { name, to }),
        Op::Add => v.visit(&a::AddSub { sub: false }),
        Op::Sub => v.visit(&a::AddSub { sub: true }),
        Op::Neg => v.visit(&a::Neg),
        Op::Mul | Op::Select => v.visit(&a::Mul),
        Op::MatMul => v.visit(&a::MatMul),
        Op::Trunc { bits } => v.visit(&a::Trunc { bits: *bits }),
        Op::Shl { bits } => v.visit(&a::Shl { bits: *bits }),
        Op::Downcast { shift } => v.visit(&cv::Downcast { shift: *shift }),
        Op::Upcast { shift } => v.visit(&cv::Upcast { shift: *shift }),
        Op::Reshape => v.visit(&sh::Reshape),
        Op::Transpose { perm } => v.visit(&sh::Transpose { perm }),
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => v.visit(&sh::Slice {
            axis: *axis,
            start: *start,
            end: *end,
            step: *step,
        }),
        Op::Concat { axis } => v.visit(&sh::Concat { axis: *axis }),
        Op::Broadcast => v.visit(&sh::Broadcast),
        Op::Gather { axis, indices } => v.visit(&sh::Gather {
            axis: *axis,
            indices,
        }),
        Op::Pad { pads } => v.visit(&sh::Pad { pads }),
        Op::ReduceSum { axes } => v.visit(&sh::ReduceSum { axes }),
        Op::Ge { thresholds } => v.visit(&nl::Ge { thresholds }),
        Op::Relu => v.visit(&nl::Relu),
        Op::MaxAxis { axis } => v.visit(&nl::MaxAxis { axis: *axis }),
        Op::ExpTaylor { iters } => v.visit(&nl::ExpTaylor { iters: *iters }),
        Op::Reciprocal { iters } => v.visit(&nl::Reciprocal { iters: *iters }),
        Op::RsqrtGoldschmidt { iters } => v.visit(&nl::RsqrtGoldschmidt { iters: *iters }),
        Op::SinPrep { terms } => v.visit(&nl::SinPrep { terms: *terms }),
        Op::SinSeries { coeffs, period } => v.visit(&nl::SinSeries {
            coeffs,
            period: *period,
        }),
        Op::Rsqrt { iters } => v.visit(&nl::Rsqrt { iters: *iters }),
        Op::Poly { coeffs } => v.visit(&nl::Poly { coeffs }),
        Op::PiecewisePoly { breaks, pieces } => v.visit(&nl::PiecewisePoly { breaks, pieces }),
        Op::Gelu
        | Op::Erf
        | Op::Tanh
        | Op::Sigmoid
        | Op::Silu
        | Op::Exp
        | Op::Softmax { .. }
        | Op::RmsNorm { .. }
        | Op::Div
        | Op::Sqrt => v.visit(&nl::HighLevel { name: op.name() }),
    }
}

/// ABY3: 2-out-of-3 replicated sharing over Z_2^k, semi-honest, honest majority.
pub struct Aby3;

impl Protocol for Aby3 {
    fn id(&self) -> mpcc_ir::plan::Protocol {
        mpcc_ir::plan::Protocol::Aby3
    }
    fn zero_components(&self, graph: &Graph) -> Vec<Option<u8>> {
        zero_components(graph)
    }
    fn exec(
        &self,
        ctx: &mut Ctx,
        host: &mut dyn Host,
        node: &Node,
        args: &Args,
    ) -> Result<Val, RtError> {
        op_exec(ctx, host, &node.op, args)
    }
    fn cost(&self, graph: &Graph, node: &Node) -> Cost {
        node_cost(graph, node)
    }
}

/// Predicted cost of `node` in `graph` under ABY3, from the kernels' own cost definitions.
pub fn node_cost(graph: &Graph, node: &Node) -> Cost {
    let tys: Vec<&ValueType> = node.inputs.iter().map(|v| graph.ty(*v)).collect();
    op_cost(&node.op, &tys, graph.ty(node.output))
}

/// Predicted cost of `op` on operands of types `tys` with an output of type `out`.
pub fn op_cost(op: &Op, tys: &[&ValueType], out: &ValueType) -> Cost {
    struct CostOf<'t>(&'t [&'t ValueType], &'t ValueType);
    impl Visit for CostOf<'_> {
        type Out = Cost;
        fn visit(self, instr: &impl Instr) -> Cost {
            instr.cost(self.0, self.1)
        }
    }
    visit(op, CostOf(tys, out))
}

/// Runs `op` on `args` as party `ctx.id`.
pub fn op_exec(ctx: &mut Ctx, host: &mut dyn Host, op: &Op, args: &Args) -> Result<Val, RtError> {
    struct Exec<'c, 'h, 'a>(&'c mut Ctx, &'h mut dyn Host, &'c Args<'a>);
    impl Visit for Exec<'_, '_, '_> {
        type Out = Result<Val, RtError>;
        fn visit(self, instr: &impl Instr) -> Self::Out {
            instr.exec(self.0, self.1, self.2)
        }
    }
    visit(op, Exec(ctx, host, args))
}

/// Runs `op` on plaintext ring elements (the simulation, [`crate::sim`]).
pub(crate) fn op_sim(
    s: &mut Sim,
    host: &mut dyn Host,
    op: &Op,
    args: &SimArgs,
) -> Result<Vec<u64>, RtError> {
    struct SimOf<'s, 'h, 'a>(&'s mut Sim, &'h mut dyn Host, &'s SimArgs<'a>);
    impl Visit for SimOf<'_, '_, '_> {
        type Out = Result<Vec<u64>, RtError>;
        fn visit(self, instr: &impl Instr) -> Self::Out {
            instr.sim(self.0, self.1, self.2)
        }
    }
    visit(op, SimOf(s, host, args))
}

/// How `op`'s operand elements reach its output elements.
pub(crate) fn op_flow(op: &Op) -> Flow {
    struct FlowOf;
    impl Visit for FlowOf {
        type Out = Flow;
        fn visit(self, instr: &impl Instr) -> Flow {
            instr.flow()
        }
    }
    visit(op, FlowOf)
}

/// Cost of the unary kernel `op` on `n` secret elements at scale f (output of the same type).
pub fn secret_op_cost(op: &Op, n: usize, f: u32, ring: Ring) -> Cost {
    let ty = ValueType::new(&[n], ring, f, Vis::Secret);
    op_cost(op, &[&ty], &ty)
}

/// Runs the unary kernel `op` on the secret vector `x` at scale f (output of the same type).
pub fn exec_secret(
    ctx: &mut Ctx,
    op: &Op,
    x: &AShare,
    f: u32,
    ring: Ring,
) -> Result<AShare, RtError> {
    let ty = ValueType::new(&[x.len()], ring, f, Vis::Secret);
    let v = Val::Sec(x.clone());
    let args = Args {
        vals: vec![&v],
        tys: vec![&ty],
        out: &ty,
        zero: vec![None],
    };
    match op_exec(ctx, &mut NoHost, op, &args)? {
        Val::Sec(y) => Ok(y),
        Val::Pub(_) => Err(RtError::Internal(format!(
            "{} of a secret operand gave a public value",
            op.name()
        ))),
    }
}

/// The plaintext reference of an approximation kernel `op` at x (scale f in `ring`: a
/// piecewise function's breaks are taken as their encodings, as the protocol compares with
/// those). `None` for other ops.
pub fn plain_eval(op: &Op, x: f64, f: u32, ring: Ring) -> Option<f64> {
    struct Plain(f64, u32, Ring);
    impl Visit for Plain {
        type Out = Option<f64>;
        fn visit(self, instr: &impl Instr) -> Option<f64> {
            instr.plain(self.0, self.1, self.2)
        }
    }
    visit(op, Plain(x, f, ring))
}

/// For each value of `graph`, the index z of a share component x_z that is statically zero.
///
/// Input sharing by owner o leaves `x_{o+2} = 0`; element-moving ops, negation and products
/// with public values keep it; adding a public value keeps it unless z = 0 (public values are
/// added to x_0). A secret product of a value with a zero component needs one local product
/// per party instead of two (see [`kernels::arith::matmul_local_zero`]).
pub fn zero_components(graph: &Graph) -> Vec<Option<u8>> {
    struct ZeroOf<'z>(&'z Zeros);
    impl Visit for ZeroOf<'_> {
        type Out = Option<u8>;
        fn visit(self, instr: &impl Instr) -> Option<u8> {
            instr.zero(self.0)
        }
    }
    let mut z: Vec<Option<u8>> = vec![None; graph.values.len()];
    for node in &graph.nodes {
        let secret = |v: &mpcc_ir::ValueId| graph.ty(*v).vis.is_secret();
        let zs: Vec<Option<u8>> = node
            .inputs
            .iter()
            .filter(|v| secret(v))
            .map(|v| z[v.index()])
            .collect();
        let all_secret_same = if zs.len() == 1 || zs.windows(2).all(|w| w[0] == w[1]) {
            zs.first().copied().flatten()
        } else {
            None
        };
        let facts = Zeros {
            first_secret: zs.first().copied().flatten(),
            all_secret_same,
            has_public: node.inputs.iter().any(|v| !secret(v)),
        };
        z[node.output.index()] = visit(&node.op, ZeroOf(&facts));
    }
    z
}

/// Operand i at the output shape, copied only when it really broadcasts.
fn at_out_shape<'b>(args: &'b Args, i: usize) -> Cow<'b, Val> {
    let from = &args.tys[i].shape;
    if *from == args.out.shape {
        Cow::Borrowed(args.vals[i])
    } else {
        Cow::Owned(args.vals[i].map(|x| kernels::shape::broadcast(x, from, &args.out.shape)))
    }
}

/// True when operand i of an instruction is secret.
fn secret(tys: &[&ValueType], i: usize) -> bool {
    tys[i].vis.is_secret()
}
