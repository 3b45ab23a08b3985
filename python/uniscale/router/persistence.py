"""Saving and loading a Router: a directory with ``router.json`` and ``arrays.npz``.

* ``router.json``: ``{"format": "uniscale.router", "version": 1, ...}`` with the arm space, reward
  and budget settings, featurizer names and configs, the policy's scalars, the RNG states, the
  decision counter, pending decisions (without their feature rows) and recently closed ids.
* ``arrays.npz``: every array (projection, policy core, pending feature rows, per-arm costs),
  read back with ``allow_pickle=False``. No pickle anywhere.

Atomicity: the state is written to a fresh sibling directory and fsynced, then renamed into
place; an existing directory at ``path`` is first renamed aside and deleted only after the new
one is in place, so a crash leaves either the old or the new state (plus a stray temporary
directory at worst), never a mix.

What may be replaced: nothing that is not ours. ``save`` writes to a path that does not exist,
an empty directory, or a directory holding exactly a router state (``router.json`` with the
format marker, and ``arrays.npz``). It refuses, with a ValueError naming the path and before
writing anything, a file, a directory with any other content, and the current working directory
or one of its parents (a directory that is in use cannot be swapped out: save to a sub-folder).

Loading checks the format name and version and every field (types, ranges, shapes, finiteness)
and raises :class:`~uniscale.errors.StateFileError` naming the file and the field on anything
truncated, corrupt, foreign or of another version.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from uniscale.errors import StateFileError

if TYPE_CHECKING:
    from uniscale.router.router import Router

logger = logging.getLogger(__name__)

__all__ = ["FORMAT", "VERSION", "save_router", "load_router"]

FORMAT = "uniscale.router"
VERSION = 1


def _router_state(router: Router) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    joint_meta, joint_arrays = router.joint.state()
    arrays.update({f"joint.{k}": v for k, v in joint_arrays.items()})
    policy_meta, policy_arrays = router.policy.state_dict()
    arrays.update({f"policy.{k}": v for k, v in policy_arrays.items()})
    store_meta, store_arrays = router.store.state()
    arrays.update({f"store.{k}": v for k, v in store_arrays.items()})
    p = router.featurizer.out_dim
    arrays["warm.phi"] = np.array(router._warm_phi).reshape(-1, p)
    arrays["warm.update_phi"] = np.array([u[0] for u in router._warm_updates]).reshape(-1, p)
    arrays["costs.sum"] = router.costs.sum.copy()
    arrays["costs.count"] = router.costs.count.copy()
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "arm_space": router.arm_space.to_dict(),
        "reward": router.reward.to_dict(),
        "budget": None if router.budget is None else router.budget.state(),
        "seed": router.seed,
        "featurizer": {"name": router.featurizer.name, "config": router.featurizer.config()},
        "arm_featurizer": router.arm_featurizer.config(),
        "joint": joint_meta,
        "policy": policy_meta,
        "store": store_meta,
        "rng": router.rng.bit_generator.state,
        "tag": router._tag,
        "counter": router._counter,
        "cost_lo": router.cost_lo,
        "cost_hi": router.cost_hi,
        "warm_updates": [[u[1], u[2]] for u in router._warm_updates],
    }
    return meta, arrays


def save_router(router: Router, path: str | Path) -> None:
    """Write ``router``'s state to directory ``path`` (created or replaced atomically)."""
    path = _check_target(path)
    meta, arrays = _router_state(router)
    text = json.dumps(meta, indent=1, allow_nan=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        with open(tmp / "arrays.npz", "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp / "router.json", "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        old = None
        # TODO(uniscale): replacing an existing state takes two renames; a crash between them
        # leaves the old state under .<name>.old-* and nothing at ``path`` (recoverable by hand).
        if path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex}"
            os.rename(path, old)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    logger.info("router state saved to %s", path)


_STATE_FILES = frozenset({"router.json", "arrays.npz"})


def _is_router_state(path: Path) -> bool:
    """Whether directory ``path`` holds a router state and nothing else."""
    names = {p.name for p in path.iterdir()}
    if not names <= _STATE_FILES or "router.json" not in names:
        return False
    try:
        meta = json.loads((path / "router.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _check_target(path: str | Path) -> Path:
    """The absolute path to save to; ValueError when saving there would destroy foreign data
    or swap out a directory in use (module docstring)."""
    op = "Router.save"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: path must be a str or os.PathLike, got {type(path)!r}")
    target = Path(os.path.abspath(path))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ValueError(
            f"{op}: {str(path)!r} exists and is not a directory; a router state is a directory "
            "(router.json + arrays.npz): choose another path"
        )
    cwd = Path.cwd().resolve()
    if target.exists() and (target.resolve() == cwd or target.resolve() in cwd.parents):
        raise ValueError(
            f"{op}: {str(path)!r} is the current working directory or one of its parents; it "
            "cannot be replaced atomically: save to a sub-folder such as 'router_state'"
        )
    if target.is_dir() and any(target.iterdir()) and not _is_router_state(target):
        raise ValueError(
            f"{op}: {str(path)!r} is a non-empty directory that is not a uniscale router state "
            "(router.json with the uniscale.router format marker, and arrays.npz, only); "
            "refusing to replace it: choose an empty or new path"
        )
    return target


def load_router(
    path: str | Path, *, clock: Callable[[], float] | None = None, featurizer: Any = None
) -> Router:
    """Rebuild the router saved at ``path`` (``featurizer``: see :meth:`Router.load`)."""
    from uniscale.router.arms import ArmSpace
    from uniscale.router.budget import BudgetController
    from uniscale.router.decisions import DecisionStore
    from uniscale.router.joint import JointFeaturizer
    from uniscale.router.reward import RewardConfig
    from uniscale.router.router import Router

    path = Path(path)
    op = "Router.load"
    try:
        meta = json.loads((path / "router.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateFileError(f"{op}: no router.json in {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StateFileError(f"{op}: {path / 'router.json'} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StateFileError(f"{op}: {path} does not hold a {FORMAT} state")
    if meta.get("version") != VERSION:
        raise StateFileError(
            f"{op}: state version {meta.get('version')!r}, this uniscale reads version {VERSION}"
        )
    _check_meta(meta, path / "router.json")
    try:
        # Our own file handle: np.load leaks the one it opens when the zip is unreadable.
        with open(path / "arrays.npz", "rb") as f, np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise StateFileError(f"{op}: no arrays.npz in {path}") from None
    except Exception as exc:  # noqa: BLE001 - zip, zlib, EOF and format errors alike
        raise StateFileError(
            f"{op}: {path / 'arrays.npz'} is unreadable (truncated or not a .npz): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    _check_arrays(arrays, path / "arrays.npz", op)

    def sub(prefix: str) -> dict[str, np.ndarray]:
        n = len(prefix) + 1
        return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + ".")}

    stage = "featurizer"
    try:
        saved_feat = meta["featurizer"]
        if featurizer is not None and (
            getattr(featurizer, "name", None) != saved_feat["name"]
            or getattr(featurizer, "out_dim", None) != meta["joint"]["query_dim"]
        ):
            raise StateFileError(
                f"{op}: featurizer {getattr(featurizer, 'name', None)!r} does not match the saved "
                f"{saved_feat['name']!r} with {meta['joint']['query_dim']} features"
            )
        stage = "arm_space"
        space = ArmSpace.from_dict(meta["arm_space"])
        policy_meta = meta["policy"]
        af = dict(meta["arm_featurizer"])
        af_kwargs = {
            "model_onehot": af["model_onehot"],
            "description_dim": af["description_dim"],
            "kinds": af["kinds"],
            "models": af["models"] or None,
        }
        stage = "settings (reward, seed, store.ttl_s, joint, policy, arm_featurizer)"
        router = Router(
            space,
            policy=policy_meta["name"],
            featurizer=saved_feat["name"] if featurizer is None else featurizer,
            _featurizer_config=saved_feat["config"] if featurizer is None else None,
            reward=RewardConfig(**meta["reward"]),
            seed=meta["seed"],
            ttl_s=meta["store"]["ttl_s"],
            projection=meta["joint"]["projection"],
            dim=_saved_dim(meta["joint"], policy_meta["name"]),
            policy_kwargs=_policy_kwargs(policy_meta),
            arm_features=af_kwargs,
            clock=clock,
        )
        stage = "joint"
        router.joint = JointFeaturizer.from_state(meta["joint"], sub("joint"))
        stage = "policy"
        router.policy.load_state_dict(policy_meta, sub("policy"))
        stage = "store"
        router.store = DecisionStore.from_state(meta["store"], sub("store"))
        stage = "costs"
        router.costs.sum = np.asarray(arrays["costs.sum"], dtype=np.float64)
        router.costs.count = np.asarray(arrays["costs.count"], dtype=np.int64)
        stage = "budget"
        router.budget = (
            None if meta["budget"] is None else BudgetController.from_state(meta["budget"])
        )
        stage = "rng"
        router.rng.bit_generator.state = meta["rng"]
        router._tag = meta["tag"]
        router._counter = int(meta["counter"])
        router.cost_lo, router.cost_hi = meta["cost_lo"], meta["cost_hi"]
        stage = "warm_updates"
        router._warm_phi = [np.array(row) for row in arrays["warm.phi"]]
        upd = arrays["warm.update_phi"]
        if len(upd) != len(meta["warm_updates"]):
            raise ValueError("warm-up outcomes and their features disagree")
        router._warm_updates = [
            (np.array(phi), str(arm_id), float(reward))
            for phi, (arm_id, reward) in zip(upd, meta["warm_updates"], strict=True)
        ]
        router._refresh_arms()
    except StateFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild is a corrupt state
        raise StateFileError(
            f"{op}: {path / 'router.json'} (with arrays.npz) holds an inconsistent state in "
            f"field {stage!r}: {type(exc).__name__}: {exc}"
        ) from None
    if router.policy.d != router.d:
        raise StateFileError(f"{op}: {path}: the policy's d does not match the joint features")
    if len(router.costs.sum) != len(space):
        raise StateFileError(
            f"{op}: {path / 'arrays.npz'}: field 'costs.sum' has {len(router.costs.sum)} "
            f"entries, the arm space {len(space)} arms"
        )
    logger.info("router state loaded from %s (%s arms)", path, len(space))
    return router


def _bad(file: Path, field: str, expected: str, got: Any) -> StateFileError:
    text = repr(got)
    if len(text) > 80:
        text = text[:77] + "..."
    return StateFileError(f"Router.load: {file}: field {field!r} must be {expected}, got {text}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_meta(meta: dict[str, Any], file: Path) -> None:
    """The scalar fields of router.json (the nested ones are checked by their owners' loaders,
    whose errors the caller turns into StateFileError with the field named)."""
    objects = ("arm_space", "reward", "featurizer", "arm_featurizer", "joint", "policy", "store")
    for key in (*objects, "rng"):
        if not isinstance(meta.get(key), dict):
            raise _bad(file, key, "an object", meta.get(key, "<missing>"))
    if not _is_int(meta.get("seed")):
        raise _bad(file, "seed", "an int", meta.get("seed", "<missing>"))
    tag = meta.get("tag")
    if not isinstance(tag, str) or not tag or not all(c in "0123456789abcdef" for c in tag):
        raise _bad(file, "tag", "a non-empty lower-case hex string", tag)
    if not _is_int(meta.get("counter")) or meta["counter"] < 0:
        raise _bad(file, "counter", "an int >= 0", meta.get("counter", "<missing>"))
    lo, hi = meta.get("cost_lo"), meta.get("cost_hi")
    for key, v in (("cost_lo", lo), ("cost_hi", hi)):
        if v is not None and not (_is_number(v) and v > 0):
            raise _bad(file, key, "null or a finite number > 0", v)
    if (lo is None) != (hi is None):
        raise _bad(file, "cost_lo/cost_hi", "both null or both numbers", [lo, hi])
    if lo is not None and lo > hi:
        raise _bad(file, "cost_lo/cost_hi", "cost_lo <= cost_hi", [lo, hi])
    budget = meta.get("budget")
    if budget is not None and not isinstance(budget, dict):
        raise _bad(file, "budget", "null or an object", budget)
    updates = meta.get("warm_updates")
    if not isinstance(updates, list) or not all(
        isinstance(u, list) and len(u) == 2 and isinstance(u[0], str) and _is_number(u[1])
        for u in updates
    ):
        raise _bad(file, "warm_updates", "a list of [arm id, finite reward]", updates)


def _check_arrays(arrays: dict[str, np.ndarray], file: Path, op: str) -> None:
    for key in ("costs.sum", "costs.count", "warm.phi", "warm.update_phi"):
        if key not in arrays:
            raise StateFileError(f"{op}: {file}: field {key!r} is missing")
    s, c = arrays["costs.sum"], arrays["costs.count"]
    if s.ndim != 1 or s.dtype.kind != "f" or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise _bad(file, "costs.sum", "a 1-D float array of finite costs >= 0", s)
    if c.shape != s.shape or c.dtype.kind not in "iu" or np.any(c < 0):
        raise _bad(file, "costs.count", f"an int array >= 0 of shape {s.shape}", c)
    for key in ("warm.phi", "warm.update_phi"):
        a = arrays[key]
        if a.ndim != 2 or a.dtype.kind != "f" or not np.all(np.isfinite(a)):
            raise _bad(file, key, "a 2-D array of finite floats", a)
    for key, a in arrays.items():
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise _bad(file, key, "finite values", a)


def _saved_dim(joint: dict[str, Any], policy_name: str) -> int:
    """The ``dim`` argument that makes Router rebuild the saved joint map's shape."""
    if policy_name == "disjoint":
        return int(joint["proj_dim"]) + 1
    return (int(joint["proj_dim"]) + 1) * (int(joint["arm_dim"]) + 1)


def _policy_kwargs(policy_meta: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of the saved policy, minus those the Router passes itself."""
    cfg = dict(policy_meta["config"])
    for key in ("d", "n_arms", "context"):
        if key != "context" or cfg.get(key) == "joint":
            cfg.pop(key, None)
    return cfg
