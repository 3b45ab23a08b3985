"""Threads: decisions made while another thread updates see a whole state, never a torn one."""

from __future__ import annotations

import threading

import pytest

from uniscale.bandit import DisjointLinUCB, LinUCB


@pytest.mark.parametrize("kind", ["shared", "disjoint"])
def test_scores_during_updates_match_a_whole_state(kind, rng):
    d, K, n_batches, batch = 24, 40, 30, 300
    if kind == "shared":

        def make():
            return LinUCB(d, alpha=1.0, refresh_every=500)

        X_query = rng.normal(size=(8, K, d))
        arms = [None] * n_batches
    else:

        def make():
            return DisjointLinUCB(K, d, alpha=1.0, refresh_every=500)

        X_query = rng.normal(size=(8, d))
        arms = [rng.integers(0, K, size=batch) for _ in range(n_batches)]
    Xs = [rng.normal(size=(batch, d)) for _ in range(n_batches)]
    rs = [rng.normal(size=batch) for _ in range(n_batches)]

    # Every state a reader may legally see: before any batch, and after each whole batch.
    oracle = make()
    expected = [oracle.scores(X_query)[0].tobytes()]
    for a, X, r in zip(arms, Xs, rs, strict=True):
        oracle.update(a, X, r)
        expected.append(oracle.scores(X_query)[0].tobytes())
    legal = {e: i for i, e in enumerate(expected)}
    assert len(legal) == n_batches + 1

    model = make()
    seen: list[list[int]] = [[] for _ in range(3)]
    errors: list[BaseException] = []
    done = threading.Event()

    def reader(mine: list[int]):
        try:
            while not done.is_set():
                mean, _ = model.scores(X_query)
                arm, _ = model.select(X_query)
                key = mean.tobytes()
                if key not in legal:
                    raise AssertionError("a decision saw a torn state")
                mine.append(legal[key])
                assert arm.shape == (8,)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)

    readers = [threading.Thread(target=reader, args=(mine,)) for mine in seen]
    for t in readers:
        t.start()
    for a, X, r in zip(arms, Xs, rs, strict=True):
        model.update(a, X, r)
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors[0]
    assert any(seen), "readers never ran"
    for mine in seen:  # each reader sees the states in the order they were made
        assert mine == sorted(mine)
    assert model.scores(X_query)[0].tobytes() == expected[-1]


def test_concurrent_arm_changes_and_selects(rng):
    d = 8
    model = DisjointLinUCB(5, d)
    X = rng.normal(size=(4, d))
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        try:
            while not done.is_set():
                mean, width = model.scores(X)
                assert mean.shape == width.shape and mean.shape[0] == 4
                arm, _ = model.select(X)
                assert ((arm >= 0) & (arm < 5 + 50)).all()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(50):
        first = model.add_arms(2)
        model.update([first, first + 1], rng.normal(size=(2, d)), [1.0, 0.0])
        model.remove_arms([first])
    done.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert model.n_arms == 55
