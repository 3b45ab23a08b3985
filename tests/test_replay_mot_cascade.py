"""The MoT-cascade converter on the real files (skipped when shared/data is absent)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from uniscale.replay.arms import build_arms
from uniscale.replay.mot_cascade import LLAMA2_13B_PRICE_PER_1K, convert_mot_cascade


@pytest.fixture(scope="module")
def mot(shared_data):
    d = shared_data / "mot_cascade"
    if not (d / "samples.jsonl.gz").is_file():
        pytest.skip(f"MoT-cascade data not found in {d}")
    return d


@pytest.fixture(scope="module")
def date_trace(mot):
    return convert_mot_cascade(mot, "date")


def test_date_shape_and_prices(date_trace, mot):
    tr = date_trace
    assert len(tr.queries) == 369 and tr.answer_kind == "exact"
    assert len(tr.configs) == 24  # the 20-sample CoT-1 file is superseded by its 40-sample twin
    assert tr.models["llama-2-13b"].price_in_per_1k == LLAMA2_13B_PRICE_PER_1K
    assert tr.models["llama-2-13b"].params == 13e9
    assert tr.models["gpt-4"].params is None
    meta = json.loads((mot / "configs.json").read_text())
    prices = meta["prices_usd_per_1k_tokens_used_by_authors"]
    assert tr.models["gpt-4"].price_out_per_1k == prices["gpt-4"]["output"]
    q0 = tr.queries[0]
    assert q0.gold == "05/01/2021"
    assert q0.outcomes["gpt-3.5-turbo|cot|1|sampling"].n_samples == 40
    assert q0.outcomes["llama-2-13b|cot|1|sampling"].n_samples == 10
    # prompt = few-shot template (639 for date|cot|1) + the question's tokens (20)
    assert q0.outcomes["gpt-3.5-turbo|cot|1|sampling"].prompt_tokens == 639 + 20


def test_date_first_sample_accuracy_matches_the_source_summary(date_trace, mot):
    with open(mot / "summary_by_config.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["task"] == "date" and r["variant"] == ""]
    checked = 0
    for r in rows:
        if r["model"] != "gpt-3.5-turbo" or r["temperature"]:
            continue  # these configs are aligned, so answers[0] is the source's first sample
        cid = f"gpt-3.5-turbo|{r['method']}|{r['demo_set']}|sampling"
        acc = np.mean([q.outcomes[cid].correct[0] for q in date_trace.queries])
        assert acc == pytest.approx(float(r["acc_first_sample"]), abs=6e-4)
        checked += 1
    assert checked == 4


def test_failed_programs_are_padded_as_null_answers(date_trace):
    padded = [q.outcomes["llama-2-13b|pot|1|sampling"] for q in date_trace.queries]
    assert all(o.n_samples == 10 for o in padded)
    nulls = sum(a is None for o in padded for a in o.answers)
    assert nulls > 0
    pairs = [(a, c) for o in padded for a, c in zip(o.answers, o.correct, strict=True)]
    assert not any(c for a, c in pairs if a is None)
    assert not any(a.startswith("UNPARSED") for o in padded for a in o.answers if a)


def test_arms_of_date(date_trace):
    arms = build_arms(date_trace)
    names = {a.name for a in arms}
    assert "gpt-3.5-turbo|cot|1|sampling|n=40" in names
    assert "gpt-4|cot|1|greedy|n=1" in names and "gpt-4|cot|1|greedy|n=3" not in names
    assert "gpt-4|pot|2|sampling|n=3" in names and "gpt-4|pot|2|sampling|n=5" not in names
    assert "llama-2-13b|cot|2|sampling|n=10" in names
    assert len(arms) == 89


def test_gsm8k(mot):
    tr = convert_mot_cascade(mot, "gsm8k", llama_price=0.001)
    assert len(tr.queries) == 1319 and tr.answer_kind == "number"
    assert tr.queries[0].gold == "18"
    complete = tr.complete_queries()
    assert len(complete.queries) == 400
    assert complete.queries[-1].qid == "399"
    assert tr.models["llama-2-13b"].price_out_per_1k == 0.001
    # official gold of qid 1309 is 2280 (the MoT files carry 2180)
    assert tr.queries[1309].gold == "2280"


def test_bad_arguments(mot, tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        convert_mot_cascade(mot, "aime")
    with pytest.raises(ValueError, match="llama_price"):
        convert_mot_cascade(mot, "date", llama_price=-1.0)
    with pytest.raises(FileNotFoundError, match="samples.jsonl.gz"):
        convert_mot_cascade(tmp_path, "date")


@pytest.mark.slow
def test_date_replay_on_the_real_outcomes(date_trace):
    from uniscale.replay import ReplayConfig, run_replay

    r = run_replay(
        date_trace,
        ReplayConfig(
            seeds=(0, 1), policies=("uniscale", "knn", "cascade"), cascade_thresholds=(1.0,)
        ),
    )
    s = r.summaries
    assert r.n_queries == 369 and len(r.arms) == 89
    for name in ("uniscale", "knn", "cascade@1", "best_fixed"):
        assert s[name].figures["reward"].mean < s["oracle"].figures["reward"].mean
    # cost-sensitive weights on a log cost: the cheapest arms win in hindsight
    assert all(
        a.startswith("llama-2-13b|") and a.endswith("|n=1") for a in r.info["best_fixed_per_seed"]
    )
    # escalating unless unanimous buys accuracy with the strong model
    assert s["cascade@1"].figures["accuracy"].mean > s["best_fixed"].figures["accuracy"].mean
