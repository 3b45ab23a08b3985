"""Converter from the MoT-cascade recorded samples (Yue et al., ICLR 2024) to a replay trace.

The input is the folder described by its ``SOURCE.md`` (``samples.jsonl.gz``, ``configs.json``,
``queries_date.jsonl``; GSM8K questions come from ``../gsm8k/test.jsonl`` beside it). It is read
by path; nothing of it is part of uniscale.

Choices made here (also written into the trace's ``source`` field):

- One configuration per (model, method, demo set, decoding, temperature). The 40-sample
  gpt-3.5-turbo CoT demo-1 file replaces its 20-sample twin: its first 20 samples are the same.
- Rows whose PoT failures were dropped by the authors (``aligned`` false) are padded with samples
  whose answer is null (a failed program), so every completion that was paid for is a sample; the
  token counts are kept in their recorded order, so for those rows the pairing of a token count
  with an answer is arbitrary (the per-query cost of n drawn samples is right in expectation).
- DATE replies that are not a date (``UNPARSED:...``) get a null answer: they are wrong and must
  not form a voting bloc.
- Prompt tokens of a call = the few-shot template's tokens + the question's tokens (cl100k).
- Prices: the authors' for gpt-3.5-turbo and gpt-4; Llama-2-13B has none in the source, the
  default assumed here is $0.00025 per 1000 tokens, input and output (a hosted Llama-2-13B
  endpoint's list price in 2023; override with ``llama_price``).
- Parameters: 13e9 for Llama-2-13B; gpt-3.5-turbo and gpt-4 have no public counts and get
  ``None`` unless given, so their eFLOPs are not reported.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uniscale.replay.trace import Outcome, Trace, TraceConfig, TraceModel, TraceQuery

logger = logging.getLogger(__name__)

__all__ = ["LLAMA2_13B_PRICE_PER_1K", "convert_mot_cascade", "mot_config_id"]

LLAMA2_13B_PRICE_PER_1K = 0.00025
_TASKS = ("date", "gsm8k")
# Llama-2-13B: 40 layers, hidden size 5120, no grouped-query attention, 16-bit KV cache.
_KV_BYTES = {"llama-2-13b": 2.0 * 40 * 5120 * 2}
_GSM8K_GOLD = re.compile(r"####\s*(.+?)\s*$")


def mot_config_id(
    model: str, method: str, demo_set: int | str, decoding: str, temperature: float | None
) -> str:
    """The configuration id the converter gives a (model, method, demo set, decoding, T) row."""
    cid = f"{model}|{method}|{demo_set}|{decoding}"
    if decoding == "sampling" and temperature is not None:
        cid += f"|t={temperature:g}"
    return cid


def _number_text(value: float | None) -> str | None:
    if value is None:
        return None
    x = float(value)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _gsm8k_queries(gsm8k_file: Path) -> list[tuple[str, str]]:
    if not gsm8k_file.is_file():
        raise FileNotFoundError(
            f"convert_mot_cascade: GSM8K questions expected at {str(gsm8k_file)!r}"
        )
    out = []
    with open(gsm8k_file, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                m = _GSM8K_GOLD.search(rec["answer"])
                if m is None:
                    raise ValueError(
                        f"convert_mot_cascade: GSM8K answer without '####' in "
                        f"{gsm8k_file}: {rec['answer'][-60:]!r}"
                    )
                gold = m.group(1).replace(",", "")
                out.append((rec["question"], gold))
    return out


def convert_mot_cascade(
    data_dir: str | Path,
    task: str,
    *,
    llama_price: float = LLAMA2_13B_PRICE_PER_1K,
    params: Mapping[str, float | None] | None = None,
    gsm8k_file: str | Path | None = None,
) -> Trace:
    """Build a replay trace for one task of the MoT-cascade data.

    Parameters
    ----------
    data_dir : str or Path
        The ``mot_cascade`` folder.
    task : {"date", "gsm8k"}
        Which task to convert. GSM8K keeps every question with any outcome (gpt-4: all 1319,
        Llama-2-13B: the first 400); restrict with :meth:`Trace.complete_queries`.
    llama_price : float
        Assumed dollars per 1000 tokens (input and output) for Llama-2-13B.
    params : mapping, optional
        Parameter counts per model name, overriding the defaults (13e9 for llama-2-13b, None for
        the OpenAI models).
    gsm8k_file : str or Path, optional
        GSM8K test questions (default ``data_dir/../gsm8k/test.jsonl``).

    Returns
    -------
    Trace

    Raises
    ------
    ValueError
        Unknown ``task`` or a negative price.
    FileNotFoundError
        A required input file is missing.
    """
    if task not in _TASKS:
        raise ValueError(f"convert_mot_cascade: task must be one of {_TASKS}, got {task!r}")
    if (
        not isinstance(llama_price, (int, float))
        or isinstance(llama_price, bool)
        or (llama_price < 0)
    ):
        raise ValueError(
            f"convert_mot_cascade: llama_price must be a number >= 0, got {llama_price!r}"
        )
    data_dir = Path(data_dir)
    samples_file = data_dir / "samples.jsonl.gz"
    configs_file = data_dir / "configs.json"
    for f in (samples_file, configs_file):
        if not f.is_file():
            raise FileNotFoundError(f"convert_mot_cascade: expected {str(f)!r}")
    with open(configs_file, encoding="utf-8") as fh:
        meta = json.load(fh)
    fewshot = meta["fewshot_prompt_tokens_cl100k"]
    prices = meta["prices_usd_per_1k_tokens_used_by_authors"]

    if task == "date":
        qfile = data_dir / "queries_date.jsonl"
        if not qfile.is_file():
            raise FileNotFoundError(f"convert_mot_cascade: expected {str(qfile)!r}")
        with open(qfile, encoding="utf-8") as fh:
            recs = [json.loads(line) for line in fh if line.strip()]
        questions = {int(r["qid"]): (r["question"], r["gold"]) for r in recs}
    else:
        path = (
            Path(gsm8k_file)
            if gsm8k_file is not None
            else data_dir.parent / "gsm8k" / ("test.jsonl")
        )
        questions = dict(enumerate(_gsm8k_queries(path)))

    rows: dict[tuple[int, str], dict[str, Any]] = {}
    config_meta: dict[str, TraceConfig] = {}
    with gzip.open(samples_file, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["task"] != task:
                continue
            cid = mot_config_id(
                r["model"], r["method"], r["demo_set"], r["decoding"], r["temperature"]
            )
            key = (int(r["qid"]), cid)
            # The 40-sample variant supersedes the 20-sample file it extends.
            if key in rows and rows[key]["n_generated"] >= r["n_generated"]:
                continue
            rows[key] = r
            if cid not in config_meta:
                config_meta[cid] = TraceConfig(
                    cid,
                    r["model"],
                    r["method"],
                    str(r["demo_set"]),
                    r["decoding"],
                    None if r["temperature"] is None else float(r["temperature"]),
                )

    models: dict[str, TraceModel] = {}
    default_params: dict[str, float | None] = {"llama-2-13b": 13e9}
    if params:
        default_params.update(params)
    for cfg in config_meta.values():
        if cfg.model in models:
            continue
        if cfg.model in prices:
            pin, pout = prices[cfg.model]["input"], prices[cfg.model]["output"]
        elif cfg.model == "llama-2-13b":
            pin = pout = float(llama_price)
        else:
            raise ValueError(f"convert_mot_cascade: no price known for model {cfg.model!r}")
        kv = _KV_BYTES.get(cfg.model) if default_params.get(cfg.model) is not None else None
        models[cfg.model] = TraceModel(default_params.get(cfg.model), pin, pout, kv)

    by_query: dict[int, dict[str, Outcome]] = {}
    n_padded = 0
    for (qid, cid), r in rows.items():
        if task == "date":
            answers = [
                None if (a is None or str(a).startswith("UNPARSED:")) else str(a)
                for a in r["answers"]
            ]
        else:
            answers = [_number_text(a) for a in r["answers"]]
        correct = [bool(c) and a is not None for a, c in zip(answers, r["correct"], strict=True)]
        tokens = [int(t) for t in r["gen_tokens_cl100k"]]
        if len(answers) < len(tokens):
            n_padded += len(tokens) - len(answers)
            answers += [None] * (len(tokens) - len(answers))
            correct += [False] * (len(tokens) - len(correct))
        elif len(answers) > len(tokens):
            raise ValueError(
                f"convert_mot_cascade: row {task}/{qid}/{cid} has more answers "
                f"({len(answers)}) than token counts ({len(tokens)})"
            )
        cfg = config_meta[cid]
        prompt = int(fewshot[f"{task}|{cfg.method}|{cfg.prompt_set}"]) + int(
            r["question_tokens_cl100k"]
        )
        by_query.setdefault(qid, {})[cid] = Outcome(
            tuple(answers), tuple(correct), tuple(tokens), prompt
        )
    queries = []
    for qid in sorted(by_query):
        if qid not in questions:
            raise ValueError(
                f"convert_mot_cascade: samples name {task} qid {qid}, which the question file lacks"
            )
        question, gold = questions[qid]
        queries.append(TraceQuery(str(qid), question, str(gold), by_query[qid]))
    configs = tuple(sorted(config_meta.values(), key=lambda c: c.id))
    logger.info(
        "convert_mot_cascade: %s: %s queries, %s configs, %s failed samples padded",
        task,
        len(queries),
        len(configs),
        n_padded,
    )
    source = (
        f"MoT cascade data ({meta.get('source_repo', '?')}@{meta.get('commit', '?')}), task "
        f"{task}; Llama-2-13B price assumed ${llama_price:g}/1k tokens in and out; dropped PoT "
        f"failures padded as null answers ({n_padded} samples); cl100k token counts."
    )
    kind = "exact" if task == "date" else "number"
    return Trace(task, kind, models, configs, tuple(queries), source)
