//! `Conv` for patch embeddings (ViT): a 2-D convolution whose stride equals its kernel, with
//! no padding, dilation or groups, is a reshape into patches and one matmul.

use super::lower::Lowerer;
use super::values::{Sec, Val};
use super::CompileError;
use mpcc_ir::Op;
use ndarray::IxDyn;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

impl Lowerer<'_> {
    /// Checks that `op` is a non-overlapping NCHW/OIHW patch convolution; returns (kh, kw).
    fn patch_kernel(&self, node: &TypedNode, op: &Conv) -> Result<(usize, usize), CompileError> {
        let ps = &op.pool_spec;
        let k = &ps.kernel_shape;
        let strides_ok = ps.strides.as_ref().is_some_and(|s| s[..] == k[..]);
        let dil_ok = ps
            .dilations
            .as_ref()
            .is_none_or(|d| d.iter().all(|&x| x == 1));
        let pad_ok = match &ps.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) => {
                b.iter().chain(a.iter()).all(|&p| p == 0)
            }
            _ => false,
        };
        let ok = k.len() == 2
            && strides_ok
            && dil_ok
            && pad_ok
            && op.group == 1
            && op.q_params.is_none()
            && matches!(ps.data_format, DataFormat::NCHW)
            && matches!(op.kernel_fmt, KernelFormat::OIHW);
        if !ok {
            return Err(self.unsupported(
                node,
                "only 2-D NCHW patch convolutions (stride = kernel, no padding, dilation or groups) are supported",
            ));
        }
        Ok((k[0], k[1]))
    }

    /// `Conv(x, kernel, bias)` as patches `[N, Ho*Wo, C*kh*kw]` times the kernel.
    pub fn conv(&mut self, node: &TypedNode, op: &Conv) -> Result<Val, CompileError> {
        let (kh, kw) = self.patch_kernel(node, op)?;
        let (x, w, b) = (
            self.input(node, 0)?,
            self.input(node, 1)?,
            self.input(node, 2)?,
        );
        let (Val::Known(wk), Val::Known(bk)) = (&w, &b) else {
            return Err(self.unsupported(node, "the convolution kernel and bias must be constants"));
        };
        let x = self.sec(node, &x)?.id;
        let xs = self.shape(x);
        if xs.len() != 4 || wk.t.rank() != 4 {
            return Err(self.unsupported(node, "a 2-D convolution needs rank-4 input and kernel"));
        }
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
        if h % kh != 0 || wd % kw != 0 {
            return Err(self.unsupported(node, "the image size is not a multiple of the patch"));
        }
        let (ho, wo) = (h / kh, wd / kw);
        let name = node.name.clone();
        let p = self.reshape(x, &[n, c, ho, kh, wo, kw], &name);
        let p = self.transpose(p, &[0, 2, 4, 1, 3, 5], &name);
        let p = self.reshape(p, &[n, ho * wo, c * kh * kw], &name);
        let kernel = self.known_f64(node, wk)?;
        let o = kernel.shape()[0];
        let kmat = kernel
            .into_shape_with_order(IxDyn(&[o, c * kh * kw]))
            .map_err(|e| self.unsupported(node, e.to_string()))?
            .reversed_axes()
            .as_standard_layout()
            .to_owned();
        let variant = format!("[{}x{o}]", c * kh * kw);
        let wv = self.materialize_layout(wk, &kmat, &variant, self.f, false);
        let m = self.emit(Op::MatMul, &[p, wv], &name);
        let m = self.rescale(m, self.f, &name);
        let bias = self.known_f64(node, bk)?;
        let bias = bias
            .into_shape_with_order(IxDyn(&[o]))
            .map_err(|e| self.unsupported(node, e.to_string()))?;
        let bv = self.materialize_layout(bk, &bias, &format!("[{o}]"), self.f, true);
        let m = self.emit(Op::Add, &[m, bv], &name);
        let m = self.transpose(m, &[0, 2, 1], &name);
        let out = self.out_shape(node)?;
        Ok(Val::Sec(Sec::plain(self.reshape(m, &out, &name))))
    }
}
