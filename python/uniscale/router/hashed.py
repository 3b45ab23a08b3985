"""A dependency-free query featurizer: signed hashed character n-grams and words, plus length
features.

Hashing uses CRC-32 (``zlib.crc32``) and a fixed polynomial rolling hash in numpy, never Python's
``hash()``, so the same text gives the same vector in every process and on every machine.

Layout of one row (float64, ``dim + N_EXTRA``):

* ``[0, dim)``: signed counts of hashed features, L2-normalised. Features are the UTF-8 byte
  n-grams of the lower-cased text with spaces at both ends, for each n in ``ngram_range``, and the
  lower-cased word tokens (``\\w+``). Bucket and sign come from different bits of the hash.
* ``[dim, dim + 8)``: ``log1p(chars) / 8``, ``log1p(words) / 6``, share of digits, share of
  letters that are upper case, share of characters that are math symbols (``+-*/^=<>()[]{}\\$``),
  ``log1p(number count) / 4``, share of words with a ``?``, whether LaTeX appears (``\\`` or ``$``).
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["HashedFeaturizer"]

N_EXTRA = 8
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MATH = frozenset("+-*/^=<>()[]{}\\$")
# Odd multiplier of the rolling hash (a 32-bit FNV-like prime), fixed forever: changing it
# changes every saved model's features.
_MULT = np.uint64(16777619)
_MOD = np.uint64(0xFFFFFFFF)


class HashedFeaturizer:
    """Featurize texts without any model.

    Parameters
    ----------
    dim : int
        Number of hash buckets (power of two not required).
    ngram_range : tuple of int
        Smallest and largest byte n-gram length.
    words : bool
        Also hash whole lower-cased words.
    """

    name = "hashed"

    def __init__(
        self, dim: int = 256, *, ngram_range: tuple[int, int] = (3, 4), words: bool = True
    ) -> None:
        op = "HashedFeaturizer"
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"{op}: dim must be a positive int, got {dim!r}")
        lo, hi = ngram_range
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= 8):
            raise ValueError(
                f"{op}: ngram_range must satisfy 1 <= lo <= hi <= 8, got {ngram_range!r}"
            )
        self.dim = int(dim)
        self.ngram_range = (lo, hi)
        self.words = bool(words)

    @property
    def out_dim(self) -> int:
        """Width of each row: ``dim + 8``."""
        return self.dim + N_EXTRA

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "ngram_range": list(self.ngram_range), "words": self.words}

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Features float64 (B, dim + 8) of B texts."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(
                f"HashedFeaturizer.transform: texts must be a sequence of str, got {type(texts)!r}"
            )
        out = np.zeros((len(texts), self.out_dim))
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"HashedFeaturizer.transform: texts[{i}] must be str, got {type(text)!r}"
                )
            self._row(text, out[i])
        return out

    def _row(self, text: str, row: np.ndarray) -> None:
        low = text.lower()
        try:
            raw = (" " + low + " ").encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"HashedFeaturizer.transform: text {text[:40]!r} is not valid Unicode (it holds "
                "a lone surrogate); expected text that UTF-8 can encode"
            ) from None
        data = np.frombuffer(raw, dtype=np.uint8).astype(np.uint64)
        hashes = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            if len(data) < n:
                continue
            m = len(data) - n + 1
            h = np.full(m, np.uint64(2166136261 + n))
            for j in range(n):
                h = ((h ^ data[j : j + m]) * _MULT) & _MOD
            hashes.append(h)
        tokens = _WORD.findall(low)
        if self.words and tokens:
            hashes.append(
                np.fromiter(
                    (zlib.crc32(t.encode("utf-8")) for t in tokens),
                    dtype=np.uint64,
                    count=len(tokens),
                )
            )
        if hashes:
            h = np.concatenate(hashes)
            # Mix the bits once more so that bucket (low bits) and sign (top bit) are independent.
            h = ((h ^ (h >> np.uint64(15))) * np.uint64(2246822519)) & _MOD
            idx = (h % np.uint64(self.dim)).astype(np.int64)
            sign = np.where((h >> np.uint64(31)) & np.uint64(1), -1.0, 1.0)
            hv = np.bincount(idx, weights=sign, minlength=self.dim)
            norm = np.linalg.norm(hv)
            if norm > 0:
                row[: self.dim] = hv / norm
        n_chars = len(text)
        letters = sum(map(str.isalpha, text))
        row[self.dim + 0] = np.log1p(n_chars) / 8.0
        row[self.dim + 1] = np.log1p(len(tokens)) / 6.0
        row[self.dim + 2] = sum(map(str.isdigit, text)) / max(n_chars, 1)
        row[self.dim + 3] = sum(map(str.isupper, text)) / max(letters, 1)
        row[self.dim + 4] = sum(map(_MATH.__contains__, text)) / max(n_chars, 1)
        row[self.dim + 5] = np.log1p(len(_NUMBER.findall(text))) / 4.0
        row[self.dim + 6] = text.count("?") / max(len(tokens), 1)
        row[self.dim + 7] = float("\\" in text or "$" in text)
