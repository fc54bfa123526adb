//! The protocol seam: what the VM asks of an MPC protocol (run one instruction, say what it
//! costs), the operands it hands over ([`Args`]) and the party's plaintext side ([`Host`]).
//!
//! ABY3 ([`crate::ops::Aby3`]) is the only implementation today; the VM picks the
//! implementation from the protocol id in the plan header ([`crate::vm::protocol_for`]).
//! Values are replicated shares ([`Val`]); a protocol with other share types would make
//! them part of this seam.

use crate::cost::Cost;
use crate::ctx::Ctx;
use crate::error::RtError;
use crate::share::Val;
use mpcc_ir::{Graph, InputEncoding, Node, ValueType};

/// Operand views for one instruction.
pub struct Args<'a> {
    /// Operand values.
    pub vals: Vec<&'a Val>,
    /// Operand types.
    pub tys: Vec<&'a ValueType>,
    /// Output type.
    pub out: &'a ValueType,
    /// For each operand, the index of a share component known to be zero (see
    /// [`Protocol::zero_components`]); `None` when unknown.
    pub zero: Vec<Option<u8>>,
}

/// A party's plaintext side of a run: where its inputs and weights come from and where the
/// outputs revealed to it go. Source and sink instructions call it; the VM implements it over
/// [`crate::vm::PartyData`].
pub trait Host {
    /// Input `name` as ring elements of type `ty` (asked only of the input's owner).
    fn input(
        &self,
        name: &str,
        encoding: &InputEncoding,
        ty: &ValueType,
    ) -> Result<Vec<u64>, RtError>;
    /// Weight `name` as ring elements of type `ty` (asked only of parties that hold the
    /// weights file: the owner, or everyone for a public weight).
    fn weight(&self, name: &str, ty: &ValueType) -> Result<Vec<u64>, RtError>;
    /// Receives output `name` of type `ty`, revealed to this party as ring elements.
    fn output(&mut self, name: &str, ty: &ValueType, values: &[u64]) -> Result<(), RtError>;
    /// This party's share of state `name`, kept from an earlier run
    /// ([`InputEncoding::State`]).
    fn state(&self, name: &str, _ty: &ValueType) -> Result<Val, RtError> {
        Err(RtError::Input(format!(
            "this run holds no state '{name}' (a generation plan's cache runs with `mpcc generate`)"
        )))
    }
    /// Keeps this party's share of `name`, an output to no party, as state for a later run.
    fn keep(&mut self, name: &str, _value: Val) -> Result<(), RtError> {
        Err(RtError::Internal(format!("no host to keep state '{name}'")))
    }
}

/// A host without data, for running instructions that are neither sources nor sinks (tests,
/// benchmarks); every call fails.
pub struct NoHost;

impl Host for NoHost {
    fn input(&self, name: &str, _: &InputEncoding, _: &ValueType) -> Result<Vec<u64>, RtError> {
        Err(RtError::Internal(format!(
            "no host data for input '{name}'"
        )))
    }
    fn weight(&self, name: &str, _: &ValueType) -> Result<Vec<u64>, RtError> {
        Err(RtError::Internal(format!(
            "no host data for weight '{name}'"
        )))
    }
    fn output(&mut self, name: &str, _: &ValueType, _: &[u64]) -> Result<(), RtError> {
        Err(RtError::Internal(format!(
            "no host to receive output '{name}'"
        )))
    }
}

/// An MPC protocol: how each plan instruction runs at one party, and what it costs.
///
/// **Architecture Invariant:** a run's measured rounds and bytes per instruction equal
/// [`Protocol::cost`] (tested for every kernel).
pub trait Protocol: Sync {
    /// The protocol id a plan header names.
    fn id(&self) -> mpcc_ir::plan::Protocol;
    /// Facts about `graph` computed once before a run: for each value, the index of a share
    /// component that is statically zero (handed to instructions in [`Args::zero`]).
    fn zero_components(&self, graph: &Graph) -> Vec<Option<u8>>;
    /// Runs `node` as party `ctx.id`.
    fn exec(
        &self,
        ctx: &mut Ctx,
        host: &mut dyn Host,
        node: &Node,
        args: &Args,
    ) -> Result<Val, RtError>;
    /// Predicted cost of `node` in `graph`.
    fn cost(&self, graph: &Graph, node: &Node) -> Cost;
}
