"""Raw work counts a strategy reports; tokens, eFLOPs and dollars are all computed from them.

A strategy does not compute costs itself. It records what it asked the engines to do: for every
``generate`` call the prompt lengths and completion lengths of each branch, for every verifier call
the number of tokens scored. :func:`uniscale.cost.eflops` and :func:`uniscale.cost.dollars` turn the
same counts into the cost a user chooses.

Accounting convention (an idealised batched engine, the one the eFLOPs model of docs/method.md
describes): the prompts of one ``generate`` call are prefilled in one forward pass, and all of its
branches (every prompt × every sample) decode together as one batch whose active size shrinks as
branches finish. A decode step at which ``b`` branches are active reads the weights once. The
context ``l`` of a branch at a step is the number of tokens already in its KV cache: its prompt plus
the tokens it generated before that step.

TODO(uniscale): prefix caching is not modelled. Every ``generate`` call prefills its whole prompt,
so step-level beam search, which re-sends each path as a growing prompt, is charged a prefill per
level that engines with prefix reuse (vLLM's prefix cache, the llama.cpp engine's common-prefix
reuse) mostly skip. Counting it keeps the model engine-agnostic and errs on the dear side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["PrefillRecord", "DecodeRecord", "VerifyRecord", "TokenCount", "CostCounts"]


def check_count(op: str, name: str, value: object) -> int:
    """``value`` as a Python int when it is a non-negative integer count.

    Python and numpy integers are counts; bool (an int subclass that is almost always a mistake
    here), floats (even integral ones: a fractional token count is a caller's bug) and the rest
    raise TypeError, negative values ValueError, each naming ``op`` and ``name``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{op}: {name} must be a non-negative int, got {type(value).__name__} {value!r}"
        )
    count = int(value)
    if count < 0:
        raise ValueError(f"{op}: {name} must be >= 0, got {count}")
    return count


def _check_model(op: str, model: object) -> None:
    if not isinstance(model, str) or not model:
        raise TypeError(f"{op}: model must be a non-empty str, got {model!r}")


@dataclass(frozen=True)
class PrefillRecord:
    """One batched prefill of ``tokens`` prompt tokens (l_in) on ``model``."""

    model: str
    tokens: int

    def __post_init__(self) -> None:
        _check_model("PrefillRecord", self.model)
        # Stored as a Python int, so that numpy counts cannot overflow in the sums below.
        object.__setattr__(self, "tokens", check_count("PrefillRecord", "tokens", self.tokens))


@dataclass(frozen=True)
class DecodeRecord:
    """A run of ``steps`` decode steps on ``model``, summarised exactly for the eFLOPs model.

    The decode eFLOPs are linear in the number of steps, in the number of active branches b and in
    b·l, so three sums describe any run of steps without loss.

    Parameters
    ----------
    model : str
    steps : int
        Number of decode steps (forward passes of the batch).
    branch_tokens : int
        Σ over steps of the active branches b: the number of tokens generated.
    context_tokens : int
        Σ over steps of Σ over active branches of the context l: Σ b·l.
    """

    model: str
    steps: int
    branch_tokens: int
    context_tokens: int

    def __post_init__(self) -> None:
        op = "DecodeRecord"
        _check_model(op, self.model)
        for name in ("steps", "branch_tokens", "context_tokens"):
            object.__setattr__(self, name, check_count(op, name, getattr(self, name)))
        if self.branch_tokens < self.steps:
            raise ValueError(
                f"{op}: branch_tokens ({self.branch_tokens}) must be >= steps ({self.steps}); "
                "every step has at least one active branch"
            )

    @classmethod
    def uniform(
        cls, model: str, *, branches: int, mean_context: int, steps: int = 1
    ) -> DecodeRecord:
        """``steps`` steps, each with ``branches`` branches at mean context ``mean_context``."""
        op = "DecodeRecord.uniform"
        branches = check_count(op, "branches", branches)
        mean_context = check_count(op, "mean_context", mean_context)
        steps = check_count(op, "steps", steps)
        if branches == 0 and steps > 0:
            raise ValueError(f"{op}: branches must be >= 1 when steps > 0, got 0")
        return cls(model, steps, branches * steps, branches * mean_context * steps)

    @classmethod
    def from_lengths(
        cls, model: str, prompt_tokens: Sequence[int], completion_tokens: Sequence[int]
    ) -> DecodeRecord:
        """The decode of branches that start at ``prompt_tokens[i]`` and generate
        ``completion_tokens[i]`` tokens, all in one batch.

        Branch i is active at steps t = 0 … c_i − 1 with context p_i + t, so its share of Σ b·l is
        c_i·p_i + c_i·(c_i − 1)/2. The batch runs max_i c_i steps.
        """
        op = "DecodeRecord.from_lengths"
        if len(prompt_tokens) != len(completion_tokens):
            raise ValueError(
                f"{op}: prompt_tokens has {len(prompt_tokens)} branches, completion_tokens has "
                f"{len(completion_tokens)}; expected one length of each per branch"
            )
        steps = 0
        generated = 0
        context = 0
        for i, (p_raw, c_raw) in enumerate(zip(prompt_tokens, completion_tokens, strict=True)):
            p = check_count(op, f"prompt_tokens[{i}]", p_raw)
            c = check_count(op, f"completion_tokens[{i}]", c_raw)
            steps = max(steps, c)
            generated += c
            context += c * p + c * (c - 1) // 2
        return cls(model, steps, generated, context)


@dataclass(frozen=True)
class VerifyRecord:
    """One verifier batch (one tree level, or one call) that scored ``tokens`` tokens (Σl)."""

    model: str
    tokens: int

    def __post_init__(self) -> None:
        _check_model("VerifyRecord", self.model)
        object.__setattr__(self, "tokens", check_count("VerifyRecord", "tokens", self.tokens))


@dataclass(frozen=True)
class TokenCount:
    """Tokens one model read (prompt, or scored by a verifier) and wrote (completion)."""

    prompt: int = 0
    completion: int = 0

    def __post_init__(self) -> None:
        for name in ("prompt", "completion"):
            object.__setattr__(self, name, check_count("TokenCount", name, getattr(self, name)))

    @property
    def total(self) -> int:
        return self.prompt + self.completion


@dataclass
class CostCounts:
    """Everything a strategy run asked of its models, from which all three costs follow.

    Attributes
    ----------
    prefills : list of PrefillRecord
    decodes : list of DecodeRecord
    verifications : list of VerifyRecord
    generate_calls : int
        Number of engine ``generate`` calls.
    search_steps : int
        Strategy-level steps: tree levels expanded by beam search, 1 for one round of sampling.
    max_branches : int
        The most branches decoded together in one call (branches per step at its widest).
    """

    prefills: list[PrefillRecord] = field(default_factory=list)
    decodes: list[DecodeRecord] = field(default_factory=list)
    verifications: list[VerifyRecord] = field(default_factory=list)
    generate_calls: int = 0
    search_steps: int = 0
    max_branches: int = 0

    def __post_init__(self) -> None:
        for name in ("generate_calls", "search_steps", "max_branches"):
            setattr(self, name, check_count("CostCounts", name, getattr(self, name)))

    def record_generation(
        self,
        model: str,
        prompt_tokens: Sequence[int],
        completion_tokens: Sequence[Sequence[int]],
    ) -> None:
        """Record one ``generate`` call.

        Parameters
        ----------
        model : str
        prompt_tokens : sequence of int, length n_prompts
            Tokens of each distinct prompt (prefilled once even when sampled several times).
        completion_tokens : sequence of sequences of int, shape (n_prompts, n_samples_i)
            Tokens generated by each sample of each prompt.
        """
        op = "CostCounts.record_generation"
        _check_model(op, model)
        if len(prompt_tokens) != len(completion_tokens):
            raise ValueError(
                f"{op}: {len(prompt_tokens)} prompt lengths but {len(completion_tokens)} lists of "
                "completion lengths; expected one list per prompt"
            )
        prompts: list[int] = []
        branch_prompts: list[int] = []
        branch_completions: list[int] = []
        for i, (p_raw, samples) in enumerate(zip(prompt_tokens, completion_tokens, strict=True)):
            prompts.append(check_count(op, f"prompt_tokens[{i}]", p_raw))
            for j, c in enumerate(samples):
                branch_prompts.append(prompts[-1])
                branch_completions.append(check_count(op, f"completion_tokens[{i}][{j}]", c))
        # Build every record before touching self, so that bad input leaves the counts unchanged.
        prefill = PrefillRecord(model, sum(prompts))
        decode = DecodeRecord.from_lengths(model, branch_prompts, branch_completions)
        self.prefills.append(prefill)
        if decode.steps > 0:
            self.decodes.append(decode)
        self.generate_calls += 1
        self.max_branches = max(self.max_branches, len(branch_prompts))

    def record_verification(self, model: str, tokens: int) -> None:
        """Record one verifier batch that scored ``tokens`` tokens on ``model``."""
        op = "CostCounts.record_verification"
        _check_model(op, model)
        self.verifications.append(VerifyRecord(model, check_count(op, "tokens", tokens)))

    def merge(self, other: CostCounts) -> None:
        """Add ``other``'s records to these (``search_steps`` and ``max_branches`` take the max)."""
        if not isinstance(other, CostCounts):
            raise TypeError(f"CostCounts.merge: expected CostCounts, got {type(other).__name__}")
        self.prefills.extend(other.prefills)
        self.decodes.extend(other.decodes)
        self.verifications.extend(other.verifications)
        self.generate_calls += other.generate_calls
        self.search_steps = max(self.search_steps, other.search_steps)
        self.max_branches = max(self.max_branches, other.max_branches)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens prefilled by generating models."""
        return sum(r.tokens for r in self.prefills)

    @property
    def completion_tokens(self) -> int:
        """Tokens generated."""
        return sum(r.branch_tokens for r in self.decodes)

    @property
    def verifier_tokens(self) -> int:
        """Tokens scored by verifier models."""
        return sum(r.tokens for r in self.verifications)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.verifier_tokens

    @property
    def decode_steps(self) -> int:
        """Decode forward passes over all calls."""
        return sum(r.steps for r in self.decodes)

    @property
    def models(self) -> list[str]:
        """Every model named in the records, in first-seen order."""
        seen: dict[str, None] = {}
        for rec in (*self.prefills, *self.decodes, *self.verifications):
            seen.setdefault(rec.model, None)
        return list(seen)

    def tokens_by_model(self) -> dict[str, TokenCount]:
        """Prompt (or scored) and completion tokens per model."""
        prompt: dict[str, int] = {}
        completion: dict[str, int] = {}
        for rec in self.prefills:
            prompt[rec.model] = prompt.get(rec.model, 0) + rec.tokens
        for rec in self.verifications:
            prompt[rec.model] = prompt.get(rec.model, 0) + rec.tokens
        for rec in self.decodes:
            completion[rec.model] = completion.get(rec.model, 0) + rec.branch_tokens
        return {m: TokenCount(prompt.get(m, 0), completion.get(m, 0)) for m in self.models}

    @classmethod
    def concat(cls, parts: Iterable[CostCounts]) -> CostCounts:
        out = cls()
        for part in parts:
            out.merge(part)
        return out
