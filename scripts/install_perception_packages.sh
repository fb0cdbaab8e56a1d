#!/usr/bin/env bash
# Install the packages whose files hold visiona's pretrained perception models, when missing:
#   pip  mediapipe==0.10.21 (--no-deps: it pins old numpy/protobuf) + what it really needs,
#        dlib-bin + face-recognition-models (dlib HOG/CNN detectors, landmarks, face ResNet),
#        facenet-pytorch (--no-deps: it pins torch; ships the MTCNN weights) + requests
#   npm  @mediapipe/pose -> ${VISIONA_HOME:-~/.cache/visiona}/npm (pose lite/heavy .tflite)
# Usage: bash scripts/install_perception_packages.sh [PYTHON]   (default: .venv/bin/python)
#
# Idempotent, and never fails the build: what cannot be installed (offline, no npm) prints a
# warning and the script still exits 0; the tests that need it skip and say why.
set -u

PYTHON="${1:-.venv/bin/python}"
MEDIAPIPE_VERSION="0.10.21"
FACENET_VERSION="2.6.0"
POSE_NPM_VERSION="0.5.1675469404"
CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
NPM_PREFIX="${VISIONA_NPM_PREFIX:-${VISIONA_HOME:-$CACHE_HOME/visiona}/npm}"
# What mediapipe and facenet-pytorch need at run time (keep in step with the pyproject extra
# "perception"); protobuf 7 breaks mediapipe 0.10.21, onnx/tensorboard need >= 6.31.1.
NEEDED=(absl-py attrs flatbuffers requests "protobuf>=6.31.1,<7" "opencv-python-headless>=4.8,<5"
    matplotlib dlib-bin face-recognition-models)

info() { echo "install_perception_packages: $*"; }
warn() { echo "install_perception_packages: warning: $*" >&2; }

limited() {
    if command -v timeout >/dev/null 2>&1; then timeout 900 "$@"; else "$@"; fi
}

LOG="$(mktemp "${TMPDIR:-/tmp}/visiona-perception.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

pip_install() {
    limited "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@" >"$LOG" 2>&1 ||
        { tail -n 5 "$LOG" >&2; return 1; }
}

installed_version() {
    "$PYTHON" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1" 2>/dev/null
}

install_python_packages() {
    if [ ! -x "$PYTHON" ]; then
        warn "no Python at $PYTHON; pass the interpreter as the first argument"
        return
    fi
    pip_install "${NEEDED[@]}" || warn "could not install ${NEEDED[*]}"
    if [ "$(installed_version mediapipe)" != "$MEDIAPIPE_VERSION" ]; then
        info "pip install --no-deps mediapipe==$MEDIAPIPE_VERSION"
        pip_install --no-deps "mediapipe==$MEDIAPIPE_VERSION" ||
            warn "mediapipe could not be installed; its tests will be skipped"
    fi
    if [ -z "$(installed_version facenet-pytorch)" ]; then
        info "pip install --no-deps facenet-pytorch==$FACENET_VERSION"
        pip_install --no-deps "facenet-pytorch==$FACENET_VERSION" ||
            warn "facenet-pytorch could not be installed; MTCNN tests will be skipped"
    fi
}

install_pose_npm() {
    local folder="$NPM_PREFIX/node_modules/@mediapipe/pose"
    if [ -f "$folder/pose_landmark_heavy.tflite" ] && [ -f "$folder/pose_landmark_lite.tflite" ]; then
        info "@mediapipe/pose: already installed ($folder)"
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "@mediapipe/pose: npm not found; install Node.js/npm, then: npm install --prefix $NPM_PREFIX @mediapipe/pose@$POSE_NPM_VERSION"
        return
    fi
    info "npm install --prefix $NPM_PREFIX @mediapipe/pose@$POSE_NPM_VERSION"
    if mkdir -p "$NPM_PREFIX" &&
        limited npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
            "@mediapipe/pose@$POSE_NPM_VERSION" >"$LOG" 2>&1 &&
        [ -f "$folder/pose_landmark_heavy.tflite" ]; then
        info "@mediapipe/pose: installed ($folder)"
        return
    fi
    tail -n 5 "$LOG" >&2
    warn "@mediapipe/pose: could not be installed; pose lite/heavy tests will be skipped"
}

install_python_packages
install_pose_npm
exit 0
