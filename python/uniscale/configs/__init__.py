"""Arm-space configs shipped with uniscale (YAML, read by ``uniscale.router.ArmSpace.from_file``).

``default.yaml`` -- the embedded default: SmolLM2-135M and Gemma-3-270M on llama.cpp, each with a
greedy single sample, self-consistency (n = 3, 5), best-of-3 scored by the embedded
self-confidence verifier and a small step-level beam search.
"""
