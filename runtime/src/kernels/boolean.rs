//! Boolean-share protocols: AND, arithmetic-to-boolean with a parallel-prefix adder, MSB
//! extraction, bit injection (boolean-to-arithmetic).
