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


# ------------------------------------------------------- declaration checks at load time
_GOOD_MODEL = '  - {name: small, params: 1.0e+9, engine: "llama:smollm2-135m"}\n'


def _yaml(tmp_path, strategies: str, model: str = _GOOD_MODEL):
    path = tmp_path / "arms.yaml"
    path.write_text("models:\n" + model + "strategies:\n" + strategies)
    return path


@pytest.mark.parametrize(
    "strategies, exc, pattern",
    [
        (
            "  - {name: sc, kind: self_consistency, grid: {n: [4, 0, -1]}}\n",
            ValueError,
            r"arm 'small/sc/n=0' \(model 'small', strategy 'sc'.*n must be >= 1, got 0",
        ),
        (
            '  - {name: sc, kind: self_consistency, grid: {n: ["four"]}}\n',
            TypeError,
            r"strategy 'sc'.*n must be an int, got str 'four'",
        ),
        (
            "  - {name: one, kind: single, fixed: {tempreature: 0.5}}\n",
            ValueError,
            r"strategy 'one'.*unknown parameter\(s\) \['tempreature'\]; single takes "
            r"\['greedy', 'temperature', 'top_p'\]",
        ),
        (
            "  - {name: beam, kind: beam_search, grid: {qp: [1], cp: [2], bs: [2]}, "
            "fixed: {max_depth: 0}}\n",
            ValueError,
            r"strategy 'beam'.*max_depth",
        ),
        (
            "  - {name: sc, kind: self_consistency, gird: {n: [4]}}\n",
            ValueError,
            r"strategies\[0\] \(sc\) has unknown field\(s\) \['gird'\]",
        ),
    ],
)
def test_bad_strategy_parameters_are_found_when_the_file_is_read(
    tmp_path, strategies, exc, pattern
):
    path = _yaml(tmp_path, strategies)
    with pytest.raises(exc, match=rf"^ArmSpace.from_file: {path}: .*{pattern}") as info:
        ArmSpace.from_file(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "engine, pattern",
    [
        ("teleport:xyz", r"engine kind must be one of \[.*'llama', 'openai', 'vllm'\].*'teleport'"),
        ("smollm2", r"engine must look like '<kind>:<target>'"),
        ("llama:", r"engine must look like"),
    ],
)
def test_bad_engine_specs_are_found_when_the_file_is_read(tmp_path, engine, pattern):
    model = f'  - {{name: small, params: 1.0e+9, engine: "{engine}"}}\n'
    path = _yaml(tmp_path, "  - {name: single, kind: single}\n", model)
    with pytest.raises(ValueError, match=rf"{path}: .*ModelEntry small: {pattern}"):
        ArmSpace.from_file(path)


def test_broken_files_give_one_line_naming_the_file(tmp_path):
    cases = {
        "bad.yaml": ("models:\n  - {name: a, params: 1\n", ValueError, r"not valid YAML: line 3"),
        "tabs.yml": ("models: [\n\t- x", ValueError, r"not valid YAML"),
        "bad.toml": ("[[models]\nname = 'a'\n", ValueError, r"not valid TOML: .*line 1"),
        "int.toml": ("models = 3\n", TypeError, r"'models' must be a list of tables"),
        "str.toml": ("models = 'm'\n", TypeError, r"'models' must be a list"),
        "rows.toml": ("models = [1, 2]\n", TypeError, r"models\[0\] must be a table"),
        "empty.yaml": ("", ValueError, r"expected a mapping with a 'models' list, got NoneType"),
        "list.yaml": ("- 1\n", ValueError, r"expected a mapping with a 'models' list, got list"),
        "latin.yaml": (None, ValueError, r"not UTF-8 text"),
        "product.toml": (
            "product = 'yes'\n[[models]]\nname = 'a'\nparams = 1e9\n",
            TypeError,
            r"'product' must be true or false",
        ),
        "field.toml": (
            "[[models]]\nname = 'a'\nparams = 1e9\nprams = 2\n",
            ValueError,
            r"models\[0\] \(a\) has unknown field\(s\) \['prams'\]",
        ),
    }
    for name, (text, exc, pattern) in cases.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes("models: [{name: caf\xe9}]".encode("latin-1"))
        else:
            path.write_text(text)
        with pytest.raises(exc, match=rf"^ArmSpace.from_file: {path}: .*{pattern}") as info:
            ArmSpace.from_file(path)
        assert "\n" not in str(info.value) and "<unicode string>" not in str(info.value)


def test_adding_an_arm_with_bad_parameters_leaves_the_space_unchanged():
    space = ArmSpace([ModelEntry("m", 1e9)], [StrategyEntry("one", "single")])
    before = space.to_dict()
    with pytest.raises(ValueError, match=r"ArmSpace.add: arm 'm/sc/n=0'.*n must be >= 1"):
        space.add(Arm("m", "sc", {"n": 0}, kind="self_consistency"))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['beams'\]"):
        space.add(Arm("m2", "one", {"beams": 2}, kind="single"), ModelEntry("m2", 2e9))
    assert space.to_dict() == before and len(space) == 1


def test_checking_the_declaration_imports_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from uniscale.router.arms import ArmSpace\n"
        "ArmSpace.from_file('examples/arms_vllm.yaml')\n"
        "heavy = {'torch', 'triton', 'vllm', 'llama_cpp', 'onnxruntime', 'fastapi', 'httpx'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
