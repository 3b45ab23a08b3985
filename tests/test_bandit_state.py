"""State dicts and state files: exact round trips, cross-loading, damaged and mismatched files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from uniscale.bandit import DisjointLinUCB, DisjointLinUCBReference, LinUCB, LinUCBReference
from uniscale.bandit.state import FORMAT_VERSION, load_state, save_state
from uniscale.errors import StateFileError


def trained(cls, rng, dtype="float64"):
    if cls in (LinUCB, LinUCBReference):
        model = cls(6, alpha=0.7, lam=1.3, gamma=0.98, refresh_every=11, dtype=dtype)
        model.update(rng.integers(0, 4, 40), rng.normal(size=(40, 6)), rng.normal(size=40))
    else:
        model = cls(5, 6, alpha=0.7, lam=1.3, gamma=0.98, refresh_every=11, dtype=dtype)
        model.update(rng.integers(0, 5, 40), rng.normal(size=(40, 6)), rng.normal(size=40))
    return model


def query(cls, rng):
    return rng.normal(size=(3, 4, 6) if cls in (LinUCB, LinUCBReference) else (3, 6))


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


ALL = [LinUCB, LinUCBReference, DisjointLinUCB, DisjointLinUCBReference]
PAIRS = [(LinUCB, LinUCBReference), (DisjointLinUCB, DisjointLinUCBReference)]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_load_round_trip_is_exact(cls, dtype, rng, tmp_path):
    model = trained(cls, rng, dtype)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = cls.load(path)
    assert_same_state(model.state_dict(), loaded.state_dict())
    X = query(cls, rng)
    for a, b in zip(model.scores(X), loaded.scores(X), strict=True):
        np.testing.assert_array_equal(a, b)
    # Both continue identically, including the timing of the next automatic refresh.
    n = 30
    arms = rng.integers(0, 4, n)
    Xu, r = rng.normal(size=(n, 6)), rng.normal(size=n)
    model.update(arms, Xu, r)
    loaded.update(arms, Xu, r)
    assert_same_state(model.state_dict(), loaded.state_dict())
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize("fast,ref", PAIRS)
def test_state_dict_moves_between_core_and_reference(fast, ref, rng):
    a = trained(fast, rng)
    b = ref.from_state_dict(a.state_dict())
    c = fast.from_state_dict(b.state_dict())
    assert_same_state(a.state_dict(), c.state_dict())
    X = query(fast, rng)
    for x, y in zip(a.scores(X), b.scores(X), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize("cls", ALL)
def test_damaged_files_raise_state_file_error(cls, rng, tmp_path):
    model = trained(cls, rng)
    path = tmp_path / "m.npz"
    model.save(path)
    data = path.read_bytes()
    bad = tmp_path / "bad.npz"
    for cut in (0, 1, 30, len(data) // 2, len(data) - 1):
        bad.write_bytes(data[:cut])
        with pytest.raises(StateFileError):
            cls.load(bad)
    # Flip one byte at a time across the whole file: every damaged file either fails loudly or,
    # where the byte is one zip ignores (a timestamp), loads the very same state.
    want = model.state_dict()
    for pos in range(0, len(data), max(1, len(data) // 150)):
        flipped = bytearray(data)
        flipped[pos] ^= 0x55
        bad.write_bytes(bytes(flipped))
        try:
            got = cls.load(bad)
        except StateFileError:
            continue
        assert_same_state(want, got.state_dict())
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(StateFileError):
        cls.load(bad)
    with pytest.raises(FileNotFoundError):
        cls.load(tmp_path / "missing.npz")


def _rewrite(path, edit):
    """Rewrite a saved file after edit(arrays, meta), keeping a valid checksum."""
    from uniscale.bandit import state as state_mod

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(z["__meta__"].tobytes())
    meta.pop("sha256")
    edit(arrays, meta)
    save_state(path, {**meta, **arrays})
    assert state_mod.FORMAT_VERSION == FORMAT_VERSION


@pytest.mark.parametrize("cls", ALL)
def test_mismatched_files_raise_state_file_error(cls, rng, tmp_path):
    model = trained(cls, rng)
    path = tmp_path / "m.npz"
    other = {
        LinUCB: DisjointLinUCB,
        LinUCBReference: DisjointLinUCB,
        DisjointLinUCB: LinUCB,
        DisjointLinUCBReference: LinUCB,
    }[cls]
    model.save(path)
    with pytest.raises(StateFileError, match="expected"):
        other.load(path)

    def version(arrays, meta):
        meta["format_version"] = FORMAT_VERSION + 1

    def shape(arrays, meta):
        arrays["A"] = arrays["A"][..., :-1]

    def nan(arrays, meta):
        arrays["theta"] = arrays["theta"] * np.nan

    def gamma(arrays, meta):
        meta["gamma"] = 2.0

    def missing(arrays, meta):
        del arrays["A_inv"]

    for edit, pattern in [
        (version, "format_version"),
        (shape, "shape"),
        (nan, "NaN"),
        (gamma, "gamma"),
        (missing, "missing"),
    ]:
        model.save(path)
        _rewrite(path, edit)
        with pytest.raises(StateFileError, match=pattern):
            cls.load(path)
    # An edit without recomputing the checksum is caught by the checksum.
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(
        np.lib.format.read_array(__import__("io").BytesIO(members["__meta__.npy"])).tobytes()
    )
    meta["alpha"] = 99.0
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = __import__("io").BytesIO()
    np.lib.format.write_array(buf, blob)
    members["__meta__.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, payload in members.items():
            z.writestr(name, payload)
    with pytest.raises(StateFileError, match="SHA-256"):
        cls.load(path)


def test_from_state_dict_rejects_bad_dicts(rng):
    sd = trained(LinUCB, rng).state_dict()
    with pytest.raises(StateFileError, match="missing"):
        LinUCB.from_state_dict({k: v for k, v in sd.items() if k != "b"})
    with pytest.raises(StateFileError, match="expected a dict"):
        LinUCB.from_state_dict([1, 2])
    with pytest.raises(StateFileError, match="DisjointLinUCB"):
        DisjointLinUCB.from_state_dict(sd)
    with pytest.raises(StateFileError, match="A_inv has shape"):
        LinUCB.from_state_dict({**sd, "A_inv": np.eye(5)})
    with pytest.raises(ValueError):  # StateFileError is a ValueError
        LinUCB.from_state_dict({**sd, "d": 0})


def test_load_state_checks_kind(rng, tmp_path):
    path = tmp_path / "x.npz"
    trained(LinUCB, rng).save(path)
    assert load_state(path, "LinUCB")["kind"] == "LinUCB"
    with pytest.raises(StateFileError, match="holds a 'LinUCB' model"):
        load_state(path, "DisjointLinUCB")


@pytest.mark.parametrize("cls", [LinUCB, DisjointLinUCB])
def test_deepcopy_and_pickle_go_through_the_state_dict(cls, rng):
    import copy
    import pickle

    model = trained(cls, rng)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert type(clone) is cls
        assert_same_state(model.state_dict(), clone.state_dict())
        clone.update(np.array([0]), np.ones((1, 6)), np.array([1.0]))
        assert clone.n_updates == model.n_updates + 1  # independent of the original


def _broken(sd, how):
    sd = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sd.items()}
    d = sd["d"]
    if how == "negated":
        sd["A"] = -sd["A"]
    elif how == "indefinite":  # symmetric, finite, one negative eigenvalue
        A = sd["A"][..., :, :]
        A[..., d - 1, d - 1] = -abs(A[..., d - 1, d - 1])
    elif how == "asymmetric":
        sd["A"][..., 0, 1] += 0.5
    elif how == "inverse":
        sd["A_inv"] = 2.0 * sd["A_inv"]
    return sd


BROKEN = [
    ("negated", r"A is not positive definite"),
    ("indefinite", r"A is not positive definite"),
    ("asymmetric", r"A is not symmetric.*max \|A - A\^T\| = 0\.5"),
    ("inverse", r"A_inv is not the inverse of A.*max \|A_inv A v - v\| / max \|v\| = 1 "),
]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("how,pattern", BROKEN)
def test_state_that_is_not_a_model_is_rejected(cls, how, pattern, rng, tmp_path):
    """A must be symmetric positive definite and A_inv its inverse, from a dict or a file."""
    sd = _broken(trained(cls, rng).state_dict(), how)
    with pytest.raises(StateFileError, match=pattern):
        cls.from_state_dict(sd)
    path = tmp_path / "broken.npz"
    save_state(path, sd)  # the file itself is intact: its checksum matches
    with pytest.raises(StateFileError, match=pattern):
        cls.load(path)


def test_disjoint_state_check_names_the_arm(rng):
    sd = trained(DisjointLinUCB, rng).state_dict()
    sd["A"][3] = -sd["A"][3]
    with pytest.raises(StateFileError, match=r"A is not positive definite \(arm 3\)"):
        DisjointLinUCB.from_state_dict(sd)


def test_ill_conditioned_but_valid_state_loads(rng, tmp_path):
    """The A_inv check scales with A's conditioning: a long run on nearly collinear features
    (condition number ~1e7, A_inv kept by Sherman-Morrison steps since the last refresh)
    still loads."""
    d, n = 8, 20000
    model = LinUCB(d, lam=1e-3)
    base = rng.normal(size=(n, 1))
    X = 0.999 * base + 0.001 * rng.normal(size=(n, d))
    X[:, 0] = 1.0
    for lo in range(0, n, 1000):
        model.update(None, X[lo : lo + 1000], rng.normal(size=1000))
    model.update(None, X[:100], rng.normal(size=100))  # 100 steps after the last refresh
    assert np.linalg.cond(model.A) > 1e6
    model.save(tmp_path / "m.npz")
    assert_same_state(model.state_dict(), LinUCB.load(tmp_path / "m.npz").state_dict())


def test_shared_counts_longer_than_the_arm_bound_are_rejected(rng):
    sd = trained(LinUCB, rng).state_dict()
    sd["counts"] = np.zeros(65537, np.int64)
    with pytest.raises(StateFileError, match=r"counts has 65537 entries, expected at most 65536"):
        LinUCB.from_state_dict(sd)


@pytest.mark.parametrize("cls", ALL)
def test_save_into_a_missing_folder_names_the_folder(cls, rng, tmp_path):
    model = trained(cls, rng)
    target = tmp_path / "nowhere" / "x.npz"
    with pytest.raises(FileNotFoundError) as info:
        model.save(target)
    message = str(info.value)
    assert f"folder {target.parent} does not exist" in message
    assert ".tmp" not in message  # not the temporary file's name
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize(
    "payload",
    [b"this is not an archive\n", b"", b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", b"PK"],
)
def test_garbage_file_is_not_a_state_file(cls, payload, tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(payload)
    with pytest.raises(StateFileError, match=r"is not a uniscale state file") as info:
        cls.load(path)
    assert "allow_pickle" not in str(info.value)
