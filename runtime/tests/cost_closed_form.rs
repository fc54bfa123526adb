//! Costs are closed-form in the shapes: the kernels' cost functions give the figures the
//! per-element role rotation gave (recorded before the change), and the cost of an
//! instruction over 10^9 elements comes back at once, as the expected multiple of a small
//! one, without memory per element.
use mpcc_ir::{Op, Piece, Ring};
use mpcc_runtime::kernels::{bitdec, boolean};
use mpcc_runtime::ops::secret_op_cost;
use mpcc_runtime::Cost;
use std::time::{Duration, Instant};

/// `[rounds, bytes of party 0, 1, 2, macs]`.
fn figures(c: Cost) -> [u64; 5] {
    [c.rounds, c.bytes[0], c.bytes[1], c.bytes[2], c.macs]
}

/// The comparison kernels' costs (whose messages rotate over three blocks of elements)
/// equal the figures the per-element `Roles` computation gave, for sizes that do and do
/// not divide by 3 and for max trees of odd and even lengths.
#[test]
fn closed_form_equals_per_element_figures() {
    let cases: Vec<(Cost, [u64; 5])> = vec![
        (boolean::ge_const_cost(1, 1, Ring::Z64), [8, 17, 17, 42, 2]),
        (boolean::ge_const_cost(1, 3, Ring::Z64), [8, 48, 48, 65, 6]),
        (boolean::msb_cost(1, Ring::Z64), [6, 9, 9, 35, 0]),
        (boolean::relu_cost(1, Ring::Z64), [8, 17, 17, 50, 6]),
        (boolean::bit_inject_cost(1, Ring::Z64), [2, 8, 8, 8, 2]),
        (
            boolean::msb_weights_cost(1, 2, Ring::Z64),
            [7, 453, 453, 1198, 183],
        ),
        (bitdec::a2b_cost(1, Ring::Z64), [8, 81, 81, 81, 0]),
        (boolean::ge_const_cost(2, 1, Ring::Z64), [8, 33, 58, 58, 4]),
        (
            boolean::ge_const_cost(2, 3, Ring::Z64),
            [8, 95, 112, 112, 12],
        ),
        (boolean::msb_cost(2, Ring::Z64), [6, 16, 42, 42, 0]),
        (boolean::relu_cost(2, Ring::Z64), [8, 33, 66, 66, 12]),
        (boolean::bit_inject_cost(2, Ring::Z64), [2, 16, 16, 16, 4]),
        (
            boolean::msb_weights_cost(2, 2, Ring::Z64),
            [7, 904, 1649, 1649, 366],
        ),
        (bitdec::a2b_cost(2, Ring::Z64), [8, 160, 160, 160, 0]),
        (
            boolean::ge_const_cost(5, 1, Ring::Z64),
            [8, 105, 130, 130, 10],
        ),
        (
            boolean::ge_const_cost(5, 3, Ring::Z64),
            [8, 249, 266, 266, 30],
        ),
        (boolean::msb_cost(5, Ring::Z64), [6, 64, 89, 89, 0]),
        (boolean::relu_cost(5, Ring::Z64), [8, 113, 146, 146, 30]),
        (boolean::bit_inject_cost(5, Ring::Z64), [2, 40, 40, 40, 10]),
        (
            boolean::msb_weights_cost(5, 2, Ring::Z64),
            [7, 3002, 3747, 3747, 915],
        ),
        (bitdec::a2b_cost(5, Ring::Z64), [8, 397, 397, 397, 0]),
        (
            boolean::ge_const_cost(100, 1, Ring::Z64),
            [8, 2346, 2346, 2371, 200],
        ),
        (
            boolean::ge_const_cost(100, 3, Ring::Z64),
            [8, 5107, 5107, 5124, 600],
        ),
        (boolean::msb_cost(100, Ring::Z64), [6, 1549, 1549, 1574, 0]),
        (
            boolean::relu_cost(100, Ring::Z64),
            [8, 2610, 2610, 2643, 600],
        ),
        (
            boolean::bit_inject_cost(100, Ring::Z64),
            [2, 800, 800, 800, 200],
        ),
        (
            boolean::msb_weights_cost(100, 2, Ring::Z64),
            [7, 69656, 69656, 70401, 18300],
        ),
        (bitdec::a2b_cost(100, Ring::Z64), [8, 7893, 7893, 7893, 0]),
        (
            boolean::ge_const_cost(1001, 1, Ring::Z64),
            [8, 23510, 23535, 23535, 2002],
        ),
        (
            boolean::ge_const_cost(1001, 3, Ring::Z64),
            [8, 51127, 51144, 51144, 6006],
        ),
        (
            boolean::msb_cost(1001, Ring::Z64),
            [6, 15544, 15569, 15569, 0],
        ),
        (
            boolean::relu_cost(1001, Ring::Z64),
            [8, 26174, 26207, 26207, 6006],
        ),
        (
            boolean::bit_inject_cost(1001, Ring::Z64),
            [2, 8008, 8008, 8008, 2002],
        ),
        (
            boolean::msb_weights_cost(1001, 2, Ring::Z64),
            [7, 699206, 699951, 699951, 183183],
        ),
        (
            bitdec::a2b_cost(1001, Ring::Z64),
            [8, 78999, 78999, 78999, 0],
        ),
        (
            boolean::max_axis_cost(&[1, 2], 1, Ring::Z64),
            [7, 17, 17, 82, 8],
        ),
        (
            boolean::max_axis_cost(&[3, 5], 1, Ring::Z64),
            [19, 456, 456, 456, 96],
        ),
        (
            boolean::max_axis_cost(&[2, 7, 3], 1, Ring::Z64),
            [19, 1338, 1338, 1338, 288],
        ),
        (
            boolean::max_axis_cost(&[4, 128], 1, Ring::Z64),
            [43, 15963, 15963, 24234, 4064],
        ),
        (
            boolean::max_axis_cost(&[5, 4, 2], 0, Ring::Z64),
            [19, 1013, 1273, 1273, 256],
        ),
        (
            boolean::max_axis_cost(&[1, 2, 16, 16], 3, Ring::Z64),
            [25, 17036, 18012, 18012, 3840],
        ),
        (boolean::ge_const_cost(1, 1, Ring::Z32), [7, 9, 9, 21, 2]),
        (boolean::ge_const_cost(1, 3, Ring::Z32), [7, 24, 24, 32, 6]),
        (boolean::msb_cost(1, Ring::Z32), [5, 5, 5, 18, 0]),
        (boolean::relu_cost(1, Ring::Z32), [7, 9, 9, 25, 6]),
        (boolean::bit_inject_cost(1, Ring::Z32), [2, 4, 4, 4, 2]),
        (
            boolean::msb_weights_cost(1, 2, Ring::Z32),
            [6, 104, 104, 284, 87],
        ),
        (bitdec::a2b_cost(1, Ring::Z32), [7, 33, 33, 33, 0]),
        (boolean::ge_const_cost(2, 1, Ring::Z32), [7, 17, 29, 29, 4]),
        (boolean::ge_const_cost(2, 3, Ring::Z32), [7, 47, 55, 55, 12]),
        (boolean::msb_cost(2, Ring::Z32), [5, 8, 21, 21, 0]),
        (boolean::relu_cost(2, Ring::Z32), [7, 17, 33, 33, 12]),
        (boolean::bit_inject_cost(2, Ring::Z32), [2, 8, 8, 8, 4]),
        (
            boolean::msb_weights_cost(2, 2, Ring::Z32),
            [6, 207, 387, 387, 174],
        ),
        (bitdec::a2b_cost(2, Ring::Z32), [7, 64, 64, 64, 0]),
        (boolean::ge_const_cost(5, 1, Ring::Z32), [7, 52, 64, 64, 10]),
        (
            boolean::ge_const_cost(5, 3, Ring::Z32),
            [7, 121, 129, 129, 30],
        ),
        (boolean::msb_cost(5, Ring::Z32), [5, 31, 43, 43, 0]),
        (boolean::relu_cost(5, Ring::Z32), [7, 56, 72, 72, 30]),
        (boolean::bit_inject_cost(5, Ring::Z32), [2, 20, 20, 20, 10]),
        (
            boolean::msb_weights_cost(5, 2, Ring::Z32),
            [6, 695, 875, 875, 435],
        ),
        (bitdec::a2b_cost(5, Ring::Z32), [7, 158, 158, 158, 0]),
        (
            boolean::ge_const_cost(100, 1, Ring::Z32),
            [7, 1129, 1129, 1141, 200],
        ),
        (
            boolean::ge_const_cost(100, 3, Ring::Z32),
            [7, 2447, 2447, 2455, 600],
        ),
        (boolean::msb_cost(100, Ring::Z32), [5, 732, 732, 744, 0]),
        (
            boolean::relu_cost(100, Ring::Z32),
            [7, 1261, 1261, 1277, 600],
        ),
        (
            boolean::bit_inject_cost(100, Ring::Z32),
            [2, 400, 400, 400, 200],
        ),
        (
            boolean::msb_weights_cost(100, 2, Ring::Z32),
            [6, 16173, 16173, 16353, 8700],
        ),
        (bitdec::a2b_cost(100, Ring::Z32), [7, 3118, 3118, 3118, 0]),
        (
            boolean::ge_const_cost(1001, 1, Ring::Z32),
            [7, 11298, 11310, 11310, 2002],
        ),
        (
            boolean::ge_const_cost(1001, 3, Ring::Z32),
            [7, 24481, 24489, 24489, 6006],
        ),
        (boolean::msb_cost(1001, Ring::Z32), [5, 7336, 7348, 7348, 0]),
        (
            boolean::relu_cost(1001, Ring::Z32),
            [7, 12630, 12646, 12646, 6006],
        ),
        (
            boolean::bit_inject_cost(1001, Ring::Z32),
            [2, 4004, 4004, 4004, 2002],
        ),
        (
            boolean::msb_weights_cost(1001, 2, Ring::Z32),
            [6, 162337, 162517, 162517, 87087],
        ),
        (
            bitdec::a2b_cost(1001, Ring::Z32),
            [7, 31201, 31201, 31201, 0],
        ),
        (
            boolean::max_axis_cost(&[1, 2], 1, Ring::Z32),
            [6, 9, 9, 41, 8],
        ),
        (
            boolean::max_axis_cost(&[3, 5], 1, Ring::Z32),
            [16, 228, 228, 228, 96],
        ),
        (
            boolean::max_axis_cost(&[2, 7, 3], 1, Ring::Z32),
            [16, 657, 657, 657, 288],
        ),
        (
            boolean::max_axis_cost(&[4, 128], 1, Ring::Z32),
            [36, 7771, 7771, 11851, 4064],
        ),
        (
            boolean::max_axis_cost(&[5, 4, 2], 0, Ring::Z32),
            [16, 497, 625, 625, 256],
        ),
        (
            boolean::max_axis_cost(&[1, 2, 16, 16], 3, Ring::Z32),
            [21, 8306, 8787, 8787, 3840],
        ),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        assert_eq!(figures(*got), *want, "case {i}");
    }
}

/// A small multiple of 24 elements: each block then holds a multiple of 8, so every
/// message of n = 24·q elements is exactly q times as long.
const Q: usize = 41_666_667;

/// The costs of instructions over about 10^9 elements come back at once (the old per-element
/// computation held 8 GB of indices for each) and are exactly Q times those of 24 elements.
#[test]
fn huge_instruction_cost_is_immediate() {
    let n = 24 * Q;
    assert!(n > 1_000_000_000);
    let gelu = Op::PiecewisePoly {
        breaks: vec![-4.0, -1.95, 3.0],
        pieces: vec![
            Piece::Zero,
            Piece::Poly(vec![-0.5054, -0.4223, -0.1181, -0.0110]),
            Piece::Poly(vec![0.0085, 0.5, 0.3603, 0.0, -0.0377, 0.0, 0.0018]),
            Piece::Identity,
        ],
    };
    let t0 = Instant::now();
    let pairs: Vec<(Cost, Cost)> = vec![
        (
            boolean::relu_cost(n, Ring::Z64),
            boolean::relu_cost(24, Ring::Z64),
        ),
        (
            boolean::ge_const_cost(n, 3, Ring::Z32),
            boolean::ge_const_cost(24, 3, Ring::Z32),
        ),
        (
            boolean::msb_weights_cost(n, 2, Ring::Z64),
            boolean::msb_weights_cost(24, 2, Ring::Z64),
        ),
        (
            bitdec::a2b_cost(n, Ring::Z64),
            bitdec::a2b_cost(24, Ring::Z64),
        ),
        (
            boolean::max_axis_cost(&[n, 128], 1, Ring::Z64),
            boolean::max_axis_cost(&[24, 128], 1, Ring::Z64),
        ),
        (
            secret_op_cost(&gelu, n, 18, Ring::Z64),
            secret_op_cost(&gelu, 24, 18, Ring::Z64),
        ),
    ];
    let took = t0.elapsed();
    // Microseconds in fact; the bound only leaves room for a loaded machine.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    for (i, (big, small)) in pairs.iter().enumerate() {
        assert_eq!(big.rounds, small.rounds, "case {i}");
        assert!(small.bytes.iter().all(|b| *b > 0), "case {i}");
        let q = Q as u64;
        assert_eq!(big.bytes, small.bytes.map(|b| b * q), "case {i}");
        assert_eq!(big.macs, small.macs * q, "case {i}");
    }
}
