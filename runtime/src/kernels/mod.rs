//! ABY3 protocol kernels: functions that take shares or values and return shares or values,
//! each with its cost function beside it. They know nothing of IR ops: the op table
//! ([`crate::ops`]) matches ops and calls them.
//!
//! [`arith`] (input sharing, reveal, products, truncation), [`elementwise`] and [`matmul`]
//! (the arithmetic ops on public or secret values), [`common`] (local share arithmetic),
//! [`shape`] (local shape ops), [`bits`], [`carry`], [`compare`] and [`bitdec`] (boolean
//! shares, the parallel-prefix comparison, bit decomposition), [`inject`] (bit injection,
//! multiplexers), [`boolean`] (`ge`, `relu`, `max_axis`, `msb_weights`), [`poly`] (power
//! trees, `poly`, `piecewise_poly`, `exp_taylor`), [`invert`] (`reciprocal`, `rsqrt`),
//! [`convert`] (ring conversions between Z_2^64 and Z_2^32: `downcast`, `upcast`), [`sine`]
//! (SecFormer's sine protocol: `sin_prep`, `sin_series`), and
//! [`approx`] (the approximation kernels' plaintext references and error bounds).

pub mod approx;
pub mod arith;
pub mod bitdec;
pub mod bits;
pub mod boolean;
pub mod carry;
pub mod common;
pub mod compare;
pub mod convert;
pub mod elementwise;
pub mod inject;
pub mod invert;
pub mod matmul;
pub mod poly;
pub mod shape;
pub mod sine;
