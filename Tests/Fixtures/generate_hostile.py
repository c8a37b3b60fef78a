"""Hostile inputs from issue 17 (each once crashed or hung tinympq): small models and data files
in Tests/Fixtures/hostile/. Every one must end in a clear error naming the file and the field,
node or tensor. Run from the repository root: .venv/bin/python Tests/Fixtures/generate_hostile.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile")


def model(nodes, inits, name, in_dims=(1, 3, 4, 4)):
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_dims))
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, name, [inp], [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-fixtures")
    m.ir_version = 7
    return m


def save(m, name):
    onnx.save(m, os.path.join(HERE, name + ".onnx"))


def small_cnn(weight, name):
    """Conv(3->2, 1x1) -> Relu -> GlobalAveragePool -> Flatten: a 2-class classifier."""
    w = numpy_helper.from_array(weight, "w")
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], name="conv0"),
        helper.make_node("Relu", ["c"], ["r"], name="relu0"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool0"),
        helper.make_node("Flatten", ["p"], ["output"], name="flatten0"),
    ]
    save(model(nodes, [w], name), name)


def main():
    os.makedirs(HERE, exist_ok=True)
    good = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3, 1, 1)
    small_cnn(good, "tiny_cnn")

    # 1. External data offset 2^63 - 1.
    t = onnx.TensorProto()
    t.name, t.data_type = "w", TensorProto.FLOAT
    t.dims.extend([2, 3, 1, 1])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "tiny_cnn.onnx"), ("offset", str(2**63 - 1)), ("length", "24")]:
        e = t.external_data.add()
        e.key, e.value = k, v
    save(model([helper.make_node("Conv", ["input", "w"], ["output"], name="conv0")], [t], "external_offset"), "external_offset")

    # 2. Reshape to [1e9, 1e9, 1e9].
    shape = numpy_helper.from_array(np.array([10**9] * 3, np.int64), "target")
    save(model([helper.make_node("Reshape", ["input", "target"], ["output"], name="reshape_huge")], [shape], "reshape_huge"), "reshape_huge")

    # 4. NaN / +Inf / -Inf weights.
    for name, v in [("nan_weight", np.nan), ("inf_weight", np.inf), ("neg_inf_weight", -np.inf)]:
        w = good.copy()
        w[1, 2, 0, 0] = v
        small_cnn(w, name)

    # 5. Two nodes writing the same output name.
    w = numpy_helper.from_array(good, "w")
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], name="conv0"),
        helper.make_node("Relu", ["c"], ["c"], name="relu_writes_c_again"),
        helper.make_node("GlobalAveragePool", ["c"], ["p"], name="pool0"),
        helper.make_node("Flatten", ["p"], ["output"], name="flatten0"),
    ]
    save(model(nodes, [w], "duplicate_output"), "duplicate_output")

    # A chain of 10,000 Relu nodes.
    nodes = [helper.make_node("Conv", ["input", "w"], ["r0"], name="conv0")]
    for i in range(10000):
        nodes.append(helper.make_node("Relu", [f"r{i}"], [f"r{i + 1}"], name=f"relu{i}"))
    nodes += [helper.make_node("GlobalAveragePool", ["r10000"], ["p"], name="pool0"),
              helper.make_node("Flatten", ["p"], ["output"], name="flatten0")]
    save(model(nodes, [w], "relu_chain"), "relu_chain")

    # A 16-Mpixel input: each calibration image is 64 MB, so a worker under a small memory
    # limit dies (the daemon's memory-limit test).
    w1 = numpy_helper.from_array(np.ones((2, 1, 1, 1), np.float32), "w")
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], name="conv0"),
             helper.make_node("Relu", ["c"], ["r"], name="relu0"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool0"),
             helper.make_node("Flatten", ["p"], ["output"], name="flatten0")]
    save(model(nodes, [w1], "big_input", in_dims=(1, 1, 4096, 4096)), "big_input")

    # Data for tiny_cnn (input [N, 3, 4, 4], 2 classes): hostile x and y.
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (8, 3, 4, 4)).astype(np.float32)
    y = np.array([0, 1] * 4, np.int64)
    np.savez(os.path.join(HERE, "ok.npz"), x=x, y=y)
    for name, v in [("x_neg_inf", -np.inf), ("x_nan", np.nan), ("x_huge", 3e38)]:
        bad = x.copy()
        bad[3, 1, 2, 2] = v
        np.savez(os.path.join(HERE, name + ".npz"), x=bad, y=y)
    for name, labels in [("y_999", [0, 1, 999, 0, 1, 0, 1, 0]), ("y_negative", [0, 1, -1, 0, 1, 0, 1, 0]),
                         ("y_huge", [0, 1, 2**62, 0, 1, 0, 1, 0])]:
        np.savez(os.path.join(HERE, name + ".npz"), x=x, y=np.array(labels, np.int64))
    np.savez(os.path.join(HERE, "y_float.npz"), x=x, y=y.astype(np.float32) + 0.5)
    # Finite but huge: weights 1e29 on inputs 1e9 overflow float activations in calibration.
    small_cnn(np.full((2, 3, 1, 1), 1e29, np.float32), "huge_weight")
    np.savez(os.path.join(HERE, "x_large.npz"), x=np.full((4, 3, 4, 4), 1e9, np.float32))
    print(f"hostile fixtures in {HERE}")


if __name__ == "__main__":
    main()
