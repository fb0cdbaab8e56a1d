#!/usr/bin/env bash
# Install the tracker package without its opencv-python requirement (see pyproject "video"):
#   pip  trackers==2.6.1 --no-deps  (its other needs come with visiona[video])
# Usage: bash scripts/install_video_packages.sh [PYTHON]   (default: .venv/bin/python)
# Idempotent; never fails the build (the tracking tests skip without it).
set -u
PYTHON="${1:-.venv/bin/python}"
TRACKERS_VERSION="2.6.1"
if [ ! -x "$PYTHON" ]; then
    echo "install_video_packages: warning: no Python at $PYTHON" >&2
    exit 0
fi
installed="$("$PYTHON" -c "import importlib.metadata as m; print(m.version('trackers'))" 2>/dev/null)"
if [ "$installed" != "$TRACKERS_VERSION" ]; then
    echo "install_video_packages: pip install --no-deps trackers==$TRACKERS_VERSION"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
        "trackers==$TRACKERS_VERSION" ||
        echo "install_video_packages: warning: trackers could not be installed" >&2
fi
exit 0
