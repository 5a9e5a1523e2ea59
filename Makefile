# DCGAN Playground: `make run` starts the app, `make test` runs every test.
# Both create .venv on first use and reinstall only when a requirements file changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format i18n space space-push space-check bench clean

# pip would byte-compile the 13,000 installed files on one core (about 30 s on a 2-core box);
# compileall -j 0 does it on every core. It exits 1 on one file, torch's py312_intrinsics.py
# (Python 3.12 syntax), which pip's own pass skips too.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --no-compile -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# the translation catalogs: extract every marked string, merge it into each language's .po,
# compile the .mo files and the Chinese font subset (dcgan/locale/__main__.py)
i18n: $(STAMP)
	$(BIN)/python -m dcgan.locale update

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The Hugging Face Space: `make space` assembles build/space (runs with `python app.py` there);
# `make space-check` installs and starts it as Hugging Face's builder would (a cached python3.12
# venv) and uses it through gradio_client and Chromium, on CPU hardware and under the ZeroGPU
# fake; `make space-push SPACE_ID=user/name` uploads it on ZeroGPU (SPACE_HARDWARE=cpu-basic
# for paid CPU hardware), given a write token in HF_TOKEN.
SPACE_ID ?=
SPACE_HARDWARE ?= zero-a10g

space: $(STAMP)
	$(BIN)/python space/build.py build --out build/space

space-check: space
	$(BIN)/python space/builder_check.py --folder build/space

space-push: space
	$(BIN)/python space/build.py push --out build/space --space-id "$(SPACE_ID)" \
		--hardware "$(SPACE_HARDWARE)"

clean:
	rm -rf build .pytest_cache .ruff_cache
