//! The ONNX operators the front end lowers, by ONNX op type, as `mpcc inspect` reports them.
//! docs/ONNX-OPS.md's "ONNX operators" table lists exactly these (a test compares them), and
//! the tract-level table there says how each is lowered.

/// How far an ONNX operator is supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Lowered on run-time (secret) data.
    Yes,
    /// Only on compile-time data: shapes, constants, position tables (folded, or a lookup
    /// table of one-hot ids); on run-time data it is refused.
    CompileTime,
}

impl Support {
    /// The word `mpcc inspect` prints.
    pub fn word(self) -> &'static str {
        match self {
            Support::Yes => "supported",
            Support::CompileTime => "compile-time data only",
        }
    }
}

/// Every ONNX operator with a lowering, sorted by name.
pub const ONNX_OPS: &[(&str, Support)] = &[
    ("Add", Support::Yes),
    ("And", Support::Yes),
    ("Cast", Support::Yes),
    ("Concat", Support::Yes),
    ("Constant", Support::CompileTime),
    ("ConstantOfShape", Support::CompileTime),
    ("Conv", Support::Yes),
    ("Cos", Support::CompileTime),
    ("CumSum", Support::Yes),
    ("DequantizeLinear", Support::Yes),
    ("Div", Support::Yes),
    ("Einsum", Support::Yes),
    ("Equal", Support::Yes),
    ("Erf", Support::Yes),
    ("Exp", Support::Yes),
    ("Expand", Support::Yes),
    ("Flatten", Support::Yes),
    ("Gather", Support::Yes),
    ("Gemm", Support::Yes),
    ("Greater", Support::Yes),
    ("GreaterOrEqual", Support::Yes),
    ("Identity", Support::Yes),
    ("IsNaN", Support::Yes),
    ("LayerNormalization", Support::Yes),
    ("Less", Support::Yes),
    ("LessOrEqual", Support::Yes),
    ("MatMul", Support::Yes),
    ("Mul", Support::Yes),
    ("Neg", Support::Yes),
    ("Not", Support::Yes),
    ("Or", Support::Yes),
    ("Pad", Support::Yes),
    ("Pow", Support::Yes),
    ("QuantizeLinear", Support::Yes),
    ("Range", Support::CompileTime),
    ("Reciprocal", Support::Yes),
    ("ReduceMax", Support::Yes),
    ("ReduceMean", Support::Yes),
    ("ReduceSum", Support::Yes),
    ("Reshape", Support::Yes),
    ("Shape", Support::CompileTime),
    ("Sigmoid", Support::Yes),
    ("Sin", Support::CompileTime),
    ("Slice", Support::Yes),
    ("Softmax", Support::Yes),
    ("Split", Support::Yes),
    ("Sqrt", Support::Yes),
    ("Squeeze", Support::Yes),
    ("Sub", Support::Yes),
    ("Tanh", Support::Yes),
    ("Transpose", Support::Yes),
    ("Unsqueeze", Support::Yes),
    ("Where", Support::Yes),
];

/// The support of ONNX op type `op`, `None` when the front end has no lowering.
pub fn support(op: &str) -> Option<Support> {
    ONNX_OPS.iter().find(|(n, _)| *n == op).map(|(_, s)| *s)
}
