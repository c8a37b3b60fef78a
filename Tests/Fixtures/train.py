"""Trains the fixture models of generate.py on scikit-learn's digits, so the fixtures behave
like trained networks (decisive logits, data-matched BatchNorm statistics) rather than random
ones, whose nearly flat logits flip under any perturbation.

The ONNX graph itself is the model: a small JAX interpreter runs its nodes (Conv, BatchNorm in
training mode, Relu, Clip, Add, Mul, HardSigmoid, pools, Gemm and the exporter's shape
sub-graph), gradients come from jax.grad, and Adam updates the float initializers in place.
BatchNorm running statistics are then recomputed over the training set with the trained
weights ("precise BN"), as a framework would have tracked them.

Data: the 1,797 8x8 digit images (inside the scikit-learn wheel), upscaled to 32x32 and given
three slightly shifted channels, normalised; a fixed split into training, calibration and
held-out validation images.
"""
import numpy as np
import onnx
from onnx import numpy_helper
from sklearn.datasets import load_digits

import jax
import jax.numpy as jnp


def digits32(seed=0):
    """x: N×3×32×32 float32, y: int64 labels, and a fixed permutation of the indices."""
    d = load_digits()
    g = np.kron(d.images.astype(np.float32) / 16.0, np.ones((4, 4), np.float32))
    x = np.stack([g, np.roll(g, 1, axis=2), np.roll(g, 1, axis=1)], 1)
    x = (x - 0.3) / 0.4
    return x.astype(np.float32), d.target.astype(np.int64), np.random.default_rng(seed).permutation(len(g))


def split(seed=0):
    """(train x, y), (calibration x, y), (validation x, y): disjoint."""
    x, y, idx = digits32(seed)
    tr, val = idx[:1400], idx[1400:]
    cal = tr[:64]
    return (x[tr], y[tr]), (x[cal], y[cal]), (x[val], y[val])


class Interpreter:
    """Runs an ONNX graph in JAX with some initializers as trainable parameters."""

    def __init__(self, model):
        self.model = model
        self.nodes = list(model.graph.node)
        self.consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        # The running mean and variance initializers of each BatchNorm, in node order.
        self.bn_names = [(n.input[3], n.input[4]) for n in self.nodes if n.op_type == "BatchNormalization"]
        self.bn_stats = {name for pair in self.bn_names for name in pair}
        # Trainable: float tensors of rank ≥ 1 that are not BatchNorm statistics or clip bounds.
        self.trainable = [k for k, v in self.consts.items()
                          if v.dtype == np.float32 and v.ndim >= 1 and k not in self.bn_stats]

    def run(self, params, x, train):
        """Logits, and per BatchNorm (in `bn_names` order) its batch mean and variance when training."""
        env = dict(self.consts)
        env.update(params)
        env[self.model.graph.input[0].name] = x
        stats = []
        for n in self.nodes:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
            ins = [env[i] if i else None for i in n.input]
            op = n.op_type
            if op == "Conv":
                k = ins[1]
                p = a.get("pads", [0, 0, 0, 0])
                y = jax.lax.conv_general_dilated(
                    ins[0], k, window_strides=a.get("strides", [1, 1]), padding=[(p[0], p[2]), (p[1], p[3])],
                    rhs_dilation=a.get("dilations", [1, 1]), feature_group_count=a.get("group", 1),
                    dimension_numbers=("NCHW", "OIHW", "NCHW"))
                if len(ins) > 2:
                    y = y + ins[2].reshape(1, -1, 1, 1)
            elif op == "BatchNormalization":
                xin, scale, bias, mean, var = ins
                eps = a.get("epsilon", 1e-5)
                if train:
                    mean = jnp.mean(xin, axis=(0, 2, 3))
                    var = jnp.var(xin, axis=(0, 2, 3))
                    stats.append((mean, var))
                r = lambda v: v.reshape(1, -1, 1, 1)
                y = (xin - r(mean)) / jnp.sqrt(r(var) + eps) * r(scale) + r(bias)
            elif op == "Relu":
                y = jnp.maximum(ins[0], 0)
            elif op == "Clip":
                lo = ins[1] if len(ins) > 1 else a.get("min")
                hi = ins[2] if len(ins) > 2 else a.get("max")
                y = jnp.clip(ins[0], lo, hi)
            elif op == "HardSigmoid":
                y = jnp.clip(a.get("alpha", 0.2) * ins[0] + a.get("beta", 0.5), 0, 1)
            elif op == "Add":
                y = ins[0] + ins[1]
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "GlobalAveragePool":
                y = jnp.mean(ins[0], axis=(2, 3), keepdims=True)
            elif op == "ReduceMean":
                y = jnp.mean(ins[0], axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
            elif op in ("Identity", "Dropout"):
                y = ins[0]
            elif op == "Shape":
                y = np.array(ins[0].shape, np.int64)
            elif op == "Gather":
                y = np.take(np.asarray(ins[0]), np.asarray(ins[1]), axis=a.get("axis", 0))
            elif op == "Unsqueeze":
                axes = a["axes"] if "axes" in a else list(np.asarray(ins[1]))
                y = np.expand_dims(np.asarray(ins[0]), tuple(int(v) for v in axes))
            elif op == "Concat":
                y = np.concatenate([np.asarray(v) for v in ins], axis=a["axis"])
            elif op == "Reshape":
                y = ins[0].reshape(tuple(int(v) for v in np.asarray(ins[1])))
            elif op == "Flatten":
                y = ins[0].reshape(ins[0].shape[0], -1)
            elif op == "Gemm":
                w = ins[1].T if a.get("transB", 0) else ins[1]
                y = ins[0] @ w + (ins[2] if len(ins) > 2 else 0)
            else:
                raise ValueError(f"train.py: no JAX rule for {op}")
            env[n.output[0]] = y
        return env[self.model.graph.output[0].name], stats


def train(model, epochs=30, batch=64, lr=1e-2, seed=0, log=print):
    """Trains `model` (ONNX, modified in place) on the digits; returns held-out accuracy."""
    (xt, yt), _, (xv, yv) = split()
    net = Interpreter(model)
    params = {k: jnp.asarray(net.consts[k]) for k in net.trainable}

    def loss(p, x, y):
        logits, stats = net.run(p, x, train=True)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), stats

    grad = jax.jit(jax.value_and_grad(loss, has_aux=True))
    m = {k: jnp.zeros_like(v) for k, v in params.items()}
    v = {k: jnp.zeros_like(w) for k, w in params.items()}
    rng = np.random.default_rng(seed)
    step = 0
    steps = epochs * (len(xt) // batch)
    for epoch in range(epochs):
        order = rng.permutation(len(xt))
        total = 0.0
        for b in range(len(xt) // batch):
            i = order[b * batch:(b + 1) * batch]
            xb = xt[i]
            # Augment: shift by up to 2 pixels.
            dy, dx = rng.integers(-2, 3, 2)
            xb = np.roll(xb, (int(dy), int(dx)), axis=(2, 3))
            (l, _), g = grad(params, jnp.asarray(xb), jnp.asarray(yt[i]))
            step += 1
            rate = lr * 0.5 * (1 + np.cos(np.pi * step / steps))  # cosine decay
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                mh, vh = m[k] / (1 - 0.9 ** step), v[k] / (1 - 0.999 ** step)
                params[k] = params[k] - rate * mh / (jnp.sqrt(vh) + 1e-8)
            total += float(l)
        if epoch % 5 == 4 or epoch == epochs - 1:
            log(f"  epoch {epoch + 1}: loss {total / (len(xt) // batch):.3f}")
    # Precise BN: running statistics from the whole training set with the final weights.
    run_stats = jax.jit(lambda p, x: net.run(p, x, train=True)[1])
    acc = {}
    for b in range(0, len(xt), 200):
        for (mean_name, var_name), (mean, var) in zip(net.bn_names, run_stats(params, jnp.asarray(xt[b:b + 200]))):
            acc.setdefault(mean_name, []).append(np.asarray(mean))
            acc.setdefault(var_name, []).append(np.asarray(var))
    final = {k: np.asarray(w, np.float32) for k, w in params.items()}
    final.update({k: np.mean(vs, axis=0).astype(np.float32) for k, vs in acc.items()})
    for init in model.graph.initializer:
        if init.name in final:
            init.CopyFrom(numpy_helper.from_array(final[init.name], init.name))
    infer = Interpreter(model)
    logits, _ = infer.run({}, jnp.asarray(xv), train=False)
    accuracy = float(np.mean(np.argmax(np.asarray(logits), 1) == yv))
    log(f"  held-out accuracy {accuracy * 100:.2f}% on {len(yv)} images")
    return accuracy
