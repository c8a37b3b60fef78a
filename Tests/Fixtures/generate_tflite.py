#!/usr/bin/env python3
"""Writes the TFLite test fixtures: small MobileNet-style float models built directly as
FlatBuffers with the `tflite` package's generated builders (no TensorFlow needed), and the
TFLite interpreter's outputs (ai-edge-litert) on a fixed input.

    python Tests/Fixtures/generate_tflite.py [folder]

Per model NAME: NAME.tflite, NAME.input.npy (NHWC) and NAME.expected.npy (NAME.expected.npz,
one array per output name, for models with several outputs). Also bad/unsupported_op.tflite
(an L2_NORMALIZATION operator) for the error tests.

    python Tests/Fixtures/generate_tflite.py --only tfl_real_ops,tfl_sparse,bad   # just these
"""
import importlib
import os
import sys
import types

import flatbuffers
import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as B
from tflite.BuiltinOptions import BuiltinOptions as O
from tflite.TensorType import TensorType as T
from ai_edge_litert.interpreter import Interpreter, OpResolverType

# The generated builder functions live in modules that tflite/__init__ shadows with classes.
fb = types.SimpleNamespace(**{m: importlib.import_module("tflite." + m) for m in [
    "AddOptions", "Buffer", "ConcatenationOptions", "Conv2DOptions", "DepthwiseConv2DOptions", "FullyConnectedOptions", "Model", "Operator", "OperatorCode", "Pool2DOptions", "ReducerOptions", "SoftmaxOptions", "SubGraph", "Tensor",
    "LeakyReluOptions", "ResizeBilinearOptions", "ResizeNearestNeighborOptions", "TransposeConvOptions",
    "DepthToSpaceOptions", "SubOptions", "DivOptions", "SparsityParameters", "DimensionMetadata", "Int32Vector",
    "StridedSliceOptions"]})

SAME, VALID = 0, 1
NONE, RELU, RELU6 = 0, 1, 3


class Writer:
    """Collects tensors, buffers and operators, then serialises one subgraph."""

    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.tensors = []  # (name, shape, type, buffer)
        self.buffers = [b""]
        self.ops = []  # (code, inputs, outputs, options type, options builder)
        self.codes = []
        self.sparsity = {}  # tensor index -> (traversal order, block map, [(dense size) or (segments, indices)])

    def tensor(self, name, shape, ttype=T.FLOAT32, data=None):
        buf = 0
        if data is not None:
            self.buffers.append(data)
            buf = len(self.buffers) - 1
        self.tensors.append((name, list(shape), ttype, buf))
        return len(self.tensors) - 1

    def const(self, name, array, f16=False):
        array = np.asarray(array, dtype=np.float32)
        if not f16:
            return self.tensor(name, array.shape, T.FLOAT32, array.tobytes())
        half = self.tensor(name + "_f16", array.shape, T.FLOAT16, array.astype(np.float16).tobytes())
        full = self.tensor(name, array.shape)
        self.op(B.DEQUANTIZE, [half], [full])
        return full

    def shape(self, t):
        return self.tensors[t][1]

    def op(self, code, inputs, outputs, otype=0, options=None):
        if code not in self.codes:
            self.codes.append(code)
        self.ops.append((self.codes.index(code), inputs, outputs, otype, options))

    def out(self, name, shape):
        return self.tensor(name, shape)

    # Layers: weights He-initialised so activations stay of order one.
    def conv(self, x, cout, k, stride, act=RELU6, padding=SAME, f16=False, name="conv"):
        n, h, w, cin = self.shape(x)
        wt = self.rng.normal(0, np.sqrt(2.0 / (k * k * cin)), (cout, k, k, cin))
        b = self.rng.normal(0, 0.1, cout)
        oh, ow = out_size(h, k, stride, padding), out_size(w, k, stride, padding)
        y = self.out(name, [1, oh, ow, cout])
        wi, bi = self.const(name + "/w", wt, f16), self.const(name + "/b", b, f16)

        def options(bld):
            fb.Conv2DOptions.Start(bld)
            fb.Conv2DOptions.AddPadding(bld, padding)
            fb.Conv2DOptions.AddStrideW(bld, stride)
            fb.Conv2DOptions.AddStrideH(bld, stride)
            fb.Conv2DOptions.AddFusedActivationFunction(bld, act)
            return fb.Conv2DOptions.End(bld)
        self.op(B.CONV_2D, [x, wi, bi], [y], O.Conv2DOptions, options)
        return y

    def depthwise(self, x, k, stride, multiplier=1, act=RELU6, f16=False, name="dw"):
        n, h, w, c = self.shape(x)
        cout = c * multiplier
        wt = self.rng.normal(0, np.sqrt(2.0 / (k * k)), (1, k, k, cout))
        b = self.rng.normal(0, 0.1, cout)
        y = self.out(name, [1, out_size(h, k, stride, SAME), out_size(w, k, stride, SAME), cout])
        wi, bi = self.const(name + "/w", wt, f16), self.const(name + "/b", b, f16)

        def options(bld):
            fb.DepthwiseConv2DOptions.Start(bld)
            fb.DepthwiseConv2DOptions.AddPadding(bld, SAME)
            fb.DepthwiseConv2DOptions.AddStrideW(bld, stride)
            fb.DepthwiseConv2DOptions.AddStrideH(bld, stride)
            fb.DepthwiseConv2DOptions.AddDepthMultiplier(bld, multiplier)
            fb.DepthwiseConv2DOptions.AddFusedActivationFunction(bld, act)
            return fb.DepthwiseConv2DOptions.End(bld)
        self.op(B.DEPTHWISE_CONV_2D, [x, wi, bi], [y], O.DepthwiseConv2DOptions, options)
        return y

    def fc(self, x, cout, act=NONE, f16=False, name="fc"):
        cin = int(np.prod(self.shape(x)[1:]))
        wt = self.rng.normal(0, np.sqrt(1.0 / cin), (cout, cin))
        b = self.rng.normal(0, 0.1, cout)
        y = self.out(name, [1, cout])
        wi, bi = self.const(name + "/w", wt, f16), self.const(name + "/b", b, f16)

        def options(bld):
            fb.FullyConnectedOptions.Start(bld)
            fb.FullyConnectedOptions.AddFusedActivationFunction(bld, act)
            return fb.FullyConnectedOptions.End(bld)
        self.op(B.FULLY_CONNECTED, [x, wi, bi], [y], O.FullyConnectedOptions, options)
        return y

    def add(self, a, b, act=NONE, name="add"):
        y = self.out(name, self.shape(a))

        def options(bld):
            fb.AddOptions.Start(bld)
            fb.AddOptions.AddFusedActivationFunction(bld, act)
            return fb.AddOptions.End(bld)
        self.op(B.ADD, [a, b], [y], O.AddOptions, options)
        return y

    def mul(self, a, b, name="mul"):
        y = self.out(name, self.shape(a))
        self.op(B.MUL, [a, b], [y])
        return y

    def pool(self, x, k, stride, padding, average, name="pool"):
        n, h, w, c = self.shape(x)
        y = self.out(name, [1, out_size(h, k, stride, padding), out_size(w, k, stride, padding), c])

        def options(bld):
            fb.Pool2DOptions.Start(bld)
            fb.Pool2DOptions.AddPadding(bld, padding)
            fb.Pool2DOptions.AddStrideW(bld, stride)
            fb.Pool2DOptions.AddStrideH(bld, stride)
            fb.Pool2DOptions.AddFilterWidth(bld, k)
            fb.Pool2DOptions.AddFilterHeight(bld, k)
            return fb.Pool2DOptions.End(bld)
        self.op(B.AVERAGE_POOL_2D if average else B.MAX_POOL_2D, [x], [y], O.Pool2DOptions, options)
        return y

    def mean(self, x, keep, name="mean"):
        n, h, w, c = self.shape(x)
        axes = self.tensor(name + "/axes", [2], T.INT32, np.array([1, 2], np.int32).tobytes())
        y = self.out(name, [1, 1, 1, c] if keep else [1, c])

        def options(bld):
            fb.ReducerOptions.Start(bld)
            fb.ReducerOptions.AddKeepDims(bld, keep)
            return fb.ReducerOptions.End(bld)
        self.op(B.MEAN, [x, axes], [y], O.ReducerOptions, options)
        return y

    def pad(self, x, pads, name="pad"):
        p = np.array(pads, np.int32)
        shape = [d + int(a) + int(b) for d, (a, b) in zip(self.shape(x), p)]
        pt = self.tensor(name + "/paddings", [4, 2], T.INT32, p.tobytes())
        y = self.out(name, shape)
        self.op(B.PAD, [x, pt], [y])
        return y

    def reshape(self, x, shape, name="reshape"):
        target = np.array([-1] + list(shape[1:]), np.int32)  # -1: any batch
        st = self.tensor(name + "/shape", [len(shape)], T.INT32, target.tobytes())
        y = self.out(name, shape)
        self.op(B.RESHAPE, [x, st], [y])
        return y

    def concat(self, xs, name="concat"):
        shape = list(self.shape(xs[0]))
        shape[3] = sum(self.shape(x)[3] for x in xs)
        y = self.out(name, shape)

        def options(bld):
            fb.ConcatenationOptions.Start(bld)
            fb.ConcatenationOptions.AddAxis(bld, 3)
            return fb.ConcatenationOptions.End(bld)
        self.op(B.CONCATENATION, xs, [y], O.ConcatenationOptions, options)
        return y

    def unary(self, code, x, name):
        y = self.out(name, self.shape(x))
        self.op(code, [x], [y])
        return y

    def softmax(self, x, name="softmax"):
        y = self.out(name, self.shape(x))

        def options(bld):
            fb.SoftmaxOptions.Start(bld)
            fb.SoftmaxOptions.AddBeta(bld, 1.0)
            return fb.SoftmaxOptions.End(bld)
        self.op(B.SOFTMAX, [x], [y], O.SoftmaxOptions, options)
        return y

    def serialise(self, inputs, outputs):
        bld = flatbuffers.Builder(1024)

        def int_vector(values):
            bld.StartVector(4, len(values), 4)
            for v in reversed(values):
                bld.PrependInt32(v)
            return bld.EndVector()

        def table_vector(offsets):
            bld.StartVector(4, len(offsets), 4)
            for o in reversed(offsets):
                bld.PrependUOffsetTRelative(o)
            return bld.EndVector()

        buffers = []
        for data in self.buffers:
            vec = None
            if data:
                bld.StartVector(1, len(data), 16)  # 16-byte aligned weights
                bld.head -= len(data)
                bld.Bytes[bld.head:bld.head + len(data)] = data
                vec = bld.EndVector()
            fb.Buffer.Start(bld)
            if vec is not None:
                fb.Buffer.AddData(bld, vec)
            buffers.append(fb.Buffer.End(bld))
        tensors = []
        for index, (name, shape, ttype, buf) in enumerate(self.tensors):
            n = bld.CreateString(name)
            s = int_vector(shape)
            sp = self.serialise_sparsity(bld, int_vector, table_vector, index)
            fb.Tensor.Start(bld)
            if sp is not None:
                fb.Tensor.AddSparsity(bld, sp)
            fb.Tensor.AddShape(bld, s)
            fb.Tensor.AddType(bld, ttype)
            fb.Tensor.AddBuffer(bld, buf)
            fb.Tensor.AddName(bld, n)
            tensors.append(fb.Tensor.End(bld))
        ops = []
        for code_index, ins, outs, otype, options in self.ops:
            custom = None
            if otype == "custom":  # options: the raw custom_options bytes
                custom = bld.CreateByteVector(options)
                options = None
            opt = options(bld) if options else None
            iv, ov = int_vector(ins), int_vector(outs)
            fb.Operator.Start(bld)
            fb.Operator.AddOpcodeIndex(bld, code_index)
            fb.Operator.AddInputs(bld, iv)
            fb.Operator.AddOutputs(bld, ov)
            if custom is not None:
                fb.Operator.AddCustomOptions(bld, custom)
            if opt is not None:
                fb.Operator.AddBuiltinOptionsType(bld, otype)
                fb.Operator.AddBuiltinOptions(bld, opt)
            ops.append(fb.Operator.End(bld))
        codes = []
        for code in self.codes:
            name = bld.CreateString(code) if isinstance(code, str) else None  # a custom operator
            code = B.CUSTOM if name is not None else code
            fb.OperatorCode.Start(bld)
            if name is not None:
                fb.OperatorCode.AddCustomCode(bld, name)
            fb.OperatorCode.AddDeprecatedBuiltinCode(bld, min(code, 127))
            fb.OperatorCode.AddBuiltinCode(bld, code)
            fb.OperatorCode.AddVersion(bld, 1)
            codes.append(fb.OperatorCode.End(bld))
        tv, ov = table_vector(tensors), table_vector(ops)
        iv, outv = int_vector(inputs), int_vector(outputs)
        name = bld.CreateString(self.name)
        fb.SubGraph.Start(bld)
        fb.SubGraph.AddTensors(bld, tv)
        fb.SubGraph.AddInputs(bld, iv)
        fb.SubGraph.AddOutputs(bld, outv)
        fb.SubGraph.AddOperators(bld, ov)
        fb.SubGraph.AddName(bld, name)
        sub = fb.SubGraph.End(bld)
        subs, cv, bv = table_vector([sub]), table_vector(codes), table_vector(buffers)
        desc = bld.CreateString("tinympq test fixture")
        fb.Model.Start(bld)
        fb.Model.AddVersion(bld, 3)
        fb.Model.AddOperatorCodes(bld, cv)
        fb.Model.AddSubgraphs(bld, subs)
        fb.Model.AddDescription(bld, desc)
        fb.Model.AddBuffers(bld, bv)
        bld.Finish(fb.Model.End(bld), file_identifier=b"TFL3")
        return bytes(bld.Output())


    def serialise_sparsity(self, bld, int_vector, table_vector, index):
        if index not in self.sparsity:
            return None
        order, block_map, levels = self.sparsity[index]
        metas = []
        for level in levels:
            if isinstance(level, int):
                fb.DimensionMetadata.Start(bld)
                fb.DimensionMetadata.AddFormat(bld, 0)
                fb.DimensionMetadata.AddDenseSize(bld, level)
                metas.append(fb.DimensionMetadata.End(bld))
                continue
            vecs = []
            for values in level:
                v = int_vector(list(values))
                fb.Int32Vector.Start(bld)
                fb.Int32Vector.AddValues(bld, v)
                vecs.append(fb.Int32Vector.End(bld))
            fb.DimensionMetadata.Start(bld)
            fb.DimensionMetadata.AddFormat(bld, 1)
            fb.DimensionMetadata.AddArraySegmentsType(bld, 1)  # Int32Vector
            fb.DimensionMetadata.AddArraySegments(bld, vecs[0])
            fb.DimensionMetadata.AddArrayIndicesType(bld, 1)
            fb.DimensionMetadata.AddArrayIndices(bld, vecs[1])
            metas.append(fb.DimensionMetadata.End(bld))
        ov, dv = int_vector(order), table_vector(metas)
        bv = int_vector(block_map) if block_map else None
        fb.SparsityParameters.Start(bld)
        fb.SparsityParameters.AddTraversalOrder(bld, ov)
        if bv is not None:
            fb.SparsityParameters.AddBlockMap(bld, bv)
        fb.SparsityParameters.AddDimMetadata(bld, dv)
        return fb.SparsityParameters.End(bld)

    # Ops of real exports (issue 12).
    def simple(self, code, inputs, shape, name, otype=0, options=None):
        y = self.out(name, shape)
        self.op(code, inputs, [y], otype, options)
        return y

    def arith(self, code, a, b, name):
        otype, module = {B.SUB: (O.SubOptions, fb.SubOptions), B.DIV: (O.DivOptions, fb.DivOptions),
                         B.ADD: (O.AddOptions, fb.AddOptions)}.get(code, (0, None))

        def options(bld):
            module.Start(bld)
            module.AddFusedActivationFunction(bld, NONE)
            return module.End(bld)
        return self.simple(code, [a, b], self.shape(a), name, otype, options if module else None)

    def leaky(self, x, alpha, name):
        def options(bld):
            fb.LeakyReluOptions.Start(bld)
            fb.LeakyReluOptions.AddAlpha(bld, alpha)
            return fb.LeakyReluOptions.End(bld)
        return self.simple(B.LEAKY_RELU, [x], self.shape(x), name, O.LeakyReluOptions, options)

    def concat_axis(self, xs, axis, name):
        shape = list(self.shape(xs[0]))
        shape[axis] = sum(self.shape(x)[axis] for x in xs)

        def options(bld):
            fb.ConcatenationOptions.Start(bld)
            fb.ConcatenationOptions.AddAxis(bld, axis)
            return fb.ConcatenationOptions.End(bld)
        return self.simple(B.CONCATENATION, xs, shape, name, O.ConcatenationOptions, options)

    def resize(self, x, size, bilinear, align, half, name):
        st = self.tensor(name + "/size", [2], T.INT32, np.array(size, np.int32).tobytes())
        n, h, w, c = self.shape(x)
        mod = fb.ResizeBilinearOptions if bilinear else fb.ResizeNearestNeighborOptions

        def options(bld):
            mod.Start(bld)
            mod.AddAlignCorners(bld, align)
            mod.AddHalfPixelCenters(bld, half)
            return mod.End(bld)
        return self.simple(B.RESIZE_BILINEAR if bilinear else B.RESIZE_NEAREST_NEIGHBOR, [x, st], [1, size[0], size[1], c], name,
                           O.ResizeBilinearOptions if bilinear else O.ResizeNearestNeighborOptions, options)

    def transpose_conv(self, x, cout, k, stride, padding, out_hw, name):
        n, h, w, cin = self.shape(x)
        wt = self.rng.normal(0, np.sqrt(1.0 / (k * k * cin)), (cout, k, k, cin))
        shape = [1, out_hw[0], out_hw[1], cout]
        os_ = self.tensor(name + "/output_shape", [4], T.INT32, np.array(shape, np.int32).tobytes())
        wi, bi = self.const(name + "/w", wt), self.const(name + "/b", self.rng.normal(0, 0.1, cout))

        def options(bld):
            fb.TransposeConvOptions.Start(bld)
            fb.TransposeConvOptions.AddPadding(bld, padding)
            fb.TransposeConvOptions.AddStrideW(bld, stride)
            fb.TransposeConvOptions.AddStrideH(bld, stride)
            return fb.TransposeConvOptions.End(bld)
        return self.simple(B.TRANSPOSE_CONV, [os_, wi, x, bi], shape, name, O.TransposeConvOptions, options)

    def depth_to_space(self, x, block, name):
        n, h, w, c = self.shape(x)

        def options(bld):
            fb.DepthToSpaceOptions.Start(bld)
            fb.DepthToSpaceOptions.AddBlockSize(bld, block)
            return fb.DepthToSpaceOptions.End(bld)
        return self.simple(B.DEPTH_TO_SPACE, [x], [1, h * block, w * block, c // (block * block)], name,
                           O.DepthToSpaceOptions, options)

    def strided_slice(self, x, begin, end, strides, shape, name, shrink=0, begin_mask=0, end_mask=0):
        ts = [self.tensor(name + "/" + k, [len(v)], T.INT32, np.array(v, np.int32).tobytes())
              for k, v in [("begin", begin), ("end", end), ("strides", strides)]]

        def options(bld):
            fb.StridedSliceOptions.Start(bld)
            fb.StridedSliceOptions.AddBeginMask(bld, begin_mask)
            fb.StridedSliceOptions.AddEndMask(bld, end_mask)
            fb.StridedSliceOptions.AddShrinkAxisMask(bld, shrink)
            return fb.StridedSliceOptions.End(bld)
        return self.simple(B.STRIDED_SLICE, [x] + ts, shape, name, O.StridedSliceOptions, options)

    def slice(self, x, begin, size, shape, name):
        b = self.tensor(name + "/begin", [len(begin)], T.INT32, np.array(begin, np.int32).tobytes())
        z = self.tensor(name + "/size", [len(size)], T.INT32, np.array(size, np.int32).tobytes())
        return self.simple(B.SLICE, [x, b, z], shape, name)

    def transpose(self, x, perm, name):
        pt = self.tensor(name + "/perm", [len(perm)], T.INT32, np.array(perm, np.int32).tobytes())
        return self.simple(B.TRANSPOSE, [x, pt], [self.shape(x)[p] for p in perm], name)

    def sparse_fc(self, x, cout, block, name):
        """A FullyConnected whose weights are stored sparse (CSR over the input axis, in blocks
        of `block` inputs) and expanded by DENSIFY."""
        cin = self.shape(x)[-1]
        wt = self.rng.normal(0, np.sqrt(1.0 / cin), (cout, cin)).astype(np.float32)
        blocks = wt.reshape(cout, cin // block, block)
        keep = self.rng.random((cout, cin // block)) < 0.4
        blocks[~keep] = 0
        segments, indices, values = [0], [], []
        for o in range(cout):
            for j in range(cin // block):
                if keep[o, j]:
                    indices.append(j)
                    values.extend(blocks[o, j])
            segments.append(len(indices))
        sparse = self.tensor(name + "/w_sparse", [cout, cin], T.FLOAT32, np.array(values, np.float32).tobytes())
        if block == 1:
            self.sparsity[sparse] = ([0, 1], [], [cout, (segments, indices)])
        else:
            self.sparsity[sparse] = ([0, 1, 2], [1], [cout, (segments, indices), block])
        dense = self.tensor(name + "/w", [cout, cin])
        self.op(B.DENSIFY, [sparse], [dense])
        y = self.out(name, [1, cout])
        bi = self.const(name + "/b", self.rng.normal(0, 0.1, cout))

        def options(bld):
            fb.FullyConnectedOptions.Start(bld)
            fb.FullyConnectedOptions.AddFusedActivationFunction(bld, RELU)
            return fb.FullyConnectedOptions.End(bld)
        self.op(B.FULLY_CONNECTED, [x, dense, bi], [y], O.FullyConnectedOptions, options)
        return y


def out_size(n, k, stride, padding):
    return (n + stride - 1) // stride if padding == SAME else (n - k) // stride + 1


def mobilenet_v1_tfl(res=32, seed=11):
    """MobileNetV1 0.25: SAME convolutions, an explicit Pad + VALID stride-2 conv as TF exports
    it, depth multiplier 2, Mean, FullyConnected, Softmax."""
    w = Writer("mobilenet_v1_tfl", seed)
    x = w.tensor("input", [1, res, res, 3])
    y = w.conv(x, 8, 3, 2, name="conv0")
    y = w.depthwise(y, 3, 1, name="dw1")
    y = w.conv(y, 16, 1, 1, name="pw1")
    y = w.pad(y, [[0, 0], [0, 1], [0, 1], [0, 0]], name="pad2")
    y = w.conv(y, 16, 3, 2, padding=VALID, name="conv2")
    y = w.depthwise(y, 3, 2, multiplier=2, name="dw3")
    y = w.conv(y, 32, 1, 1, name="pw3")
    y = w.depthwise(y, 3, 1, name="dw4")
    y = w.conv(y, 32, 1, 1, act=RELU, name="pw4")
    y = w.mean(y, keep=False, name="pool")
    y = w.fc(y, 10, name="logits")
    y = w.softmax(y, name="probs")
    return w, x, y


def mobilenet_v2_tfl_f16(res=32, seed=12):
    """MobileNetV2-style with float16 weights (DEQUANTIZE), residual Add, HardSwish, a
    squeeze-excite block (Mean keep_dims, Logistic, Mul), MaxPool, AveragePool, Concatenation,
    and a flatten of a 2x2 image into FullyConnected."""
    w = Writer("mobilenet_v2_tfl_f16", seed)
    f16 = True
    x = w.tensor("input", [1, res, res, 3])
    y = w.conv(x, 16, 3, 2, act=NONE, f16=f16, name="stem")
    y = w.unary(B.HARD_SWISH, y, "stem/hswish")
    # Inverted residual: expand, depthwise, project, add.
    e = w.conv(y, 32, 1, 1, f16=f16, name="b1/expand")
    e = w.depthwise(e, 3, 1, f16=f16, name="b1/dw")
    e = w.conv(e, 16, 1, 1, act=NONE, f16=f16, name="b1/project")
    y = w.add(y, e, name="b1/add")
    # Squeeze-excite.
    s = w.mean(y, keep=True, name="se/mean")
    s = w.conv(s, 8, 1, 1, act=RELU, f16=f16, name="se/reduce")
    s = w.conv(s, 16, 1, 1, act=NONE, f16=f16, name="se/expand")
    s = w.unary(B.LOGISTIC, s, "se/sigmoid")
    y = w.mul(y, s, name="se/scale")
    a = w.pool(y, 3, 2, SAME, average=False, name="maxpool")
    b = w.conv(y, 8, 3, 2, f16=f16, name="branch")
    y = w.concat([a, b], name="concat")
    y = w.unary(B.RELU, y, "concat/relu")
    y = w.pool(y, 2, 2, VALID, average=True, name="avgpool")
    y = w.conv(y, 24, 1, 1, act=RELU6, f16=f16, name="head")
    y = w.pool(y, 2, 2, VALID, average=True, name="avgpool2")
    y = w.reshape(y, [1, 2 * 2 * 24], name="flatten")
    y = w.fc(y, 10, f16=f16, name="logits")
    return w, x, y


def tfl_real_ops(seed=14):
    """A BlazeFace-like detector with the ops of real TFLite exports: PRelu, LeakyRelu, Sub/Div
    with constants, SiLU, Maximum, channel Pad, Concatenation of rows, resizes, TransposeConv,
    DepthToSpace, Transpose, and heads reshaped to [1, N, K] (boxes, scores and a transposed map)."""
    w = Writer("tfl_real_ops", seed)
    r = w.rng
    x = w.tensor("input", [1, 16, 16, 3])
    y = w.conv(x, 8, 3, 2, act=NONE, name="conv0")  # [1,8,8,8]
    y = w.simple(B.PRELU, [y, w.const("prelu/alpha", r.uniform(0.05, 0.3, (1, 1, 8)))], [1, 8, 8, 8], "prelu")
    y = w.arith(B.SUB, y, w.const("sub/c", r.normal(0, 0.2, 8)), "sub")
    y = w.arith(B.DIV, y, w.const("div/c", np.array(2.0)), "div")
    y = w.mul(y, w.unary(B.LOGISTIC, y, "silu/sigmoid"), name="silu")
    y = w.simple(B.MAXIMUM, [y, w.const("max/c", np.array(-0.3))], [1, 8, 8, 8], "maximum")
    y = w.leaky(y, 0.2, "leaky")
    y = w.pad(y, [[0, 0], [0, 0], [0, 0], [2, 2]], name="channel_padding")  # [1,8,8,12]
    y = w.concat_axis([y, w.unary(B.TANH, y, "tanh")], 1, "rows")  # [1,16,8,12]
    ups = [w.resize(y, [24, 20], True, False, True, "up_bilinear_half"),
           w.resize(y, [24, 20], True, True, False, "up_bilinear_align"),
           w.resize(y, [24, 20], True, False, False, "up_bilinear"),
           w.resize(y, [24, 20], False, False, False, "up_nearest"),
           w.resize(y, [24, 20], False, False, True, "up_nearest_half"),
           w.resize(y, [24, 20], False, True, False, "up_nearest_align")]
    u = ups[0]
    for i, v in enumerate(ups[1:]):
        u = w.add(u, v, name=f"up_sum{i}")
    u = w.resize(u, [32, 16], False, False, False, "down_nearest")
    tc = w.transpose_conv(y, 6, 3, 2, SAME, [32, 16], "tconv")  # [1,32,16,6]
    tv = w.transpose_conv(y, 6, 2, 2, VALID, [32, 16], "tconv_valid")
    u = w.concat([u, w.add(tc, tv, name="tconv_sum")], name="up_concat")  # [1,32,16,18]
    d = w.conv(u, 16, 3, 2, act=RELU, name="pre_d2s")  # [1,16,8,16]
    d = w.depth_to_space(d, 2, "d2s")  # [1,32,16,4]
    f1 = w.conv(d, 8, 3, 2, name="f1")  # [1,16,8,8]
    f2 = w.conv(f1, 16, 3, 2, name="f2")  # [1,8,4,16]
    boxes, scores = [], []
    for i, f in enumerate([f1, f2]):
        n, h, wd, c = w.shape(f)
        b = w.conv(f, 2 * 4, 1, 1, act=NONE, name=f"head{i}/box")
        boxes.append(w.reshape(b, [1, h * wd * 2, 4], name=f"head{i}/box_reshape"))
        s = w.conv(f, 2, 1, 1, act=NONE, name=f"head{i}/score")
        scores.append(w.reshape(s, [1, h * wd * 2, 1], name=f"head{i}/score_reshape"))
    bx = w.concat_axis(boxes, 1, "boxes")
    sc = w.unary(B.LOGISTIC, w.concat_axis(scores, 1, "scores_logits"), "scores")
    t = w.transpose(w.conv(f2, 3, 1, 1, act=NONE, name="aux/conv"), [0, 3, 1, 2], "aux/transpose")  # [1,3,8,4]
    aux = w.reshape(t, [1, 3, 32], name="aux")
    # STRIDED_SLICE (row 1 shrunk away, every other channel, masks) and SLICE of channels.
    sl = w.strided_slice(f2, [0, 0, 1, 1], [1, 8, 2, 16], [1, 2, 1, 2], [1, 4, 8], "sliced", shrink=4, begin_mask=1, end_mask=8)
    ch = w.slice(f2, [0, 1, 0, 3], [-1, 6, -1, 8], [1, 6, 4, 8], "channel_slice")
    return w, x, [bx, sc, aux, sl, ch]


def tfl_custom_tconv(custom, seed=16):
    """MediaPipe's custom Convolution2DTransposeBias (SAME, stride 2, 3x3: an odd total padding)
    or, with custom=False, the builtin TRANSPOSE_CONV with the same weights: the interpreter
    cannot run the custom op, so the builtin model gives the expected output."""
    w = Writer("tfl_custom_tconv", seed)
    x = w.tensor("input", [1, 8, 8, 4])
    y = w.conv(x, 6, 3, 1, act=RELU, name="conv")
    wt = w.rng.normal(0, 0.3, (5, 3, 3, 6))
    bias = w.rng.normal(0, 0.1, 5)
    wi, bi = w.const("segment/Kernel", wt), w.const("segment/Bias", bias)
    out = w.out("segment", [1, 16, 16, 5])
    if custom:
        w.op("Convolution2DTransposeBias", [y, wi, bi], [out], "custom", np.array([1, 2, 2], np.int32).tobytes())
    else:
        shape = w.tensor("segment/output_shape", [4], T.INT32, np.array([1, 16, 16, 5], np.int32).tobytes())

        def options(bld):
            fb.TransposeConvOptions.Start(bld)
            fb.TransposeConvOptions.AddPadding(bld, SAME)
            fb.TransposeConvOptions.AddStrideW(bld, 2)
            fb.TransposeConvOptions.AddStrideH(bld, 2)
            return fb.TransposeConvOptions.End(bld)
        w.op(B.TRANSPOSE_CONV, [shape, wi, y, bi], [out], O.TransposeConvOptions, options)
    return w, x, out


def write_custom_tconv(folder, batch=2, seed=25):
    """tfl_custom_tconv.tflite with the builtin twin's interpreter outputs as expected."""
    w, x, y = tfl_custom_tconv(True)
    path = os.path.join(folder, "tfl_custom_tconv.tflite")
    with open(path, "wb") as f:
        f.write(w.serialise([x], [y]))
    tw, tx, ty = tfl_custom_tconv(False)
    twin = tw.serialise([tx], [ty])
    data = np.random.default_rng(seed).normal(0, 1, [batch] + w.shape(x)[1:]).astype(np.float32)
    interp = Interpreter(model_content=twin, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    outs = []
    for b in range(batch):  # the output shape is fixed at batch 1
        interp.set_tensor(interp.get_input_details()[0]["index"], data[b:b + 1])
        interp.invoke()
        outs.append(interp.get_tensor(interp.get_output_details()[0]["index"]))
    out = np.concatenate(outs)
    np.save(os.path.join(folder, "tfl_custom_tconv.input.npy"), data)
    np.save(os.path.join(folder, "tfl_custom_tconv.expected.npy"), out.astype(np.float32))
    print(f"{path}: input {data.shape}, output {out.shape} (expected from the builtin TRANSPOSE_CONV twin)")


def tfl_sparse(seed=15):
    """DENSIFY of sparse FullyConnected weights: plain CSR and 1x4 blocks."""
    w = Writer("tfl_sparse", seed)
    x = w.tensor("input", [1, 4, 4, 3])
    y = w.conv(x, 16, 3, 1, name="conv")
    y = w.mean(y, keep=False, name="pool")
    y = w.sparse_fc(y, 12, 1, "fc_csr")
    y = w.sparse_fc(y, 6, 4, "fc_block")
    return w, x, y


def unsupported(seed=13):
    w = Writer("unsupported_op", seed)
    x = w.tensor("input", [1, 8, 8, 3])
    y = w.conv(x, 4, 3, 1, name="conv")
    y = w.unary(B.L2_NORMALIZATION, y, "l2norm")
    return w, x, y


def write(builder, folder, name, batch, seed):
    w, x, y = builder()
    if isinstance(y, list):
        return write_outputs(w, x, y, folder, name, batch, seed)
    model = w.serialise([x], [y])
    path = os.path.join(folder, name + ".tflite")
    with open(path, "wb") as f:
        f.write(model)
    shape = w.shape(x)
    data = np.random.default_rng(seed).normal(0, 1, [batch] + shape[1:]).astype(np.float32)
    # The builtin kernels without the XNNPACK delegate: TFLite's own reference for the float ops.
    interp = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.resize_tensor_input(interp.get_input_details()[0]["index"], [batch] + shape[1:])
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], data)
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.save(os.path.join(folder, name + ".input.npy"), data)
    np.save(os.path.join(folder, name + ".expected.npy"), out.astype(np.float32))
    print(f"{path}: {len(model)} bytes, input {data.shape}, output {out.shape}")


def write_outputs(w, x, ys, folder, name, batch, seed):
    """Several outputs: NAME.expected.npz holds one array per output tensor name."""
    model = w.serialise([x], ys)
    path = os.path.join(folder, name + ".tflite")
    with open(path, "wb") as f:
        f.write(model)
    shape = w.shape(x)
    data = np.random.default_rng(seed).normal(0, 1, [batch] + shape[1:]).astype(np.float32)
    interp = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    outs = {}
    for b in range(batch):  # one image at a time: the heads' reshapes fix the batch at 1
        interp.set_tensor(interp.get_input_details()[0]["index"], data[b:b + 1])
        interp.invoke()
        for d in interp.get_output_details():
            outs.setdefault(d["name"], []).append(interp.get_tensor(d["index"]).astype(np.float32))
    np.save(os.path.join(folder, name + ".input.npy"), data)
    np.savez(os.path.join(folder, name + ".expected.npz"), **{k: np.concatenate(v) for k, v in outs.items()})
    print(f"{path}: {len(model)} bytes, input {data.shape}, outputs {[np.concatenate(v).shape for v in outs.values()]}")


NEW = {"tfl_real_ops": (tfl_real_ops, 2, 23), "tfl_sparse": (tfl_sparse, 2, 24)}


def main():
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--only"]:
        only, args = args[1].split(","), args[2:]
    folder = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    for name, (builder, batch, seed) in NEW.items():
        if only is None or name in only:
            write(builder, folder, name, batch, seed)
    if only is None or "tfl_custom_tconv" in only:
        write_custom_tconv(folder)
    if only is not None:
        if "bad" in only:
            write_bad(folder)
        return
    write(mobilenet_v1_tfl, folder, "mobilenet_v1_tfl", 4, 21)
    write(mobilenet_v2_tfl_f16, folder, "mobilenet_v2_tfl_f16", 4, 22)
    write_bad(folder)


def write_bad(folder):
    w, x, y = unsupported()
    os.makedirs(os.path.join(folder, "bad"), exist_ok=True)
    with open(os.path.join(folder, "bad", "unsupported_op.tflite"), "wb") as f:
        f.write(w.serialise([x], [y]))


if __name__ == "__main__":
    main()
