"""The replay trace format: round trip, and every validation error naming where and what."""

from __future__ import annotations

import gzip
import json

import pytest

from _replay_helpers import make_trace
from uniscale.replay.trace import (
    Outcome,
    Trace,
    TraceConfig,
    TraceError,
    TraceModel,
    TraceQuery,
    load_trace,
    save_trace,
)


@pytest.mark.parametrize("name", ["t.jsonl", "t.jsonl.gz"])
def test_round_trip(tmp_path, name):
    tr = make_trace(7)
    path = save_trace(tr, tmp_path / name)
    back = load_trace(path)
    assert back == tr
    assert back.config_ids == ("small|a", "small|b", "big|a")
    assert not list(tmp_path.glob("*.tmp*"))
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as fh:
            assert json.loads(fh.readline())["uniscale_trace"] == 1


def test_scores_and_nulls_survive(tmp_path):
    o = Outcome(("1", None), (True, False), (3, 4), 10, (0.9, 0.0))
    tr = Trace(
        "t",
        "number",
        {"m": TraceModel(None, 0.0, 0.0)},
        (TraceConfig("c", "m", "pot", "1", "greedy", 0.0),),
        (TraceQuery("0", "q?", "1", {"c": o}),),
    )
    back = load_trace(save_trace(tr, tmp_path / "x.jsonl"))
    assert back.queries[0].outcomes["c"] == o
    assert back.configs[0].decoding == "greedy"


def _write(tmp_path, lines):
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _header(**over):
    h = {
        "uniscale_trace": 1,
        "task": "t",
        "answer_kind": "exact",
        "models": {"m": {"params": None, "price_in_per_1k": 0.1, "price_out_per_1k": 0.2}},
        "configs": [{"id": "c", "model": "m", "method": "cot", "prompt_set": "1"}],
    }
    h.update(over)
    return json.dumps(h)


def _query(qid="0", **outcome_over):
    o = {"prompt_tokens": 5, "answers": ["1", "2"], "correct": [True, False], "tokens": [3, 4]}
    o.update(outcome_over)
    return json.dumps({"qid": qid, "question": "q", "gold": "1", "outcomes": {"c": o}})


@pytest.mark.parametrize(
    "lines, fragment",
    [
        ([_header(uniscale_trace=2)], "format version 2"),
        ([_header(), "{not json"], "line 2 is not valid JSON"),
        ([_header(), _query(tokens=[3])], "one entry per sample"),
        ([_header(), _query(correct=[True, "yes"])], "booleans"),
        ([_header(), _query(tokens=[3, -1])], ">= 0"),
        ([_header(), _query(answers=[None, "2"], correct=[True, False])], "cannot be correct"),
        ([_header(), _query(scores=[0.5, 1.5])], "[0, 1]"),
        ([_header(), _query(), _query()], "appears twice"),
        (
            [_header(configs=[{"id": "c", "model": "zz", "method": "cot", "prompt_set": "1"}])],
            "model 'zz'",
        ),
        ([_header(configs=[{"id": "c", "model": "m", "method": "cot"}])], "prompt_set"),
        (
            [
                _header(),
                json.dumps({"qid": "0", "question": "q", "gold": "1", "outcomes": {"nope": {}}}),
            ],
            "nope",
        ),
        (
            [_header(models={"m": {"params": -3, "price_in_per_1k": 0, "price_out_per_1k": 0}})],
            "params",
        ),
        ([_header(), json.dumps({"qid": "0", "question": "q", "outcomes": {}})], "'gold'"),
        ([json.dumps([1, 2])], "header"),
    ],
)
def test_validation_errors(tmp_path, lines, fragment):
    with pytest.raises(TraceError) as err:
        load_trace(_write(tmp_path, lines))
    assert fragment in str(err.value)
    assert "load_trace" in str(err.value)


def test_unknown_config_in_outcome_is_reported(tmp_path):
    lines = [
        _header(),
        json.dumps(
            {
                "qid": "0",
                "question": "q",
                "gold": "1",
                "outcomes": {
                    "other": {"prompt_tokens": 1, "answers": [], "correct": [], "tokens": []}
                },
            }
        ),
    ]
    with pytest.raises(TraceError, match="unknown configs"):
        load_trace(_write(tmp_path, lines))


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(TraceError, match="empty"):
        load_trace(tmp_path / "e.jsonl")
    with pytest.raises(FileNotFoundError, match="no trace file"):
        load_trace(tmp_path / "absent.jsonl")


def test_trace_error_is_value_error():
    assert issubclass(TraceError, ValueError)


def test_restrictions_keep_the_original():
    tr = make_trace(4)
    q0 = tr.queries[0]
    short = Trace(
        tr.task,
        tr.answer_kind,
        tr.models,
        tr.configs,
        (TraceQuery("x", "q", "g", {"small|a": q0.outcomes["small|a"]}), *tr.queries),
    )
    assert len(short.complete_queries().queries) == 4
    assert len(short.queries) == 5
    only = tr.with_configs(["big|a"])
    assert only.config_ids == ("big|a",) and set(only.models) == {"big"}
    assert tr.config_ids == ("small|a", "small|b", "big|a")
    with pytest.raises(KeyError, match="unknown config"):
        tr.with_configs(["zzz"])


def test_duplicate_config_ids_rejected():
    c = TraceConfig("c", "m", "cot", "1")
    with pytest.raises(TraceError, match="unique"):
        Trace("t", "exact", {"m": TraceModel(None, 0, 0)}, (c, c), ())
    with pytest.raises(TraceError, match="decoding"):
        TraceConfig("c", "m", "cot", "1", decoding="beam")
