"""Arm spaces: declaration, product and constraints, files, add/remove, masks, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from uniscale.router.arms import Arm, ArmSpace, ModelEntry, StrategyEntry

SIZES = (0.6, 1.7, 4, 8, 14, 32)


def _paper_space():
    pow2 = [1, 2, 4, 8, 16, 32, 64]
    return ArmSpace(
        [ModelEntry(f"qwen3-{s}b", params=s * 1e9) for s in SIZES],
        [
            StrategyEntry(
                "beam",
                "beam_search",
                grid={"qp": pow2, "cp": pow2, "bs": pow2},
                constraints=("qp * cp <= 64", "bs == cp"),
            )
        ],
    )


def test_paper_grid_has_168_arms():
    space = _paper_space()
    assert len(space) == 168
    assert all(a.params["qp"] * a.params["cp"] <= 64 for a in space.arms)
    assert all(a.params["bs"] == a.params["cp"] for a in space.arms)
    assert space[0].id == "qwen3-0.6b/beam/bs=1,cp=1,qp=1"
    assert len({a.id for a in space.arms}) == 168


YAML = """
models:
  - {name: small, params: 1.0e9, engine: "llama:smollm2-135m", price_out_per_1k: 0.001}
  - {name: big, params: 3.2e10}
strategies:
  - {name: single, kind: single}
  - name: sc
    kind: self_consistency
    grid: {n: [4, 8, 16]}
    constraints: ["n <= 8"]
arms:
  - {model: big, strategy: bon, kind: best_of_n, params: {n: 4}}
"""

TOML = """
[[models]]
name = "small"
params = 1.0e9
engine = "llama:smollm2-135m"
price_out_per_1k = 0.001

[[models]]
name = "big"
params = 3.2e10

[[strategies]]
name = "single"
kind = "single"

[[strategies]]
name = "sc"
kind = "self_consistency"
grid = { n = [4, 8, 16] }
constraints = ["n <= 8"]

[[arms]]
model = "big"
strategy = "bon"
kind = "best_of_n"
params = { n = 4 }
"""


@pytest.mark.parametrize("name, text", [("space.yaml", YAML), ("space.toml", TOML)])
def test_from_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    space = ArmSpace.from_file(path)
    ids = [a.id for a in space.arms]
    assert ids == [
        "small/single/",
        "small/sc/n=4",
        "small/sc/n=8",
        "big/single/",
        "big/sc/n=4",
        "big/sc/n=8",
        "big/bon/n=4",
    ]
    assert space.models["small"].engine == "llama:smollm2-135m"
    assert space[-1].kind == "best_of_n" and space[-1].n_samples == 4


def test_round_trip_through_dict():
    space = _paper_space()
    space.remove(space[3].id)
    again = ArmSpace.from_dict(space.to_dict())
    assert [a.id for a in again.arms] == [a.id for a in space.arms]


def test_add_remove_and_index():
    space = _paper_space()
    arm = Arm("qwen3-8b", "single")
    assert space.add(arm) == 168 and space.index(arm) == 168
    third = space[2]
    assert space.remove(space[1].id) == 1
    assert space.index(third) == 1
    with pytest.raises(ValueError, match="already in the space"):
        space.add(arm)
    with pytest.raises(ValueError, match="undeclared model 'nope'"):
        space.add(Arm("nope", "single"))
    with pytest.raises(KeyError, match="no arm 'x/y/'"):
        space.remove("x/y/")
    n = len(space)
    assert n == 168


def test_mask():
    space = _paper_space()
    m = space.mask(models=["qwen3-0.6b", "qwen3-4b"], max_samples=4)
    assert m.dtype == np.bool_ and m.shape == (168,)
    for a, allowed in zip(space.arms, m, strict=True):
        assert allowed == (a.model in ("qwen3-0.6b", "qwen3-4b") and a.n_samples <= 4)
    assert space.mask(exclude=[space[0].id])[0] == np.False_
    with pytest.raises(ValueError, match="unknown model"):
        space.mask(models=["gpt-9"])


@pytest.mark.parametrize(
    "build, exc, msg",
    [
        (lambda: ModelEntry("m", params=0), ValueError, "params"),
        (lambda: ModelEntry("m", params=float("nan")), ValueError, "params"),
        (lambda: ModelEntry("a/b", params=1e9), ValueError, "name"),
        (lambda: ModelEntry("m", params=1e9, price_in_per_1k=-1), ValueError, "price_in"),
        (lambda: StrategyEntry("s", "magic"), ValueError, "kind"),
        (lambda: StrategyEntry("s", "single", constraints=("qp *",)), ValueError, "not an expr"),
        (lambda: StrategyEntry("s", "single", grid={"n": []}), ValueError, "empty"),
        (lambda: StrategyEntry("s", "single", constraints="n < 2"), TypeError, "list of str"),
        (lambda: Arm("m", "s", {"n": float("inf")}, kind="single"), ValueError, "finite"),
        (lambda: Arm("m", "s", {"n": [1]}, kind="single"), TypeError, "scalar"),
        (lambda: ArmSpace([]), ValueError, "at least one model"),
        (
            lambda: ArmSpace(
                [ModelEntry("m", 1e9)],
                [StrategyEntry("s", "self_consistency", grid={"n": [2]}, constraints=("n > 4",))],
            ),
            ValueError,
            "no arm",
        ),
        (
            lambda: ArmSpace(
                [ModelEntry("m", 1e9)], [StrategyEntry("s", "single", constraints=("__import__",))]
            ),
            ValueError,
            "unknown name",
        ),
        (
            lambda: ArmSpace(
                [ModelEntry("m", 1e9)],
                [StrategyEntry("s", "single", grid={"n": [1]}, constraints=("n.real > 0",))],
            ),
            ValueError,
            "unsupported syntax",
        ),
        (lambda: ArmSpace.from_dict({"models": [], "extra": 1}), ValueError, "unknown keys"),
    ],
)
def test_bad_declarations(build, exc, msg):
    with pytest.raises(exc, match=msg):
        build()


def test_from_file_rejects_unknown_suffix(tmp_path):
    path = tmp_path / "space.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="expected .yaml"):
        ArmSpace.from_file(path)
