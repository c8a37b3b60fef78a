#!/usr/bin/env python3
"""Writes the ONNX test fixtures (and, with --bench, full-size benchmark models).

The models have the real MobileNet-family architectures at reduced width and resolution, built
node by node the way PyTorch's exporter writes them: BatchNormalization left unfused, Clip for
ReLU6, a Shape/Gather/Unsqueeze/Concat/Reshape head for `x.view(x.size(0), -1)`, node names such as
`/features/3/conv/0/Conv`, a dynamic batch dimension. Weights start random but sane (He-scaled
convolutions, BatchNorm statistics near identity); the three MobileNet-family fixtures are then
trained on scikit-learn's digits (train.py, JAX), so they quantize like trained networks. The
full-size benchmark models keep random weights.

For every fixture it also writes `NAME.input.npy` (a small batch of random inputs) and
`NAME.expected.npy` (onnxruntime's outputs for them); `swift test` compares our float engine with
those, so the tests need no Python. `digits32.npz` (64 calibration images) and
`digits32.val.npz` (397 held-out images, never trained on) are the trained fixtures' data.

The issue-12 fixtures (real_ops, resample_ops, upsample_opset9, ssd_head, two_outputs,
free_dims: the ops and shapes of real exports) write `NAME.expected.npz`, one array per output
name.

Usage:
  generate.py                 # fixtures into this folder
  generate.py --only a,b      # just the named issue-12 fixtures (no training)
  generate.py --bench DIR     # full-size MobileNetV1/V2 and MNasNet at 224 into DIR
"""
import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


class Builder:
    """Accumulates nodes and initializers with PyTorch-exporter-style names."""

    def __init__(self, opset, seed):
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.counter = 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, scope, n_out=1, **attrs):
        name = f"{scope}/{op}"
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x, cin, cout, k, stride, scope, group=1, bias=False, dilation=1, pads=None):
        fan_in = (cin // group) * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        inputs = [x, self.const(f"{scope}.weight", w)]
        if bias:
            inputs.append(self.const(f"{scope}.bias", self.rng.normal(0, 0.1, cout).astype(np.float32)))
        p = pads if pads is not None else [dilation * (k // 2)] * 4
        return self.node("Conv", inputs, scope, kernel_shape=[k, k], strides=[stride, stride],
                         pads=p, group=group, dilations=[dilation, dilation])

    def bn(self, x, c, scope):
        r = self.rng
        ins = [x,
               self.const(f"{scope}.weight", r.uniform(0.6, 1.4, c).astype(np.float32)),
               self.const(f"{scope}.bias", r.normal(0, 0.1, c).astype(np.float32)),
               self.const(f"{scope}.running_mean", r.normal(0, 0.1, c).astype(np.float32)),
               self.const(f"{scope}.running_var", r.uniform(0.6, 1.4, c).astype(np.float32))]
        return self.node("BatchNormalization", ins, scope, epsilon=1e-5, momentum=0.9)

    def relu6(self, x, scope):
        if self.opset >= 11:
            lo = self.const(f"{scope}.min", np.array(0.0, np.float32))
            hi = self.const(f"{scope}.max", np.array(6.0, np.float32))
            return self.node("Clip", [x, lo, hi], scope)
        return self.node("Clip", [x], scope, min=0.0, max=6.0)

    def view_head(self, x, scope):
        """`x.view(x.size(0), -1)` as PyTorch exports it."""
        shape = self.node("Shape", [x], scope + "/shape")
        idx = self.const(f"{scope}.idx0", np.array(0, np.int64))
        n = self.node("Gather", [shape, idx], scope + "/gather", axis=0)
        if self.opset >= 13:
            n1 = self.node("Unsqueeze", [n, self.const(f"{scope}.axes", np.array([0], np.int64))], scope + "/unsq")
        else:
            n1 = self.node("Unsqueeze", [n], scope + "/unsq", axes=[0])
        minus1 = self.const(f"{scope}.minus1", np.array([-1], np.int64))
        target = self.node("Concat", [n1, minus1], scope + "/concat", axis=0)
        return self.node("Reshape", [x, target], scope)

    def gemm(self, x, cin, cout, scope):
        w = self.rng.normal(0, np.sqrt(1.0 / cin), (cout, cin)).astype(np.float32)
        b = self.rng.normal(0, 0.1, cout).astype(np.float32)
        return self.node("Gemm", [x, self.const(f"{scope}.weight", w), self.const(f"{scope}.bias", b)],
                         scope, alpha=1.0, beta=1.0, transB=1)

    def model(self, name, x_shape, x, y, y_shape=None):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, x_shape)
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, y_shape)
        # The graph output is named "output", as torch.onnx.export(output_names=[...]) does.
        self.nodes.append(helper.make_node("Identity", [y], ["output"], name="/output/Identity"))
        g = helper.make_graph(self.nodes, name, [inp], [out], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name="tinympq-fixtures")
        m.ir_version = 7 if self.opset <= 13 else 8
        onnx.checker.check_model(m)
        return m


def real_ops(name, seed=6, opset=13):
    """The element-wise patterns and data movement of real exports (issue 12): hard-swish and
    hard-sigmoid decomposed with Constant nodes, SiLU, tanh, LeakyRelu, PRelu, per-channel
    constant arithmetic, a Sub of two activations, Pad of channels, Concat of rows."""
    b = Builder(opset, seed)
    r = b.rng

    def cnode(value, scope):
        t = numpy_helper.from_array(np.asarray(value, np.float32), scope + "_value")
        return b.node("Constant", [], scope, value=t)

    x = b.conv("input", 3, 8, 3, 1, "/c0", bias=True)
    # hard-swish: x * clip(x + 3, 0, 6) / 6, constants in Constant nodes
    t = b.node("Add", [x, cnode(3.0, "/hs/three")], "/hs/add")
    t = b.node("Clip", [t, cnode(0.0, "/hs/zero"), cnode(6.0, "/hs/six")], "/hs/clip")
    t = b.node("Mul", [x, t], "/hs/mul")
    x = b.node("Div", [t, cnode(6.0, "/hs/six2")], "/hs/div")
    x = b.conv(x, 8, 8, 3, 1, "/c1", group=8, bias=True)
    # SiLU
    x = b.node("Mul", [x, b.node("Sigmoid", [x], "/silu/sig")], "/silu/mul")
    # per-channel constant arithmetic (folds into /c2) and scalar arithmetic around tanh
    y = b.conv(x, 8, 8, 1, 1, "/c2")
    y = b.node("Mul", [y, b.const("/pc.scale", r.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(np.float32))], "/pc/mul")
    y = b.node("Sub", [y, b.const("/pc.shift", r.normal(0, 0.2, (8, 1, 1)).astype(np.float32))], "/pc/sub")
    y = b.node("Tanh", [b.node("Mul", [y, cnode(0.5, "/th/half")], "/th/mul")], "/th/tanh")
    y = b.node("Add", [b.node("Mul", [y, cnode(2.0, "/th/two")], "/th/mul2"), cnode(0.25, "/th/q")], "/th/add")
    # hard-sigmoid decomposed, as a gate
    g = b.node("Div", [b.node("Clip", [b.node("Add", [y, cnode(3.0, "/hsig/three")], "/hsig/add"),
                                      cnode(0.0, "/hsig/zero"), cnode(6.0, "/hsig/six")], "/hsig/clip"),
                       cnode(6.0, "/hsig/six2")], "/hsig/div")
    x = b.node("Sub", [x, b.node("Mul", [x, g], "/gate")], "/sub")  # two activations
    x = b.node("LeakyRelu", [x], "/leaky", alpha=0.1)
    x = b.conv(x, 8, 6, 3, 2, "/c3", bias=True)  # [1,6,8,8]
    x = b.node("PRelu", [x, b.const("/prelu.slope", r.uniform(0.05, 0.3, (6, 1, 1)).astype(np.float32))], "/prelu")
    # residual with zero-padded channels (6 -> 10), then a per-channel Div
    p = b.node("Pad", [x, b.const("/pad.pads", np.array([0, 2, 0, 0, 0, 2, 0, 0], np.int64))], "/chanpad", mode="constant")
    x = b.node("Add", [p, b.conv(x, 6, 10, 1, 1, "/c4", bias=True)], "/res")
    x = b.node("Div", [x, b.const("/pc.div", r.uniform(1.0, 2.0, (1, 10, 1, 1)).astype(np.float32))], "/pc/div")
    x = b.node("Concat", [x, b.node("Relu", [x], "/relu")], "/rows", axis=2)  # [1,10,16,8]
    x = b.node("Elu", [x], "/elu", alpha=0.7)
    x = b.node("Max", [x, cnode(-0.5, "/max/c")], "/max")
    x = b.node("HardSigmoid", [x], "/hsig2", alpha=0.25, beta=0.4)
    x = b.node("Slice", [x, b.const("/sl.starts", np.array([1, 0, -7], np.int64)), b.const("/sl.ends", np.array([9, 99, 8], np.int64)),
                         b.const("/sl.axes", np.array([1, 2, 3], np.int64)), b.const("/sl.steps", np.array([1, 2, 1], np.int64))],
               "/slice")  # [1,8,8,7]
    return b.model(name, ["batch", 3, 16, 16], "input", x, ["batch", 8, 8, 7])


def resample_ops(name, seed=7):
    """Resize in the coordinate modes exporters use, ConvTranspose, DepthToSpace."""
    b = Builder(13, seed)
    r = b.rng
    x = b.conv("input", 3, 8, 3, 1, "/c0", bias=True)  # [1,8,6,6]
    empty = b.const("/roi", np.zeros(0, np.float32))
    no_scales = b.const("/noscales", np.zeros(0, np.float32))
    up2 = b.const("/up2", np.array([1, 1, 1.5, 2.5], np.float32))  # non-integer: nearest modes differ
    parts = []
    for mode, coord, near in [("nearest", "asymmetric", "floor"), ("nearest", "half_pixel", "round_prefer_floor"),
                              ("nearest", "align_corners", "round_prefer_ceil"), ("linear", "half_pixel", None),
                              ("linear", "pytorch_half_pixel", None), ("linear", "align_corners", None),
                              ("linear", "asymmetric", None)]:
        attrs = dict(mode=mode, coordinate_transformation_mode=coord)
        if near:
            attrs["nearest_mode"] = near
        parts.append(b.node("Resize", [x, empty, up2], f"/resize_{mode}_{coord}", **attrs))
    # sizes instead of scales, non-integer ratio
    sizes = b.const("/sizes", np.array([1, 8, 9, 15], np.int64))
    s = b.node("Resize", [x, empty, no_scales, sizes], "/resize_sizes", mode="linear", coordinate_transformation_mode="half_pixel")
    s = b.node("Resize", [s, empty, no_scales, b.const("/sizes2", np.array([1, 8, 9, 15], np.int64))], "/resize_back",
               mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="round_prefer_floor")
    parts.append(s)
    x = b.node("Concat", parts, "/cat", axis=1)  # [1,64,12,12]
    x = b.conv(x, 8 * len(parts), 16, 1, 1, "/c1", bias=True)
    # ConvTranspose: stride 2, 3x3, pads 1, output_padding 1, groups 2
    w = r.normal(0, 0.3, (16, 4, 3, 3)).astype(np.float32)
    x = b.node("ConvTranspose", [x, b.const("/ct.w", w), b.const("/ct.b", r.normal(0, 0.1, 8).astype(np.float32))], "/ct",
               strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1], group=2, kernel_shape=[3, 3])  # [1,8,24,24]
    x = b.node("Relu", [x], "/ct_relu")
    w2 = r.normal(0, 0.3, (8, 8, 2, 2)).astype(np.float32)
    x = b.node("ConvTranspose", [x, b.const("/ct2.w", w2)], "/ct2", strides=[2, 2])  # [1,8,48,48]
    x = b.conv(x, 8, 16, 3, 2, "/c2", bias=True)  # [1,16,24,24]
    d = b.node("DepthToSpace", [x], "/d2s_dcr", blocksize=2, mode="DCR")  # [1,4,48,48]
    c = b.node("DepthToSpace", [x], "/d2s_crd", blocksize=2, mode="CRD")
    x = b.node("Add", [d, c], "/d2s_add")
    return b.model(name, ["batch", 3, 6, 6], "input", x, ["batch", 4, 36, 60])


def upsample_opset9(name, seed=8):
    b = Builder(9, seed)
    x = b.conv("input", 3, 4, 3, 1, "/c0", bias=True)
    n = b.node("Upsample", [x, b.const("/sc", np.array([1, 1, 2, 3], np.float32))], "/up_nearest", mode="nearest")
    l = b.node("Upsample", [x, b.const("/sc2", np.array([1, 1, 2, 3], np.float32))], "/up_linear", mode="linear")
    x = b.node("Add", [n, l], "/add")
    # ConvTranspose sized by output_shape (odd total padding) and by auto_pad SAME_UPPER.
    w = b.rng.normal(0, 0.3, (4, 4, 3, 3)).astype(np.float32)
    t1 = b.node("ConvTranspose", [x, b.const("/ct1.w", w)], "/ct_shape", strides=[2, 2], output_shape=[20, 30])
    t2 = b.node("ConvTranspose", [x, b.const("/ct2.w", w)], "/ct_same", strides=[2, 2], auto_pad="SAME_UPPER")
    x = b.node("Add", [t1, t2], "/ct_add")
    return b.model(name, ["batch", 3, 5, 5], "input", x, ["batch", 4, 20, 30])


def ssd_head(name, seed=9):
    """A tiny SSD/BlazeFace-like detector with two outputs: boxes [1, N, 4] and scores [1, N, C],
    each the Transpose/Reshape/Concat of two conv heads (only ops the integer side has)."""
    b = Builder(13, seed)
    f1 = b.node("Relu", [b.conv("input", 3, 8, 3, 2, "/backbone/c0", bias=True)], "/backbone/r0")  # [1,8,8,8]
    f2 = b.node("Relu", [b.conv(f1, 8, 16, 3, 2, "/backbone/c1", bias=True)], "/backbone/r1")  # [1,16,4,4]
    boxes, scores = [], []
    for i, (f, c) in enumerate([(f1, 8), (f2, 16)]):
        anchors = 2
        for kind, k, out in [("box", 4, boxes), ("cls", 3, scores)]:
            h = b.conv(f, c, anchors * k, 3, 1, f"/head{i}/{kind}", bias=True)
            h = b.node("Transpose", [h], f"/head{i}/{kind}/transpose", perm=[0, 2, 3, 1])
            out.append(b.node("Reshape", [h, b.const(f"/head{i}/{kind}.shape", np.array([0, -1, k], np.int64))],
                              f"/head{i}/{kind}/reshape"))
    bx = b.node("Concat", boxes, "/boxes", axis=1)
    sc = b.node("Concat", scores, "/scores", axis=1)
    n = 8 * 8 * 2 + 4 * 4 * 2
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])
    outs = [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["batch", n, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", n, 3])]
    b.nodes.append(helper.make_node("Identity", [bx], ["boxes"], name="/out/boxes"))
    b.nodes.append(helper.make_node("Identity", [sc], ["scores"], name="/out/scores"))
    g = helper.make_graph(b.nodes, name, [inp], outs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-fixtures")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def two_outputs(name, seed=11):
    """Two outputs from one backbone, with only ops the integer side has today: class logits
    [1, 5] (a distribution) and landmarks [1, 10] (values)."""
    b = Builder(13, seed)
    f = b.node("Relu", [b.conv("input", 3, 8, 3, 2, "/backbone/c0", bias=True)], "/backbone/r0")  # [1,8,8,8]
    f = b.node("Relu", [b.conv(f, 8, 16, 3, 2, "/backbone/c1", bias=True)], "/backbone/r1")  # [1,16,4,4]
    g = b.node("Flatten", [b.node("GlobalAveragePool", [f], "/cls/gap")], "/cls/flatten")
    cls = b.gemm(g, 16, 5, "/cls/fc")
    lm = b.node("Relu", [b.conv(f, 16, 4, 1, 1, "/lm/c", bias=True)], "/lm/r")  # [1,4,4,4]
    lm = b.gemm(b.node("Flatten", [lm], "/lm/flatten"), 64, 10, "/lm/fc")
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])
    outs = [helper.make_tensor_value_info("classes", TensorProto.FLOAT, ["batch", 5]),
            helper.make_tensor_value_info("landmarks", TensorProto.FLOAT, ["batch", 10])]
    b.nodes.append(helper.make_node("Identity", [cls], ["classes"], name="/out/classes"))
    b.nodes.append(helper.make_node("Identity", [lm], ["landmarks"], name="/out/landmarks"))
    g = helper.make_graph(b.nodes, name, [inp], outs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-fixtures")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def free_dims(name, seed=10):
    """A Paddle-style input [-1, 3, ?, ?]: the data fixes H and W."""
    b = Builder(11, seed)
    x = b.node("Relu", [b.conv("input", 3, 4, 3, 1, "/c0", bias=True)], "/r0")
    x = b.node("GlobalAveragePool", [x], "/gap")
    return b.model(name, [-1, 3, "h", "w"], "input", x, [-1, 4, 1, 1])


NEW_FIXTURES = {
    "real_ops": lambda: (real_ops("real_ops"), 2, 105),
    "resample_ops": lambda: (resample_ops("resample_ops"), 1, 106),
    "upsample_opset9": lambda: (upsample_opset9("upsample_opset9"), 1, 107),
    "ssd_head": lambda: (ssd_head("ssd_head"), 2, 108),
    "two_outputs": lambda: (two_outputs("two_outputs"), 8, 110),
}


def write_all_outputs(model, folder, name, batch, seed, dims=None):
    """Like `write`, with every output: NAME.expected.npz holds one array per output name."""
    path = os.path.join(folder, name + ".onnx")
    onnx.save(model, path)
    dims = dims or [d.dim_value or batch for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).normal(0, 1, dims).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    ys = sess.run(None, {"input": x})
    np.save(os.path.join(folder, name + ".input.npy"), x)
    np.savez(os.path.join(folder, name + ".expected.npz"), **{n: y.astype(np.float32) for n, y in zip(names, ys)})
    print(f"{path}: {os.path.getsize(path)} bytes, input {list(x.shape)}, outputs {[list(y.shape) for y in ys]}")


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def mobilenet_v1(width=0.25, res=32, classes=10, opset=11, seed=1):
    b = Builder(opset, seed)
    c = make_divisible(32 * width)
    x = b.node("Relu", [b.bn(b.conv("input", 3, c, 3, 2, "/model/0/0"), c, "/model/0/1")], "/model/0/2")
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (co, s) in enumerate(cfg, start=1):
        co = make_divisible(co * width)
        sc = f"/model/{i}"
        x = b.node("Relu", [b.bn(b.conv(x, c, c, 3, s, sc + "/0", group=c), c, sc + "/1")], sc + "/2")
        x = b.node("Relu", [b.bn(b.conv(x, c, co, 1, 1, sc + "/3"), co, sc + "/4")], sc + "/5")
        c = co
    x = b.node("GlobalAveragePool", [x], "/avgpool")
    x = b.view_head(x, "/view")
    x = b.node("Dropout", [x], "/dropout")
    y = b.gemm(x, c, classes, "/fc")
    return b.model("mobilenet_v1", ["batch", 3, res, res], "input", y, ["batch", classes])


def mobilenet_v2(width=0.35, res=32, classes=10, opset=13, seed=2):
    b = Builder(opset, seed)
    c = make_divisible(32 * width)
    x = b.relu6(b.bn(b.conv("input", 3, c, 3, 2, "/features/0/0"), c, "/features/0/1"), "/features/0/2")
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    i = 1
    for t, ch, n, s in cfg:
        co = make_divisible(ch * width)
        for j in range(n):
            stride = s if j == 0 else 1
            sc = f"/features/{i}/conv"
            hidden = c * t
            y = x
            k = 0
            if t != 1:
                y = b.relu6(b.bn(b.conv(y, c, hidden, 1, 1, f"{sc}/{k}/0"), hidden, f"{sc}/{k}/1"), f"{sc}/{k}/2")
                k += 1
            y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride, f"{sc}/{k}/0", group=hidden), hidden,
                             f"{sc}/{k}/1"), f"{sc}/{k}/2")
            y = b.bn(b.conv(y, hidden, co, 1, 1, f"{sc}/{k + 1}"), co, f"{sc}/{k + 2}")
            if stride == 1 and c == co:
                y = b.node("Add", [x, y], f"/features/{i}")
            x, c = y, co
            i += 1
    last = make_divisible(1280 * max(1.0, width))
    x = b.relu6(b.bn(b.conv(x, c, last, 1, 1, f"/features/{i}/0"), last, f"/features/{i}/1"), f"/features/{i}/2")
    x = b.node("GlobalAveragePool", [x], "/pool")
    x = b.node("Identity", [x], "/identity")
    x = b.view_head(x, "/view")
    y = b.gemm(x, last, classes, "/classifier/1")
    return b.model("mobilenet_v2", ["batch", 3, res, res], "input", y, ["batch", classes])


def mnasnet(width=0.5, res=32, classes=10, opset=13, seed=3, head=1280):
    """MNasNet-A1-like: k3/k5 depthwise, squeeze-excite with HardSigmoid, ReduceMean head."""
    b = Builder(opset, seed)
    c = make_divisible(32 * width)
    x = b.node("Relu", [b.bn(b.conv("input", 3, c, 3, 2, "/layers/0"), c, "/layers/1")], "/layers/2")
    # (expansion, out channels, repeats, stride, kernel, squeeze-excite)
    cfg = [(1, 16, 1, 1, 3, False), (6, 24, 2, 2, 3, False), (3, 40, 3, 2, 5, True), (6, 80, 4, 2, 3, False),
           (6, 112, 2, 1, 3, True), (6, 160, 3, 2, 5, True), (6, 320, 1, 1, 3, False)]
    i = 3
    for t, ch, n, s, k, se in cfg:
        co = make_divisible(ch * width)
        for j in range(n):
            stride = s if j == 0 else 1
            sc = f"/layers/{i}/{j}"
            hidden = c * t
            y = x
            if t != 1:
                y = b.node("Relu", [b.bn(b.conv(y, c, hidden, 1, 1, sc + "/0"), hidden, sc + "/1")], sc + "/2")
            y = b.node("Relu", [b.bn(b.conv(y, hidden, hidden, k, stride, sc + "/3", group=hidden), hidden,
                                     sc + "/4")], sc + "/5")
            if se:
                sq = max(8, hidden // 4)
                z = b.node("GlobalAveragePool", [y], sc + "/se/pool")
                z = b.node("Relu", [b.conv(z, hidden, sq, 1, 1, sc + "/se/fc1", bias=True)], sc + "/se/relu")
                z = b.node("HardSigmoid", [b.conv(z, sq, hidden, 1, 1, sc + "/se/fc2", bias=True)], sc + "/se/gate",
                           alpha=1.0 / 6, beta=0.5)
                y = b.node("Mul", [y, z], sc + "/se")
            y = b.bn(b.conv(y, hidden, co, 1, 1, sc + "/6"), co, sc + "/7")
            if stride == 1 and c == co:
                y = b.node("Add", [x, y], sc)
            x, c = y, co
        i += 1
    x = b.node("Relu", [b.bn(b.conv(x, c, head, 1, 1, "/layers/14"), head, "/layers/15")], "/layers/16")
    x = b.node("ReduceMean", [x], "/mean", axes=[2, 3], keepdims=0)
    y = b.gemm(x, head, classes, "/classifier/1")
    return b.model("mnasnet", ["batch", 3, res, res], "input", y, ["batch", classes])


def ops_zoo(seed=4):
    """Every remaining op of the supported set in one small opset-14 graph."""
    b = Builder(14, seed)
    r = b.rng
    pads = b.const("zoo.pads", np.array([0, 0, 1, 0, 0, 0, 2, 1], np.int64))  # asymmetric H and W
    padv = b.const("zoo.padvalue", np.array(0.5, np.float32))
    x = b.node("Pad", ["input", pads, padv], "/pad", mode="constant")  # [1,4,15,13]
    x = b.conv(x, 4, 8, 3, 1, "/gconv", group=2, bias=True, pads=[0, 0, 0, 0])  # grouped, [1,8,13,11]
    x = b.node("Sigmoid", [b.bn(x, 8, "/gbn")], "/sig")
    m = b.node("MaxPool", [x], "/maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    a = b.node("AveragePool", [x], "/avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               count_include_pad=0)
    a2 = b.node("AveragePool", [x], "/avgpool_inc", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                count_include_pad=1)
    x = b.node("Concat", [m, a, a2], "/concat", axis=1)  # [1,24,7,6]
    # depth multiplier 2 with dilation 2
    x = b.conv(x, 24, 48, 3, 1, "/dwmult", group=24, bias=True, dilation=2)
    x = b.node("HardSwish", [x], "/hswish")
    x = b.node("Mul", [x, b.const("zoo.scale", r.uniform(0.5, 1.5, (1, 48, 1, 1)).astype(np.float32))], "/mul")
    x = b.node("Div", [x, b.const("zoo.two", np.array(2.0, np.float32))], "/div")
    x = b.node("Add", [x, b.const("zoo.shift", r.normal(0, 0.2, (48, 1, 1)).astype(np.float32))], "/addc")
    x = b.node("HardSigmoid", [x], "/hsig", alpha=0.2, beta=0.5)
    x = b.bn(x, 48, "/lonebn")  # not after a Conv: stays an affine op
    x = b.node("Transpose", [x], "/transpose", perm=[0, 2, 3, 1])  # [1,7,6,48]
    shp = b.node("Shape", [x], "/shape")
    n = b.node("Slice", [shp, b.const("zoo.s0", np.array([0], np.int64)), b.const("zoo.s1", np.array([1], np.int64))],
               "/slice")
    n = b.node("Cast", [b.node("Cast", [n], "/castf", to=TensorProto.FLOAT)], "/casti", to=TensorProto.INT64)
    tgt = b.node("Concat", [n, b.const("zoo.rest", np.array([-1, 48], np.int64))], "/tgt", axis=0)
    x = b.node("Reshape", [x, tgt], "/reshape")  # [1,42,48]
    x = b.node("MatMul", [x, b.const("zoo.mm", r.normal(0, 0.2, (48, 10)).astype(np.float32))], "/matmul")
    x = b.node("ReduceMean", [x], "/mean", axes=[1], keepdims=0)  # [1,10]
    x = b.node("Unsqueeze", [x, b.const("zoo.ax", np.array([2], np.int64))], "/unsq")
    x = b.node("Squeeze", [x, b.const("zoo.ax2", np.array([2], np.int64))], "/sq")
    y = b.node("Softmax", [x], "/softmax", axis=-1)
    return b.model("ops_zoo", [1, 4, 12, 12], "input", y, [1, 10])


def legacy_opset10(seed=5):
    """Attribute forms of older opsets: Clip min/max, Pad pads, Squeeze/Unsqueeze axes; Gemm alpha/beta."""
    b = Builder(10, seed)
    x = b.relu6(b.bn(b.conv("input", 3, 8, 3, 1, "/c0"), 8, "/bn0"), "/clip")
    x = b.node("Pad", [x], "/pad", mode="constant", pads=[0, 0, 0, 1, 0, 0, 1, 0], value=0.0)
    x = b.node("Relu", [b.conv(x, 8, 16, 1, 1, "/c1", bias=True)], "/relu")
    x = b.node("MaxPool", [x], "/mp", kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("GlobalAveragePool", [x], "/gap")
    x = b.node("Squeeze", [x], "/squeeze", axes=[2, 3])
    x = b.node("Dropout", [x], "/drop", ratio=0.2)
    w = b.const("/fc.w", b.rng.normal(0, 0.3, (16, 6)).astype(np.float32))
    bias = b.const("/fc.b", b.rng.normal(0, 0.3, (6,)).astype(np.float32))
    x = b.node("Gemm", [x, w, bias], "/fc", alpha=0.5, beta=2.0, transB=0)
    x = b.node("Unsqueeze", [x], "/unsq", axes=[1])
    y = b.node("Flatten", [x], "/flatten", axis=1)
    return b.model("legacy_opset10", ["batch", 3, 16, 16], "input", y, ["batch", 6])


def bad_models(folder):
    """Small broken or unsupported models for the bad-input tests (each should fail clearly)."""
    os.makedirs(folder, exist_ok=True)

    def tiny(nodes, inits, in_dims, name):
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, in_dims)
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, None)
        g = helper.make_graph(nodes, name, [inp], [out], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-fixtures")
        m.ir_version = 7
        return m

    w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
    conv = helper.make_node("Conv", ["input", "w"], ["output"], name="conv0")
    onnx.save(tiny([conv], [w], [1, 3, -4, 4], "negative_dim"), os.path.join(folder, "negative_dim.onnx"))
    onnx.save(tiny([conv], [w], [1, 3, 1 << 40, 1 << 40], "absurd_dim"), os.path.join(folder, "absurd_dim.onnx"))
    onnx.save(tiny([conv], [w], [1, 3, "height", 8], "free_dim"), os.path.join(folder, "free_dim.onnx"))
    lstm = helper.make_node("Erf", ["input"], ["output"], name="the_erf_node")
    onnx.save(tiny([lstm], [], [1, 3, 4, 4], "unsupported_op"), os.path.join(folder, "unsupported_op.onnx"))

    # External data: one model whose weight lives in a file beside it (fine), one that points
    # outside its folder (refused).
    data = np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1)
    with open(os.path.join(folder, "external_ok.weights"), "wb") as f:
        f.write(data.tobytes())
    for name, location in [("external_ok", "external_ok.weights"), ("external_escape", "../generate.py")]:
        t = onnx.TensorProto()
        t.name = "w"
        t.data_type = TensorProto.FLOAT
        t.dims.extend([2, 3, 1, 1])
        t.data_location = TensorProto.EXTERNAL
        for k, v in [("location", location), ("offset", "0"), ("length", "24")]:
            e = t.external_data.add()
            e.key, e.value = k, v
        onnx.save(tiny([conv], [t], [1, 3, 4, 4], name), os.path.join(folder, name + ".onnx"))
    print(f"bad-input models in {folder}")


def write(model, folder, name, batch, seed):
    path = os.path.join(folder, name + ".onnx")
    onnx.save(model, path)
    dims = [d.dim_value or batch for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).normal(0, 1, dims).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"input": x})[0]
    np.save(os.path.join(folder, name + ".input.npy"), x)
    np.save(os.path.join(folder, name + ".expected.npy"), y.astype(np.float32))
    print(f"{path}: {os.path.getsize(path)} bytes, input {list(x.shape)}, output {list(y.shape)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", metavar="DIR", help="write full-size 224x224 models into DIR instead")
    ap.add_argument("--only", metavar="NAMES", help="comma-separated new fixtures to write (issue-12 models: "
                    + ", ".join(NEW_FIXTURES) + ", free_dims); the trained ones are left alone")
    args = ap.parse_args()
    if args.only:
        for name in args.only.split(","):
            if name == "free_dims":
                write_all_outputs(free_dims(name), HERE, name, 1, 109, dims=[1, 3, 7, 9])
                continue
            model, batch, seed = NEW_FIXTURES[name]()
            write_all_outputs(model, HERE, name, batch, seed)
        return
    if args.bench:
        os.makedirs(args.bench, exist_ok=True)
        write(mobilenet_v1(1.0, 224, 1000), args.bench, "mobilenet_v1_1.0_224", 1, 10)
        write(mobilenet_v2(1.0, 224, 1000), args.bench, "mobilenet_v2_1.0_224", 1, 11)
        write(mnasnet(1.0, 224, 1000), args.bench, "mnasnet_1.0_224", 1, 12)
        return
    import train  # JAX, only needed here
    for model, name, seed in [(mobilenet_v1(0.25, 32, 10, opset=11), "mobilenet_v1_025_32", 100),
                              (mobilenet_v2(0.35, 32, 10, opset=13), "mobilenet_v2_035_32", 101),
                              (mnasnet(0.35, 32, 10, opset=13, head=256), "mnasnet_035_32", 102)]:
        print(f"training {name} on digits")
        train.train(model, epochs=30)
        write(model, HERE, name, 4, seed)
    _, (xc, yc), (xv, yv) = train.split()
    np.savez_compressed(os.path.join(HERE, "digits32.npz"), x=xc, y=yc)
    np.savez_compressed(os.path.join(HERE, "digits32.val.npz"), x=xv, y=yv)
    write(ops_zoo(), HERE, "ops_zoo", 1, 103)
    write(legacy_opset10(), HERE, "legacy_opset10", 3, 104)
    for name, make in NEW_FIXTURES.items():
        model, batch, seed = make()
        write_all_outputs(model, HERE, name, batch, seed)
    write_all_outputs(free_dims("free_dims"), HERE, "free_dims", 1, 109, dims=[1, 3, 7, 9])
    bad_models(os.path.join(HERE, "bad"))


if __name__ == "__main__":
    main()
