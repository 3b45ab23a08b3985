"""The replay trace format: recorded outcomes of several arm configurations on a set of queries.

A trace is a JSON Lines file (optionally gzip-compressed, ``.gz``). The first line is a header,
every further line one query:

.. code-block:: text

    {"uniscale_trace": 1, "task": "date", "answer_kind": "exact",
     "models": {"gpt-4": {"params": null, "price_in_per_1k": 0.03, "price_out_per_1k": 0.06}},
     "configs": [{"id": "gpt-4|cot|1|sampling", "model": "gpt-4", "method": "cot",
                  "prompt_set": "1", "decoding": "sampling", "temperature": null}],
     "source": "free text"}
    {"qid": "0", "question": "Yesterday was ...", "gold": "05/01/2021",
     "outcomes": {"gpt-4|cot|1|sampling": {"prompt_tokens": 659,
                                          "answers": ["05/01/2021", null, "05/01/2021"],
                                          "correct": [true, false, true],
                                          "tokens": [46, 61, 47],
                                          "scores": [0.9, 0.1, 0.8]}}}

Header fields
    ``uniscale_trace`` (format version, 1), ``task`` (name), ``answer_kind`` (how answers are
    compared for voting: ``"exact"`` string equality, ``"number"`` numeric equality to 1e-6
    relative, or any kind that :func:`uniscale.answers.canonical_key` knows), ``models`` (per model:
    ``params`` or null when unknown, dollar prices per 1000 input and output tokens, optional
    ``kv_bytes_per_token`` and ``gqa_ratio`` for the eFLOPs model), ``configs``
    (one per recorded configuration: unique ``id``, ``model``, ``method``, ``prompt_set``,
    optional ``decoding`` — ``"sampling"`` or ``"greedy"`` — and ``temperature``), optional
    ``source``.
Query fields
    ``qid`` (unique string), ``question``, ``gold`` (string), ``outcomes``: per configuration id
    the samples recorded for that query, in sampling order: ``answers`` (extracted answer or null
    when none could be extracted), ``correct`` (graded against ``gold``), ``tokens`` (output
    tokens of each sample), ``prompt_tokens`` (tokens of the prompt, charged once per call however
    many samples it returns) and optional ``scores`` (a verifier's score in [0, 1] per sample).
    A configuration missing from a query's ``outcomes`` was not recorded for it; an empty sample
    list means the call was made and returned nothing usable.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from uniscale.errors import UniscaleError

logger = logging.getLogger(__name__)

__all__ = [
    "FORMAT_VERSION",
    "TraceModel",
    "Outcome",
    "Trace",
    "TraceConfig",
    "TraceError",
    "TraceQuery",
    "load_trace",
    "save_trace",
]

FORMAT_VERSION = 1
_DECODINGS = ("sampling", "greedy")


class TraceError(UniscaleError, ValueError):
    """A trace file or trace object breaks the format: the message names where and what."""


@dataclass(frozen=True)
class TraceModel:
    """What the replay needs to know about one model of a trace.

    Parameters
    ----------
    params : float or None
        Number of parameters, for eFLOPs; None when not public (eFLOPs are then not reported).
    price_in_per_1k, price_out_per_1k : float
        Dollars per 1000 prompt and output tokens.
    kv_bytes_per_token : float or None
        KV-cache bytes per token (D in the eFLOPs model); None drops the attention terms.
    gqa_ratio : float
        Query heads per key/value head (r in the eFLOPs model).
    """

    params: float | None
    price_in_per_1k: float
    price_out_per_1k: float
    kv_bytes_per_token: float | None = None
    gqa_ratio: float = 1.0

    def __post_init__(self) -> None:
        for name in ("kv_bytes_per_token", "gqa_ratio"):
            value = getattr(self, name)
            if value is None and name == "kv_bytes_per_token":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise TraceError(f"TraceModel: {name} must be a positive number, got {value!r}")
        if self.params is not None and (
            isinstance(self.params, bool)
            or not isinstance(self.params, (int, float))
            or not math.isfinite(self.params)
            or self.params <= 0
        ):
            raise TraceError(
                f"TraceModel: params must be a positive number or None, got {self.params!r}"
            )
        for name in ("price_in_per_1k", "price_out_per_1k"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0)
            ):
                raise TraceError(f"TraceModel: {name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class TraceConfig:
    """One recorded configuration: a model prompted one way, sampled one way."""

    id: str
    model: str
    method: str
    prompt_set: str
    decoding: str = "sampling"
    temperature: float | None = None

    def __post_init__(self) -> None:
        for name in ("id", "model", "method", "prompt_set"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TraceError(f"TraceConfig: {name} must be a non-empty str, got {value!r}")
        if self.decoding not in _DECODINGS:
            raise TraceError(
                f"TraceConfig {self.id!r}: decoding must be one of {_DECODINGS}, "
                f"got {self.decoding!r}"
            )
        if self.temperature is not None and (
            isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float))
        ):
            raise TraceError(
                f"TraceConfig {self.id!r}: temperature must be a number or None, "
                f"got {self.temperature!r}"
            )


@dataclass(frozen=True)
class Outcome:
    """The samples one configuration produced for one query, in sampling order."""

    answers: tuple[str | None, ...]
    correct: tuple[bool, ...]
    tokens: tuple[int, ...]
    prompt_tokens: int
    scores: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.answers)
        if len(self.correct) != n or len(self.tokens) != n:
            raise TraceError(
                f"Outcome: answers, correct and tokens must have one entry per "
                f"sample, got lengths {n}, {len(self.correct)}, {len(self.tokens)}"
            )
        if self.scores is not None and len(self.scores) != n:
            raise TraceError(
                f"Outcome: scores must have one entry per sample ({n}), got {len(self.scores)}"
            )
        for a in self.answers:
            if a is not None and not isinstance(a, str):
                raise TraceError(f"Outcome: answers must be str or null, got {a!r}")
        for c in self.correct:
            if not isinstance(c, bool):
                raise TraceError(f"Outcome: correct must hold booleans, got {c!r}")
        for t in (*self.tokens, self.prompt_tokens):
            if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                raise TraceError(f"Outcome: tokens and prompt_tokens must be ints >= 0, got {t!r}")
        if self.scores is not None:
            for s in self.scores:
                if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0:
                    raise TraceError(f"Outcome: scores must be numbers in [0, 1], got {s!r}")
        for a, c in zip(self.answers, self.correct, strict=True):
            if a is None and c:
                raise TraceError("Outcome: a sample without an answer (null) cannot be correct")

    @property
    def n_samples(self) -> int:
        """Number of recorded samples."""
        return len(self.answers)


@dataclass(frozen=True)
class TraceQuery:
    """One query with the outcomes recorded for it, by configuration id."""

    qid: str
    question: str
    gold: str
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("qid", "question", "gold"):
            if not isinstance(getattr(self, name), str):
                raise TraceError(f"TraceQuery: {name} must be a str, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Trace:
    """A whole trace: header and queries. Construction checks cross-references.

    Raises
    ------
    TraceError
        Duplicate config ids or qids, a config naming an unknown model, an outcome naming an
        unknown config, an unknown ``answer_kind`` spelled as a non-string.
    """

    task: str
    answer_kind: str
    models: Mapping[str, TraceModel]
    configs: tuple[TraceConfig, ...]
    queries: tuple[TraceQuery, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or not self.task:
            raise TraceError(f"Trace: task must be a non-empty str, got {self.task!r}")
        if not isinstance(self.answer_kind, str) or not self.answer_kind:
            raise TraceError(
                f"Trace: answer_kind must be a non-empty str, got {self.answer_kind!r}"
            )
        if not self.configs:
            raise TraceError("Trace: configs must not be empty")
        ids = [c.id for c in self.configs]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise TraceError(f"Trace: config ids must be unique, duplicated: {dup}")
        for c in self.configs:
            if c.model not in self.models:
                raise TraceError(
                    f"Trace: config {c.id!r} names model {c.model!r}, which is not "
                    f"in models {sorted(self.models)}"
                )
        known = set(ids)
        qids: set[str] = set()
        for q in self.queries:
            if q.qid in qids:
                raise TraceError(f"Trace: qid {q.qid!r} appears twice")
            qids.add(q.qid)
            unknown = set(q.outcomes) - known
            if unknown:
                raise TraceError(
                    f"Trace: query {q.qid!r} has outcomes for unknown configs {sorted(unknown)}"
                )

    @property
    def config_ids(self) -> tuple[str, ...]:
        """Configuration ids in header order."""
        return tuple(c.id for c in self.configs)

    def config(self, config_id: str) -> TraceConfig:
        """The configuration with this id (KeyError naming the known ones otherwise)."""
        for c in self.configs:
            if c.id == config_id:
                return c
        raise KeyError(f"Trace.config: no config {config_id!r}; known: {list(self.config_ids)}")

    def complete_queries(self, config_ids: Iterable[str] | None = None) -> Trace:
        """The same trace restricted to the queries that have an outcome for every config.

        Parameters
        ----------
        config_ids : iterable of str, optional
            Configurations that must be present (default: all of the header's).
        """
        need = set(self.config_ids if config_ids is None else config_ids)
        kept = tuple(q for q in self.queries if need <= set(q.outcomes))
        if len(kept) < len(self.queries):
            logger.info(
                "trace %s: %s of %s queries have outcomes for all %s configs",
                self.task,
                len(kept),
                len(self.queries),
                len(need),
            )
        return Trace(self.task, self.answer_kind, self.models, self.configs, kept, self.source)

    def with_configs(self, config_ids: Iterable[str]) -> Trace:
        """The same trace restricted to some configurations (header order kept)."""
        want = list(config_ids)
        missing = [c for c in want if c not in self.config_ids]
        if missing:
            raise KeyError(f"Trace.with_configs: unknown config ids {missing}")
        keep = set(want)
        configs = tuple(c for c in self.configs if c.id in keep)
        queries = tuple(
            TraceQuery(
                q.qid, q.question, q.gold, {k: v for k, v in q.outcomes.items() if k in keep}
            )
            for q in self.queries
        )
        models = {m: p for m, p in self.models.items() if any(c.model == m for c in configs)}
        return Trace(self.task, self.answer_kind, models, configs, queries, self.source)


# ---------------------------------------------------------------------------------------------
# Reading and writing


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")


def _require(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise TraceError(f"load_trace: {where} lacks the required field {key!r}")
    return obj[key]


def _header_from_json(
    obj: Any, where: str
) -> tuple[str, str, dict[str, TraceModel], tuple[TraceConfig, ...], str]:
    if not isinstance(obj, dict):
        raise TraceError(
            f"load_trace: {where} must be a JSON object (the header), got {type(obj).__name__}"
        )
    version = _require(obj, "uniscale_trace", where)
    if version != FORMAT_VERSION:
        raise TraceError(
            f"load_trace: {where} has format version {version!r}, "
            f"this uniscale reads version {FORMAT_VERSION}"
        )
    models_raw = _require(obj, "models", where)
    if not isinstance(models_raw, dict):
        raise TraceError(f"load_trace: {where} field 'models' must be an object")
    models = {}
    for name, m in models_raw.items():
        if not isinstance(m, dict):
            raise TraceError(f"load_trace: {where} model {name!r} must be an object")
        try:
            models[name] = TraceModel(
                m.get("params"),
                _require(m, "price_in_per_1k", where),
                _require(m, "price_out_per_1k", where),
                m.get("kv_bytes_per_token"),
                m.get("gqa_ratio", 1.0),
            )
        except TraceError as exc:
            raise TraceError(f"load_trace: {where} model {name!r}: {exc}") from None
    configs_raw = _require(obj, "configs", where)
    if not isinstance(configs_raw, list):
        raise TraceError(f"load_trace: {where} field 'configs' must be a list")
    configs = []
    for i, c in enumerate(configs_raw):
        if not isinstance(c, dict):
            raise TraceError(f"load_trace: {where} configs[{i}] must be an object")
        try:
            configs.append(
                TraceConfig(
                    _require(c, "id", f"{where} configs[{i}]"),
                    _require(c, "model", f"{where} configs[{i}]"),
                    _require(c, "method", f"{where} configs[{i}]"),
                    str(_require(c, "prompt_set", f"{where} configs[{i}]")),
                    c.get("decoding", "sampling"),
                    c.get("temperature"),
                )
            )
        except TraceError as exc:
            raise TraceError(f"load_trace: {where} configs[{i}]: {exc}") from None
    return (
        _require(obj, "task", where),
        _require(obj, "answer_kind", where),
        models,
        tuple(configs),
        str(obj.get("source", "")),
    )


def _query_from_json(obj: Any, where: str) -> TraceQuery:
    if not isinstance(obj, dict):
        raise TraceError(
            f"load_trace: {where} must be a JSON object (a query), got {type(obj).__name__}"
        )
    outcomes_raw = _require(obj, "outcomes", where)
    if not isinstance(outcomes_raw, dict):
        raise TraceError(f"load_trace: {where} field 'outcomes' must be an object")
    outcomes = {}
    for cid, o in outcomes_raw.items():
        w = f"{where} outcome {cid!r}"
        if not isinstance(o, dict):
            raise TraceError(f"load_trace: {w} must be an object")
        try:
            scores = o.get("scores")
            outcomes[cid] = Outcome(
                tuple(_require(o, "answers", w)),
                tuple(_require(o, "correct", w)),
                tuple(_require(o, "tokens", w)),
                _require(o, "prompt_tokens", w),
                None if scores is None else tuple(scores),
            )
        except TraceError as exc:
            raise TraceError(f"load_trace: {w}: {exc}") from None
        except TypeError as exc:  # tuple() of a non-list
            raise TraceError(
                f"load_trace: {w}: answers, correct, tokens and scores must be lists ({exc})"
            ) from None
    try:
        return TraceQuery(
            _require(obj, "qid", where),
            _require(obj, "question", where),
            _require(obj, "gold", where),
            outcomes,
        )
    except TraceError as exc:
        raise TraceError(f"load_trace: {where}: {exc}") from None


def load_trace(path: str | Path) -> Trace:
    """Read and validate a trace file (JSON Lines, ``.gz`` allowed).

    Parameters
    ----------
    path : str or Path
        The trace file.

    Returns
    -------
    Trace

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    TraceError
        Invalid JSON, a missing field, a wrong type, a length mismatch, an unknown reference;
        the message names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_trace: no trace file at {str(path)!r}")
    header = None
    queries = []
    with _open_text(path, "r") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TraceError(f"load_trace: {where} is not valid JSON: {exc.msg}") from None
            if header is None:
                header = _header_from_json(obj, where)
            else:
                queries.append(_query_from_json(obj, where))
    if header is None:
        raise TraceError(f"load_trace: {path.name} is empty; expected a header line")
    task, kind, models, configs, source = header
    try:
        return Trace(task, kind, models, configs, tuple(queries), source)
    except TraceError as exc:
        raise TraceError(f"load_trace: {path.name}: {exc}") from None


def _header_to_json(trace: Trace) -> dict[str, Any]:
    return {
        "uniscale_trace": FORMAT_VERSION,
        "task": trace.task,
        "answer_kind": trace.answer_kind,
        "source": trace.source,
        "models": {
            name: {
                "params": m.params,
                "price_in_per_1k": m.price_in_per_1k,
                "price_out_per_1k": m.price_out_per_1k,
                "kv_bytes_per_token": m.kv_bytes_per_token,
                "gqa_ratio": m.gqa_ratio,
            }
            for name, m in trace.models.items()
        },
        "configs": [
            {
                "id": c.id,
                "model": c.model,
                "method": c.method,
                "prompt_set": c.prompt_set,
                "decoding": c.decoding,
                "temperature": c.temperature,
            }
            for c in trace.configs
        ],
    }


def _query_to_json(q: TraceQuery) -> dict[str, Any]:
    outcomes = {}
    for cid, o in q.outcomes.items():
        rec: dict[str, Any] = {
            "prompt_tokens": o.prompt_tokens,
            "answers": list(o.answers),
            "correct": list(o.correct),
            "tokens": list(o.tokens),
        }
        if o.scores is not None:
            rec["scores"] = list(o.scores)
        outcomes[cid] = rec
    return {"qid": q.qid, "question": q.question, "gold": q.gold, "outcomes": outcomes}


def save_trace(trace: Trace, path: str | Path) -> Path:
    """Write a trace as JSON Lines (gzip-compressed when the name ends in ``.gz``).

    The file is written to a temporary name and renamed, so a failure leaves no partial file.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"save_trace: trace must be a Trace, got {type(trace).__name__}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".gz":
        tmp = path.with_name(path.name[:-3] + ".tmp.gz")
    with _open_text(tmp, "w") as fh:
        fh.write(json.dumps(_header_to_json(trace)) + "\n")
        for q in trace.queries:
            fh.write(json.dumps(_query_to_json(q)) + "\n")
    tmp.replace(path)
    return path
