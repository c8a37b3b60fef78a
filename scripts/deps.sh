#!/usr/bin/env bash
# Installs what tinympq needs and is missing, idempotently:
#   - Debian packages (system libraries, the Cortex-M cross toolchain, QEMU);
#   - a Python virtual environment in .venv with the benchmark packages (and, with --fixtures,
#     the ones that only regenerating the committed fixtures needs: TFLite writer and
#     interpreter, JAX for training; with --corpus, what `make corpus` needs: Pillow to decode
#     the sample photos and the TFLite interpreter as the reference runtime);
#   - with --browser, Debian's chromium (headless), for the test that renders the HTML reports.
# Usage: scripts/deps.sh [--system-only|--python-only|--fixtures|--corpus|--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(zlib1g-dev libinotifytools0-dev gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
PYTHON_PACKAGES=(numpy onnx onnxruntime scikit-learn)
FIXTURE_PACKAGES=(flatbuffers tflite ai-edge-litert jax)
BROWSER_PACKAGES=(chromium)
CORPUS_PACKAGES=(pillow ai-edge-litert)

# Installs the given Debian packages (default: DEBIAN_PACKAGES) that are missing.
system() {
    local wanted=("$@")
    ((${#wanted[@]})) || wanted=("${DEBIAN_PACKAGES[@]}")
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then return 0; fi
    echo "deps: installing Debian packages: ${missing[*]}"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        if command -v sudo >/dev/null; then sudo=(sudo); else
            echo "deps: not root and no sudo; install these packages by hand: ${missing[*]}" >&2
            return 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python() {
    local py=.venv/bin/python
    if [[ ! -x $py ]]; then
        echo "deps: creating .venv"
        python3 -m venv .venv
    fi
    if ! "$py" -c "import numpy, onnx, onnxruntime, sklearn" 2>/dev/null; then
        echo "deps: installing Python packages: ${PYTHON_PACKAGES[*]}"
        "$py" -m pip install -q --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
    fi
}

fixtures() {
    python
    if ! .venv/bin/python -c "import flatbuffers, tflite, ai_edge_litert, jax" 2>/dev/null; then
        echo "deps: installing fixture packages: ${FIXTURE_PACKAGES[*]}"
        .venv/bin/python -m pip install -q --disable-pip-version-check "${FIXTURE_PACKAGES[@]}"
    fi
}

corpus() {
    python
    if ! .venv/bin/python -c "import PIL, ai_edge_litert" 2>/dev/null; then
        echo "deps: installing corpus packages: ${CORPUS_PACKAGES[*]}"
        .venv/bin/python -m pip install -q --disable-pip-version-check "${CORPUS_PACKAGES[@]}"
    fi
}

case "${1:-all}" in
    --system-only) system ;;
    --python-only) python ;;
    --fixtures) system; fixtures ;;
    --browser) system "${BROWSER_PACKAGES[@]}" ;;
    --corpus) system; corpus ;;
    *) system; python ;;
esac
