"""Arms and arm spaces: which (model, strategy, parameters) tuples the router may choose.

An :class:`ArmSpace` is declared from models (:class:`ModelEntry`: engine spec, parameter count,
prices, the architecture facts the eFLOPs model needs) and strategies (:class:`StrategyEntry`: a
kind, a parameter grid, constraints such as ``"qp * cp <= 64"`` or ``"bs == cp"``). Its arms are
the product models x strategies x grid points that satisfy every constraint, in declaration order
(models outer, strategies, then the grid in the order its keys were given, last key fastest).
Arms can be added and removed while running; the index of an arm is its position in
:attr:`ArmSpace.arms`, and removing an arm moves later arms down by one.

Everything that can be checked without opening an engine is checked when the space is declared
(or an arm added), not when an arm first runs: each arm's parameters against its strategy class
(unknown names, and values, exactly as the runner's ``make_strategy(kind, **params)`` will see
them), each model's engine spec (``"<kind>:<target>"`` with a registered kind), and in files the
syntax and the structure (one-line errors that start with the file's path).

File form (YAML or TOML, same keys)::

    models:
      - {name: qwen3-0.6b, engine: "llama:/m/q06.gguf", params: 0.6e9, price_out_per_1k: 0.0001}
    strategies:
      - name: beam
        kind: beam_search
        grid: {qp: [1, 2, 4], cp: [2, 4, 8], bs: [2, 4, 8]}
        constraints: ["qp * cp <= 64", "bs == cp"]
    arms:            # optional extra arms outside the product
      - {model: qwen3-0.6b, strategy: single, params: {}}
"""

from __future__ import annotations

import ast
import functools
import itertools
import logging
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Arm", "ArmSpace", "ModelEntry", "StrategyEntry", "STRATEGY_KINDS"]

#: Strategy kinds uniscale runs (see uniscale.strategies).
STRATEGY_KINDS = ("single", "self_consistency", "best_of_n", "weighted_vote", "beam_search")

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _eval_node(node: ast.AST, env: Mapping[str, Any], expr: str) -> Any:
    """Evaluate a constraint's AST: names, numbers, arithmetic, comparisons, and/or/not only."""
    if isinstance(node, ast.Expression):
        return _eval_node(node.body, env, expr)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ValueError(f"constraint {expr!r}: unknown name {node.id!r}, known {sorted(env)}")
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](
            _eval_node(node.left, env, expr), _eval_node(node.right, env, expr)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        v = _eval_node(node.operand, env, expr)
        return -v if isinstance(node.op, ast.USub) else not v
    if isinstance(node, ast.BoolOp):
        vals = [_eval_node(v, env, expr) for v in node.values]
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    if isinstance(node, ast.Compare):
        left = _eval_node(node.left, env, expr)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _CMPOPS:
                break
            right = _eval_node(comp, env, expr)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        else:
            return True
    raise ValueError(f"constraint {expr!r}: unsupported syntax {ast.dump(node)[:60]}")


def _compile_constraint(expr: str) -> ast.Expression:
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"constraint must be a non-empty string, got {expr!r}")
    try:
        return ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"constraint {expr!r} is not an expression: {exc.msg}") from None


def _check_engine_spec(model: str, engine: Any) -> None:
    """The engine spec's form and kind (``"<kind>:<target>"``, kind registered in
    :data:`uniscale.engines.registry.ENGINE_KINDS`); the engine itself opens only when used.
    The registry module is light (no backend is imported until its kind is asked for)."""
    if engine is None:
        return
    from uniscale.engines.registry import ENGINE_KINDS

    if not isinstance(engine, str):
        raise TypeError(
            f"ModelEntry {model}: engine must be a str '<kind>:<target>', got {engine!r}"
        )
    kind, sep, target = engine.partition(":")
    if not sep or not target:
        raise ValueError(
            f"ModelEntry {model}: engine must look like '<kind>:<target>' with kind in "
            f"{sorted(ENGINE_KINDS)}, got {engine!r}"
        )
    if kind not in ENGINE_KINDS:
        raise ValueError(
            f"ModelEntry {model}: engine kind must be one of {sorted(ENGINE_KINDS)} (or one "
            f"registered with register_engine before the arms are declared), got {kind!r} "
            f"in {engine!r}"
        )


@dataclass(frozen=True)
class ModelEntry:
    """One model an arm can run.

    ``params`` is the parameter count (> 0). Prices are per 1k tokens. ``n_layers``,
    ``hidden_size``, ``gqa_ratio`` and ``kv_bytes_per_token`` feed the eFLOPs model.
    """

    name: str
    params: float
    engine: str | None = None
    price_in_per_1k: float = 0.0
    price_out_per_1k: float = 0.0
    n_layers: int | None = None
    hidden_size: int | None = None
    gqa_ratio: float = 1.0
    kv_bytes_per_token: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(
                f"ModelEntry: name must be a non-empty str without '/', got {self.name!r}"
            )
        p = self.params
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p) or p <= 0:
            raise ValueError(
                f"ModelEntry {self.name}: params must be a finite number > 0, got {p!r}"
            )
        _check_engine_spec(self.name, self.engine)
        for key in ("price_in_per_1k", "price_out_per_1k", "gqa_ratio"):
            v = getattr(self, key)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise ValueError(
                    f"ModelEntry {self.name}: {key} must be a finite number >= 0, got {v!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class StrategyEntry:
    """A strategy with a parameter grid and constraints on its grid points.

    Parameters
    ----------
    name : str
        Label of the strategy in arm ids (unique in the space).
    kind : str
        One of :data:`STRATEGY_KINDS`.
    grid : mapping of str to sequence
        Values per parameter; the product is filtered by ``constraints``. Empty = one point.
    constraints : sequence of str
        Boolean expressions over the grid's parameter names.
    fixed : mapping
        Parameters with one value, not part of the grid (for example ``max_depth``).
    """

    name: str
    kind: str
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(
                f"StrategyEntry: name must be a non-empty str without '/', got {self.name!r}"
            )
        if self.kind not in STRATEGY_KINDS:
            raise ValueError(
                f"StrategyEntry {self.name}: kind must be one of {STRATEGY_KINDS}, "
                f"got {self.kind!r}"
            )
        if not isinstance(self.grid, Mapping):
            raise TypeError(
                f"StrategyEntry {self.name}: grid must be a mapping, got {type(self.grid)!r}"
            )
        grid = {}
        for key, values in self.grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise TypeError(
                    f"StrategyEntry {self.name}: grid[{key!r}] must be a list, got {values!r}"
                )
            values = tuple(values)
            if not values:
                raise ValueError(f"StrategyEntry {self.name}: grid[{key!r}] is empty")
            grid[str(key)] = values
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "fixed", dict(self.fixed))
        if isinstance(self.constraints, str):
            raise TypeError(f"StrategyEntry {self.name}: constraints must be a list of str")
        object.__setattr__(self, "constraints", tuple(self.constraints))
        for c in self.constraints:
            _compile_constraint(c)

    def points(self) -> list[dict[str, Any]]:
        """Grid points that satisfy every constraint, each merged with ``fixed``."""
        trees = [(c, _compile_constraint(c)) for c in self.constraints]
        keys = list(self.grid)
        out = []
        for values in itertools.product(*(self.grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            env = {**self.fixed, **point}
            if all(_eval_node(t, env, c) for c, t in trees):
                out.append({**self.fixed, **point})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "grid": {k: list(v) for k, v in self.grid.items()},
            "constraints": list(self.constraints),
            "fixed": dict(self.fixed),
        }


def check_strategy_params(arm: Arm, op: str) -> None:
    """Check ``arm.params`` against its strategy class, as the runner will build it
    (``make_strategy(arm.kind, **arm.params)``): unknown parameter names and bad values are
    found when the arms are declared, not when an arm first runs. Strategy classes are plain
    validated dataclasses; :mod:`uniscale.strategies` imports no engine or model library."""
    import dataclasses

    from uniscale.strategies import STRATEGIES, make_strategy

    where = (
        f"{op}: arm {arm.id!r} (model {arm.model!r}, strategy {arm.strategy!r}, kind {arm.kind!r})"
    )
    cls = STRATEGIES.get(arm.kind)
    if cls is None:  # STRATEGY_KINDS and the strategy registry disagree
        raise ValueError(f"{where}: no strategy class for kind {arm.kind!r}")
    declared = [f.name for f in dataclasses.fields(cls) if f.init]
    params = arm.params
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown}; {arm.kind} takes {declared}")
    try:
        make_strategy(arm.kind, **params)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: bad parameter value: {exc}") from None


def _freeze_params(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    out = []
    for k, v in sorted(params.items()):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"Arm: params[{k!r}] must be finite, got {v!r}")
        if not isinstance(v, (int, float, str, bool)) and v is not None:
            raise TypeError(f"Arm: params[{k!r}] must be a scalar (int/float/str/bool), got {v!r}")
        out.append((str(k), v))
    return tuple(out)


@dataclass(frozen=True, init=False)
class Arm:
    """One choice: run strategy ``strategy`` (a :class:`StrategyEntry` name) with ``params`` on
    model ``model``. ``kind`` is the strategy kind (defaults to ``strategy`` when that is a kind).
    Hashable; equal when model, strategy, kind and params are equal."""

    model: str
    strategy: str
    kind: str
    _params: tuple[tuple[str, Any], ...]

    def __init__(
        self,
        model: str,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        kind: str | None = None,
    ) -> None:
        if not isinstance(model, str) or not model or "/" in model:
            raise ValueError(f"Arm: model must be a non-empty str without '/', got {model!r}")
        if not isinstance(strategy, str) or not strategy or "/" in strategy:
            raise ValueError(f"Arm: strategy must be a non-empty str without '/', got {strategy!r}")
        kind = strategy if kind is None else kind
        if kind not in STRATEGY_KINDS:
            raise ValueError(f"Arm: kind must be one of {STRATEGY_KINDS}, got {kind!r}")
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "strategy", strategy)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_params", _freeze_params(dict(params or {})))

    @property
    def params(self) -> dict[str, Any]:
        """The strategy parameters (a fresh dict)."""
        return dict(self._params)

    @functools.cached_property
    def id(self) -> str:
        """Stable text id ``model/strategy/k=v,k=v`` (params sorted by key); computed once."""
        return f"{self.model}/{self.strategy}/" + ",".join(f"{k}={v}" for k, v in self._params)

    @property
    def n_samples(self) -> int:
        """Generated samples per request: ``n``, else ``qp * cp``, else 1."""
        p = dict(self._params)
        if "n" in p:
            return int(p["n"])
        return int(p.get("qp", 1)) * int(p.get("cp", 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "strategy": self.strategy,
            "kind": self.kind,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Arm:
        return cls(d["model"], d["strategy"], d.get("params") or {}, kind=d.get("kind"))

    def __repr__(self) -> str:
        return f"Arm({self.id!r})"


class ArmSpace:
    """The arms the router chooses among.

    Parameters
    ----------
    models : sequence of ModelEntry (or dicts)
    strategies : sequence of StrategyEntry (or dicts)
    arms : sequence of Arm (or dicts), optional
        Extra arms appended after the product (their model must be declared).
    product : bool
        Build the product models x strategies (default True); False keeps only ``arms``.
    """

    def __init__(
        self,
        models: Sequence[ModelEntry | Mapping[str, Any]],
        strategies: Sequence[StrategyEntry | Mapping[str, Any]] = (),
        arms: Sequence[Arm | Mapping[str, Any]] = (),
        *,
        product: bool = True,
    ) -> None:
        op = "ArmSpace"
        self.models: dict[str, ModelEntry] = {}
        for m in models:
            m = m if isinstance(m, ModelEntry) else ModelEntry(**_model_kwargs(m))
            if m.name in self.models:
                raise ValueError(f"{op}: model {m.name!r} declared twice")
            self.models[m.name] = m
        if not self.models:
            raise ValueError(f"{op}: at least one model is needed")
        self.strategies: dict[str, StrategyEntry] = {}
        for s in strategies:
            s = s if isinstance(s, StrategyEntry) else StrategyEntry(**_strategy_kwargs(s))
            if s.name in self.strategies:
                raise ValueError(f"{op}: strategy {s.name!r} declared twice")
            self.strategies[s.name] = s
        self._arms: list[Arm] = []
        self._index: dict[str, int] = {}
        if product:
            for m in self.models.values():
                for s in self.strategies.values():
                    for point in s.points():
                        self._append(Arm(m.name, s.name, point, kind=s.kind), op)
        for a in arms:
            a = a if isinstance(a, Arm) else Arm.from_dict(a)
            self._append(a, op)
        if not self._arms:
            raise ValueError(f"{op}: the declaration yields no arm (check grids and constraints)")

    def _check_arm(self, arm: Arm, op: str) -> None:
        if not isinstance(arm, Arm):
            raise TypeError(f"{op}: expected an Arm, got {type(arm)!r}")
        if arm.model not in self.models:
            raise ValueError(f"{op}: arm {arm.id!r} names undeclared model {arm.model!r}")
        if arm.id in self._index:
            raise ValueError(f"{op}: arm {arm.id!r} is already in the space")

    def _append(self, arm: Arm, op: str) -> int:
        self._check_arm(arm, op)
        check_strategy_params(arm, op)
        self._index[arm.id] = len(self._arms)
        self._arms.append(arm)
        return len(self._arms) - 1

    # ------------------------------------------------------------------ queries
    @property
    def arms(self) -> tuple[Arm, ...]:
        return tuple(self._arms)

    def __len__(self) -> int:
        return len(self._arms)

    def __getitem__(self, index: int) -> Arm:
        return self._arms[index]

    def index(self, arm: Arm | str) -> int:
        """Index of an arm (or arm id); KeyError names the id when absent."""
        key = arm.id if isinstance(arm, Arm) else arm
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f"ArmSpace.index: no arm {key!r}") from None

    def model_of(self, arm: Arm | int) -> ModelEntry:
        a = self._arms[arm] if isinstance(arm, (int, np.integer)) else arm
        return self.models[a.model]

    # ----------------------------------------------------------------- changes
    def add(self, arm: Arm, model: ModelEntry | None = None) -> int:
        """Append ``arm`` (declaring ``model`` first when given and new); returns its index."""
        new_model = model is not None and model.name not in self.models
        if model is not None and new_model:
            if model.name != getattr(arm, "model", None):
                raise ValueError(f"ArmSpace.add: model {model.name!r} is not the arm's model")
            self._check_new_with_model(arm, model)
            self.models[model.name] = model
        try:
            return self._append(arm, "ArmSpace.add")
        except Exception:
            if model is not None and new_model:
                del self.models[model.name]  # leave the space exactly as it was
            raise

    def _check_new_with_model(self, arm: Arm, model: ModelEntry) -> None:
        if not isinstance(arm, Arm):
            raise TypeError(f"ArmSpace.add: expected an Arm, got {type(arm)!r}")
        if arm.id in self._index:
            raise ValueError(f"ArmSpace.add: arm {arm.id!r} is already in the space")

    def remove(self, arm_id: Arm | str) -> int:
        """Remove an arm; returns the index it had (later arms move down by one)."""
        idx = self.index(arm_id)
        if len(self._arms) == 1:
            raise ValueError("ArmSpace.remove: cannot remove the last arm")
        del self._arms[idx]
        self._index = {a.id: i for i, a in enumerate(self._arms)}
        return idx

    def mask(
        self,
        *,
        models: Iterable[str] | None = None,
        strategies: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        max_samples: int | None = None,
    ) -> np.ndarray:
        """Bool (K,) True for arms whose model is in ``models``, strategy in ``strategies``, kind in
        ``kinds`` (each None = any), id not in ``exclude`` and ``n_samples <= max_samples``."""
        ms = None if models is None else set(models)
        ss = None if strategies is None else set(strategies)
        ks = None if kinds is None else set(kinds)
        ex = set(exclude or ())
        for name, known, what in ((ms, self.models, "model"), (ss, self.strategies, "strategy")):
            if name is not None and known and not name <= set(known):
                raise ValueError(f"ArmSpace.mask: unknown {what}(s) {sorted(name - set(known))}")
        out = np.empty(len(self._arms), dtype=bool)
        for i, a in enumerate(self._arms):
            out[i] = (
                (ms is None or a.model in ms)
                and (ss is None or a.strategy in ss)
                and (ks is None or a.kind in ks)
                and a.id not in ex
                and (max_samples is None or a.n_samples <= max_samples)
            )
        return out

    # ------------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form that rebuilds this exact space (arms listed explicitly, in order)."""
        return {
            "models": [m.to_dict() for m in self.models.values()],
            "strategies": [s.to_dict() for s in self.strategies.values()],
            "arms": [a.to_dict() for a in self._arms],
            "product": False,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ArmSpace:
        op = "ArmSpace.from_dict"
        if not isinstance(d, Mapping) or "models" not in d:
            got = sorted(map(str, d)) if isinstance(d, Mapping) else type(d).__name__
            raise ValueError(f"{op}: expected a mapping with a 'models' list, got {got}")
        unknown = set(d) - {"models", "strategies", "arms", "product"}
        if unknown:
            raise ValueError(f"{op}: unknown keys {sorted(unknown)}")
        fields = {
            "models": set(ModelEntry.__dataclass_fields__),
            "strategies": set(StrategyEntry.__dataclass_fields__),
            "arms": {"model", "strategy", "kind", "params"},
        }
        for key, known in fields.items():
            entries = d.get(key, ())
            if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Sequence):
                raise TypeError(
                    f"{op}: {key!r} must be a list of tables/mappings, got {entries!r:.60}"
                )
            for i, e in enumerate(entries):
                if isinstance(e, (ModelEntry, StrategyEntry, Arm)):
                    continue
                if not isinstance(e, Mapping):
                    raise TypeError(f"{op}: {key}[{i}] must be a table/mapping, got {e!r:.60}")
                bad = set(map(str, e)) - known
                if bad:
                    raise ValueError(
                        f"{op}: {key}[{i}] ({e.get('name', e.get('model', '?'))}) has unknown "
                        f"field(s) {sorted(bad)}; expected some of {sorted(known)}"
                    )
        product = d.get("product", True)
        if not isinstance(product, bool):
            raise TypeError(f"{op}: 'product' must be true or false, got {product!r}")
        return cls(d["models"], d.get("strategies", ()), d.get("arms", ()), product=product)

    @classmethod
    def from_file(cls, path: str | Path) -> ArmSpace:
        """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) declaration.

        Every error in the file (syntax, structure, a model's engine spec, a strategy
        parameter) is a one-line ValueError or TypeError that starts with the file's path.
        """
        path = Path(path)
        op = f"ArmSpace.from_file: {path}"
        suffix = path.suffix.lower()
        if suffix not in (".yaml", ".yml", ".toml"):
            raise ValueError(
                f"ArmSpace.from_file: expected .yaml, .yml or .toml, got {path.name!r}"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{op}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        data = _parse_yaml(text, op) if suffix != ".toml" else _parse_toml(text, op)
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{op}: {exc}") from None

    def __repr__(self) -> str:
        n_m, n_s = len(self.models), len(self.strategies)
        return f"ArmSpace({n_m} models, {n_s} strategies, {len(self)} arms)"


def _parse_yaml(text: str, op: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ValueError(f"{op}: not valid YAML: {where}{what}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{op}: not valid YAML: {' '.join(str(exc).split())}") from None


def _parse_toml(text: str, op: str) -> Any:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{op}: not valid TOML: {' '.join(str(exc).split())}") from None


_NUMERIC_MODEL_FIELDS = (
    "params",
    "price_in_per_1k",
    "price_out_per_1k",
    "gqa_ratio",
    "kv_bytes_per_token",
)


def _model_kwargs(m: Mapping[str, Any]) -> dict[str, Any]:
    """Model fields from a declaration; numbers written as text are converted, because YAML 1.1
    (PyYAML) reads ``1.0e9`` (no sign in the exponent) as a string."""
    out = dict(m)
    for key in _NUMERIC_MODEL_FIELDS:
        v = out.get(key)
        if isinstance(v, str):
            try:
                out[key] = float(v)
            except ValueError:
                raise ValueError(
                    f"ArmSpace: model field {key} must be a number, got {v!r}"
                ) from None
    return out


def _strategy_kwargs(s: Mapping[str, Any]) -> dict[str, Any]:
    s = dict(s)
    s.setdefault("kind", s.get("name"))
    s["constraints"] = tuple(s.get("constraints", ()))
    return s
