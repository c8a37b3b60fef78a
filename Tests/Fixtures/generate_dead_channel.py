#!/usr/bin/env python3
"""Writes dead_channel.onnx: a small CNN with the weights real exports contain and a naive
quantizer fails on, plus its onnxruntime reference (`dead_channel.input.npy`,
`dead_channel.expected.npy`).

- conv1 (3 -> 8, 3x3): channel 2 has all-zero weights and a bias of 0.5; channel 5 has weights
  of 1e-12 and a bias of 3.0 (the bias cannot be represented in int32 at scale s_x * s_w);
  channel 6 has weights of 1e-30 (denormal in float32 after scaling) and a bias of -1.
- bn1 after conv1: a BatchNormalization whose variance is denormal (1e-41) on two channels.
- conv2 (8 -> 8, 1x1): all-zero weights, bias -1, then Relu: an activation that is zero
  everywhere (zero range).
- the residual Add of conv1's and conv2's branches, global average pooling, flatten, and a
  fully connected layer (8 -> 4) whose row 3 is all zeros.

Usage: generate_dead_channel.py   (writes into this folder)
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(11)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w1[2] = 0
    b1[2] = 0.5
    w1[5] = 1e-12
    b1[5] = 3.0
    w1[6] = 1e-30
    b1[6] = -1.0
    scale = np.ones(8, np.float32)
    shift = np.zeros(8, np.float32)
    mean = (rng.standard_normal(8) * 0.05).astype(np.float32)
    var = np.ones(8, np.float32)
    var[[1, 4]] = 1e-41
    w2 = np.zeros((8, 8, 1, 1), np.float32)
    b2 = -np.ones(8, np.float32)
    wf = (rng.standard_normal((4, 8)) * 0.5).astype(np.float32)
    wf[3] = 0
    bf = (rng.standard_normal(4) * 0.1).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (w1, "conv1.weight"), (b1, "conv1.bias"), (scale, "bn1.weight"), (shift, "bn1.bias"), (mean, "bn1.running_mean"),
        (var, "bn1.running_var"), (w2, "conv2.weight"), (b2, "conv2.bias"), (wf, "fc.weight"), (bf, "fc.bias"),
        (np.array([1, -1], np.int64), "flat_shape")]]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"], ["n1"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["n1"], ["a"], name="relu1"),
        helper.make_node("Conv", ["a", "conv2.weight", "conv2.bias"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["z"], name="relu2"),
        helper.make_node("Add", ["a", "z"], ["s"], name="add"),
        helper.make_node("GlobalAveragePool", ["s"], ["p"], name="pool"),
        helper.make_node("Reshape", ["p", "flat_shape"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "dead_channel", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="generate_dead_channel.py")
    onnx.checker.check_model(model)
    path = os.path.join(HERE, "dead_channel.onnx")
    onnx.save(model, path)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    np.save(os.path.join(HERE, "dead_channel.input.npy"), x)
    np.save(os.path.join(HERE, "dead_channel.expected.npy"), y)


if __name__ == "__main__":
    main()
