//! Helpers shared by the ir crate's integration tests.
#![allow(dead_code)]

use mpcc_ir::typing::TypeError;
use mpcc_ir::*;

/// A client-secret type in Z_2^64.
pub fn sec(shape: &[usize], scale: u32) -> ValueType {
    ValueType::z64(shape, scale, Vis::Client)
}

/// A graph of client inputs `x0, x1, …` of types `inputs`, then `op` over them (node origin
/// `"op"`, declared output shape `shape` where the op needs one), then an output `y` to the
/// client (unless `op` is itself an output).
pub fn one_op_graph(
    op: &Op,
    inputs: &[ValueType],
    shape: Option<&[usize]>,
) -> Result<Graph, TypeError> {
    let mut g = Graph::new(18);
    let ins: Vec<ValueId> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let input = Op::Input {
                name: format!("x{i}"),
                owner: CLIENT,
                encoding: InputEncoding::Fixed,
            };
            g.add(input, &[], t.clone(), &format!("x{i}"))
        })
        .collect();
    let y = g.add_typed(op.clone(), &ins, shape, "op")?;
    if !matches!(op, Op::Output { .. }) {
        let out = Op::Output {
            name: "y".into(),
            to: vec![CLIENT],
        };
        g.add_typed(out, &[y], None, "y")?;
    }
    Ok(g)
}
