#!/usr/bin/env python3
"""Trains the example model that ships in watched/: a small CNN on scikit-learn's digits.

The data set (1,797 8x8 grey images of the digits 0-9) ships inside the scikit-learn wheel, so
nothing is downloaded. The network is trained here with plain NumPy (im2col convolutions,
hand-written backward pass, Adam), then written as ONNX the way PyTorch exports such a model:
Conv, BatchNormalization (unfused, with statistics from the training set), Relu, a depthwise
separable block, GlobalAveragePool, Flatten, Gemm.

Writes into watched/ (or --out):
  digits_cnn.onnx          the model
  digits_cnn.npz           calibration data: x (float32, N×1×8×8), y (int64 labels)
  digits_cnn.val.npz       held-out validation data, never used for training or calibration
and prints the float accuracy on the held-out set.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def im2col(x, k, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, oh, ow), x.dtype)
    for ky in range(k):
        for kx in range(k):
            cols[:, :, ky, kx] = xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * k * k), (oh, ow)


def col2im(dcols, shape, k, stride, pad, oh, ow):
    n, c, h, w = shape
    d = dcols.reshape(n, oh, ow, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    dx = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for ky in range(k):
        for kx in range(k):
            dx[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride] += d[:, :, ky, kx]
    return dx[:, :, pad:pad + h, pad:pad + w]


class Conv:
    def __init__(self, rng, cin, cout, k, stride, groups=1):
        self.k, self.stride, self.groups, self.pad = k, stride, groups, k // 2
        self.w = rng.normal(0, np.sqrt(2 / (cin // groups * k * k)), (cout, cin // groups, k, k)).astype(np.float32)
        self.b = np.zeros(cout, np.float32)

    def forward(self, x):
        self.x = x
        n, c = x.shape[:2]
        g = self.groups
        cg, og = c // g, self.w.shape[0] // g
        outs, self.cols = [], []
        for i in range(g):
            cols, (oh, ow) = im2col(x[:, i * cg:(i + 1) * cg], self.k, self.stride, self.pad)
            self.cols.append(cols)
            wg = self.w[i * og:(i + 1) * og].reshape(og, -1)
            outs.append((cols @ wg.T).reshape(n, oh, ow, og))
        self.oh, self.ow = oh, ow
        return np.concatenate(outs, axis=3).transpose(0, 3, 1, 2) + self.b[None, :, None, None]

    def backward(self, dy):
        n, c = self.x.shape[:2]
        g = self.groups
        cg, og = c // g, self.w.shape[0] // g
        self.db = dy.sum(axis=(0, 2, 3))
        dyf = dy.transpose(0, 2, 3, 1).reshape(-1, self.w.shape[0])
        self.dw = np.zeros_like(self.w)
        dx = np.zeros_like(self.x)
        for i in range(g):
            d = dyf[:, i * og:(i + 1) * og]
            wg = self.w[i * og:(i + 1) * og].reshape(og, -1)
            self.dw[i * og:(i + 1) * og] = (d.T @ self.cols[i]).reshape(og, cg, self.k, self.k)
            dx[:, i * cg:(i + 1) * cg] = col2im(d @ wg, (n, cg) + self.x.shape[2:], self.k, self.stride, self.pad, self.oh, self.ow)
        return dx

    def params(self):
        return [(self.w, "dw"), (self.b, "db")]


def relu_fwd(x):
    return np.maximum(x, 0)


def train(x, y, epochs, seed):
    rng = np.random.default_rng(seed)
    layers = [Conv(rng, 1, 16, 3, 1), Conv(rng, 16, 16, 3, 2, groups=16), Conv(rng, 16, 32, 1, 1),
              Conv(rng, 32, 32, 3, 1, groups=32), Conv(rng, 32, 64, 1, 1)]
    fc_w = rng.normal(0, np.sqrt(1 / 64), (10, 64)).astype(np.float32)
    fc_b = np.zeros(10, np.float32)
    params = [(l, name) for l in layers for (_, name) in l.params()]
    m = {id(p): np.zeros_like(p) for l in layers for p, _ in l.params()}
    v = {id(p): np.zeros_like(p) for l in layers for p, _ in l.params()}
    m_fc = [np.zeros_like(fc_w), np.zeros_like(fc_b)]
    v_fc = [np.zeros_like(fc_w), np.zeros_like(fc_b)]
    step, lr = 0, 3e-3
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), 64):
            idx = order[s:s + 64]
            h, acts = x[idx], []
            for l in layers:
                h = l.forward(h)
                acts.append(h)
                h = relu_fwd(h)
            feat = h.mean(axis=(2, 3))
            logits = feat @ fc_w.T + fc_b
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            dl = p.copy()
            dl[np.arange(len(idx)), y[idx]] -= 1
            dl /= len(idx)
            grads_fc = [dl.T @ feat, dl.sum(axis=0)]
            dfeat = dl @ fc_w
            dh = np.broadcast_to(dfeat[:, :, None, None] / (h.shape[2] * h.shape[3]), h.shape).copy()
            for l, a in zip(reversed(layers), reversed(acts)):
                dh = l.backward(dh * (a > 0))
            step += 1
            b1, b2 = 0.9, 0.999
            for l in layers:
                for p_, g_name in l.params():
                    g = getattr(l, g_name)
                    m[id(p_)] = b1 * m[id(p_)] + (1 - b1) * g
                    v[id(p_)] = b2 * v[id(p_)] + (1 - b2) * g * g
                    p_ -= lr * (m[id(p_)] / (1 - b1 ** step)) / (np.sqrt(v[id(p_)] / (1 - b2 ** step)) + 1e-8)
            for i, (p_, g) in enumerate(zip([fc_w, fc_b], grads_fc)):
                m_fc[i] = b1 * m_fc[i] + (1 - b1) * g
                v_fc[i] = b2 * v_fc[i] + (1 - b2) * g * g
                p_ -= lr * (m_fc[i] / (1 - b1 ** step)) / (np.sqrt(v_fc[i] / (1 - b2 ** step)) + 1e-8)
        if epoch == epochs * 2 // 3:
            lr *= 0.3
    return layers, fc_w, fc_b


def export(layers, fc_w, fc_b, x_train, path):
    """Writes ONNX with a BatchNormalization after every conv (statistics from the training set,
    identity-preserving: gamma = std, beta = mean), as an exporter would leave an unfused BN."""
    nodes, inits = [], []
    h, cur = x_train, "input"
    for i, l in enumerate(layers):
        scope = f"/features/{i}"
        inits += [numpy_helper.from_array(l.w, f"{scope}.weight"), numpy_helper.from_array(l.b, f"{scope}.bias")]
        nodes.append(helper.make_node("Conv", [cur, f"{scope}.weight", f"{scope}.bias"], [f"{scope}/conv"], name=f"{scope}/Conv",
                                      kernel_shape=[l.k, l.k], strides=[l.stride] * 2, pads=[l.pad] * 4, group=l.groups))
        h = l.forward(h)
        mean, var = h.mean(axis=(0, 2, 3)).astype(np.float32), h.var(axis=(0, 2, 3)).astype(np.float32) + 1e-3
        std = np.sqrt(var + 1e-5).astype(np.float32)
        inits += [numpy_helper.from_array(std, f"{scope}.bn.weight"), numpy_helper.from_array(mean, f"{scope}.bn.bias"),
                  numpy_helper.from_array(mean, f"{scope}.bn.running_mean"), numpy_helper.from_array(var, f"{scope}.bn.running_var")]
        nodes.append(helper.make_node("BatchNormalization", [f"{scope}/conv", f"{scope}.bn.weight", f"{scope}.bn.bias",
                                                             f"{scope}.bn.running_mean", f"{scope}.bn.running_var"],
                                      [f"{scope}/bn"], name=f"{scope}/BatchNormalization", epsilon=1e-5))
        nodes.append(helper.make_node("Relu", [f"{scope}/bn"], [f"{scope}/relu"], name=f"{scope}/Relu"))
        h, cur = relu_fwd(h), f"{scope}/relu"
    nodes.append(helper.make_node("GlobalAveragePool", [cur], ["/pool"], name="/pool/GlobalAveragePool"))
    nodes.append(helper.make_node("Flatten", ["/pool"], ["/flat"], name="/flatten/Flatten", axis=1))
    inits += [numpy_helper.from_array(fc_w, "/fc.weight"), numpy_helper.from_array(fc_b, "/fc.bias")]
    nodes.append(helper.make_node("Gemm", ["/flat", "/fc.weight", "/fc.bias"], ["logits"], name="/fc/Gemm", transB=1))
    g = helper.make_graph(nodes, "digits_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-train-digits")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "watched"))
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train_idx, val_idx = order[:1437], order[1437:]
    layers, fc_w, fc_b = train(x[train_idx], y[train_idx], args.epochs, seed=1)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_cnn.onnx")
    export(layers, fc_w, fc_b, x[train_idx], path)
    np.savez_compressed(os.path.join(args.out, "digits_cnn.npz"), x=x[train_idx[:256]], y=y[train_idx[:256]])
    np.savez_compressed(os.path.join(args.out, "digits_cnn.val.npz"), x=x[val_idx], y=y[val_idx])
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    pred = sess.run(None, {"input": x[val_idx]})[0].argmax(axis=1)
    print(f"{path}: held-out accuracy {np.mean(pred == y[val_idx]) * 100:.2f}% on {len(val_idx)} images")


if __name__ == "__main__":
    main()
