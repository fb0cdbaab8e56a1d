#!/usr/bin/env bash
# Install the on-device export toolchain (the "tflite" and "executorch" extras) without letting pip
# downgrade the environment: litert-torch 0.10's xdsl==0.28 pins typing-extensions<4.13, which
# pip would satisfy by downgrading pydantic/anyio (xdsl runs fine with the newer one), and
# executorch's full list pulls coremltools and pandas. So: the exact set, --no-deps.
# Usage: bash scripts/install_tflite_packages.sh [PYTHON]   (default: .venv/bin/python)
#
# Idempotent, and never fails the build: what cannot be installed prints a warning and the script
# still exits 0; the tests that need it skip locally and fail under CI (tests/tests_support.py).
set -u

PYTHON="${1:-.venv/bin/python}"
TFLITE=(litert-torch==0.10.0 litert-converter==0.5.0 ai-edge-litert==2.3.0 ai-edge-quantizer==0.10.0
    litert-lm-builder==0.18.1 xdsl==0.28.0 torchao==0.18.0 jax==0.10.2 jaxlib==0.10.2
    jaxtyping==0.3.11 kagglehub==1.0.3 kagglesdk==0.1.38 fire==0.7.1 sentencepiece==0.2.3
    multipledispatch==1.0.0 tabulate==0.10.0 lark==1.3.1 immutabledict==4.2.1 ordered-set==4.1.0
    backports.strenum==1.2.8 wadler_lindig==0.1.8 opt_einsum==3.4.0 termcolor==3.3.0 tomli==2.5.0)
EXECUTORCH=(executorch==1.5.1 ruamel.yaml expecttest kgb parameterized py-cpuinfo)

info() { echo "install_tflite_packages: $*"; }
warn() { echo "install_tflite_packages: warning: $*" >&2; }

if "$PYTHON" -c "import litert_torch, ai_edge_litert, ai_edge_quantizer" >/dev/null 2>&1; then
    info "litert-torch, ai-edge-litert and ai-edge-quantizer already installed"
elif "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps "${TFLITE[@]}"; then
    info "installed the TFLite toolchain (--no-deps)"
else
    warn "could not install the TFLite toolchain; TFLite tests will skip (fail under CI)"
fi
if "$PYTHON" -c "import executorch.runtime" >/dev/null 2>&1; then
    info "executorch already installed"
elif "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps "${EXECUTORCH[@]}"; then
    info "installed executorch (--no-deps)"
else
    warn "could not install executorch; its export test will skip (fail under CI)"
fi
exit 0
