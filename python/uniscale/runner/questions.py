"""Question files for ``uniscale run``: JSONL or CSV, with a question and an optional gold answer.

Recognized row layouts (the first that matches a row wins):

* **GSM8K** -- ``question`` and ``answer``, where the answer is a worked solution ending in a line
  ``#### N``; the gold answer is ``N`` and the answer kind ``"math"``.
* **MATH-500** -- ``problem`` and ``answer`` (a LaTeX expression); kind ``"math"``.
* **DATE** (BIG-bench date understanding as in ``mot_cascade/queries_date.jsonl``) -- ``question``
  and ``gold`` in ``MM/DD/YYYY`` form; kind ``"date"``.
* **Generic** -- ``question`` (or ``problem``/``prompt``) with an optional ``gold`` (or ``answer``),
  an optional ``kind`` and an optional ``id``; kind ``"math"`` unless the row says otherwise.

A file is one format throughout in practice, but the detection is per row so that a hand-written
file may mix generic rows with and without gold answers.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Question", "load_questions", "parse_question", "ANSWER_KINDS"]

logger = logging.getLogger(__name__)

#: Answer kinds understood by :func:`uniscale.answers.grade`.
ANSWER_KINDS = ("math", "number", "date", "choice")

_DATE_GOLD = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_GSM8K_MARK = "####"
_QUESTION_KEYS = ("question", "problem", "prompt")
_GOLD_KEYS = ("gold", "answer")


@dataclass(frozen=True)
class Question:
    """One question to answer.

    Attributes
    ----------
    id : str
        Stable identifier: the row's ``id``/``qid``/``unique_id`` or ``"<file stem>:<row>"``.
    text : str
        The question as it is given to the strategy.
    gold : str or None
        The gold answer in its short form (``"18"``, ``"05/01/2021"``, a LaTeX expression), or
        ``None`` when the file has none; ungraded questions give no correctness feedback.
    kind : str
        Answer kind for extraction and grading: one of :data:`ANSWER_KINDS`.
    source : str
        The format recognized: ``"gsm8k"``, ``"math500"``, ``"date"`` or ``"generic"``.
    """

    id: str
    text: str
    gold: str | None
    kind: str = "math"
    source: str = "generic"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"Question: text must be a non-empty string, got {self.text!r}")
        if self.kind not in ANSWER_KINDS:
            raise ValueError(f"Question: kind must be one of {ANSWER_KINDS}, got {self.kind!r}")


def _gsm8k_gold(solution: str) -> str:
    # The official solutions end with "#### 1,234"; the short form drops thousands separators.
    tail = solution.rsplit(_GSM8K_MARK, 1)[1].strip()
    return tail.replace(",", "")


def _first(row: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        value = row.get(key)
        if value is not None and value != "":
            return key, value
    return None, None


def parse_question(row: Mapping[str, Any], *, default_id: str, kind: str | None = None) -> Question:
    """Turn one decoded row into a :class:`Question`, recognizing its format.

    Parameters
    ----------
    row : Mapping[str, Any]
        One JSON object or CSV record.
    default_id : str
        Identifier used when the row carries none.
    kind : str, optional
        Forces the answer kind (overrides the detected one).

    Raises
    ------
    ValueError
        When the row has no question field, or a field has an unusable value.
    """
    if not isinstance(row, Mapping):
        raise ValueError(
            f"parse_question: row {default_id} must be a JSON object, got {type(row).__name__}"
        )
    qkey, text = _first(row, _QUESTION_KEYS)
    blank = [k for k in _QUESTION_KEYS if isinstance(row.get(k), str) and not row[k].strip()]
    if (qkey is None or (isinstance(text, str) and not text.strip())) and blank:
        raise ValueError(
            f"parse_question: row {default_id} field {blank[0]!r} is empty; expected the "
            "question text"
        )
    if qkey is None:
        raise ValueError(
            f"parse_question: row {default_id} has no question field; expected one of "
            f"{_QUESTION_KEYS}, got keys {sorted(row)}"
        )
    if not isinstance(text, str):
        raise ValueError(
            f"parse_question: row {default_id} field {qkey!r} must be a string, "
            f"got {type(text).__name__}"
        )
    rid = row.get("id", row.get("qid", row.get("unique_id")))
    qid = default_id if rid is None or rid == "" else str(rid)
    gkey, gold = _first(row, _GOLD_KEYS)
    gold_text = None if gold is None else str(gold).strip()
    row_kind = row.get("kind") or None
    if qkey == "question" and gkey == "answer" and gold_text and _GSM8K_MARK in gold_text:
        source, gold_text, detected = "gsm8k", _gsm8k_gold(gold_text), "math"
    elif qkey == "problem" and gkey == "answer":
        source, detected = "math500", "math"
    elif gold_text is not None and _DATE_GOLD.match(gold_text):
        source, detected = "date", "date"
    else:
        source, detected = "generic", "math"
    chosen = kind or (str(row_kind) if row_kind is not None else detected)
    if chosen not in ANSWER_KINDS:
        raise ValueError(
            f"parse_question: row {default_id} kind must be one of {ANSWER_KINDS}, got {chosen!r}"
        )
    if gold_text == "":
        gold_text = None
    return Question(id=qid, text=text, gold=gold_text, kind=chosen, source=source)


def _rows_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("r", encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"load_questions: {path} line {lineno} is not valid JSON ({exc.msg})"
                ) from None


def _rows_json(path: Path) -> Iterator[tuple[int, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(
            f"load_questions: {path} must hold a JSON list of objects, got {type(data).__name__}"
        )
    yield from enumerate(data, start=1)


def _rows_csv(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        # Row numbers count the header as line 1, as a spreadsheet shows them.
        for lineno, row in enumerate(reader, start=2):
            yield lineno, {k.strip().lower(): v for k, v in row.items() if k is not None}


def load_questions(
    path: str | Path, *, limit: int | None = None, kind: str | None = None
) -> list[Question]:
    """Read a question file.

    Parameters
    ----------
    path : str or Path
        A ``.jsonl``/``.ndjson`` file (one object per line), a ``.json`` list or a ``.csv`` with a
        header row.
    limit : int, optional
        Keep only the first ``limit`` questions (``limit >= 1``).
    kind : str, optional
        Force the answer kind for every question (one of :data:`ANSWER_KINDS`).

    Returns
    -------
    list of Question
        In file order.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        For an unknown extension, an empty file, a bad row or a bad ``limit``/``kind``.
    """
    p = Path(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"load_questions: limit must be a positive integer, got {limit!r}")
    if kind is not None and kind not in ANSWER_KINDS:
        raise ValueError(f"load_questions: kind must be one of {ANSWER_KINDS}, got {kind!r}")
    if p.is_dir():
        raise ValueError(
            f"load_questions: {str(p)!r} is a directory; expected a question file "
            "(.jsonl, .ndjson, .json or .csv)"
        )
    if not p.is_file():
        raise FileNotFoundError(f"load_questions: no such file {str(p)!r}")
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _rows_jsonl(p)
    elif suffix == ".json":
        rows = _rows_json(p)
    elif suffix == ".csv":
        rows = _rows_csv(p)
    else:
        raise ValueError(
            f"load_questions: {str(p)!r} has extension {suffix!r}; expected .jsonl, .ndjson, "
            f".json or .csv"
        )
    out: list[Question] = []
    where = "item" if suffix == ".json" else "line"
    for lineno, row in rows:
        try:
            question = parse_question(row, default_id=f"{p.stem}:{lineno}", kind=kind)
        except ValueError as exc:
            raise ValueError(f"load_questions: {p} {where} {lineno}: {exc}") from None
        out.append(question)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise ValueError(f"load_questions: {str(p)!r} holds no questions")
    logger.debug("loaded %s questions from %s", len(out), p)
    return out
