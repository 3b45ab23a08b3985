"""Unit tests of uniscale.answers on hand-written replies (the real-data tests are beside)."""

from __future__ import annotations

import concurrent.futures
import functools
import logging

import pytest

from uniscale.answers import (
    canonical_key,
    equivalent,
    extract_answer,
    gold_from_gsm8k,
    grade,
    last_boxed,
    normalize_date,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"Thus $x = \boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (
            r"first \boxed{3}, then corrected: \boxed{\left(1, \frac{\pi}{2}\right)}",
            r"\left(1, \frac{\pi}{2}\right)",
        ),
        (r"\fbox{7} done", "7"),
        ("She sells 9 eggs.\n#### 1,000\n", "1000"),
        ("so...\n#### $18.", "18"),
        (r"#### \frac{3}{4}", r"\frac{3}{4}"),
        ("#### The total is 18 apples", "18"),
        (r"The final answer is $\frac{3}{4}$ cups.", r"\frac{3}{4}"),
        ("Answer: 42 apples", "42"),
        ("9 * 2 = 18\nA: 18", "18"),
        ("She makes 9 * $2 = $18 every day.", "18"),
        ("It takes 2 + 1/2 = 5/2 bolts", "5/2"),
        ("no numbers here", None),
    ],
)
def test_extract_math(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_last_boxed_unbalanced_falls_back_to_earlier_box() -> None:
    assert last_boxed(r"\boxed{5} and then \boxed{6") == "5"
    assert last_boxed("nothing boxed") is None


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("0.5", r"\frac{1}{2}", True),
        ("1/2", r"\dfrac12", True),
        (r"\frac{2}{4}", "0.5", True),
        ("1000", "1,000", True),
        (r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)", True),
        ("x^2 + 2x + 1", "(x+1)^2", True),
        ("0.33", r"\frac{1}{3}", False),
        ("19", "18", False),
        (None, "18", False),
        ("", "18", False),
    ],
)
def test_grade_math(predicted: str | None, gold: str, expected: bool) -> None:
    assert grade(predicted, gold) is expected


def test_grade_math_off_the_main_thread() -> None:
    """math-verify's signal timeouts cannot run in a worker; the thread must be detected."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        results = list(
            pool.map(
                lambda pair: grade(pair[0], pair[1]),
                [("0.5", r"\frac{1}{2}"), ("x^2+2x+1", "(x+1)^2"), ("3", "4")],
            )
        )
        key = pool.submit(canonical_key, r"\frac{4}{8}").result()
    assert results == [True, True, False]
    assert key == "1/2"


@pytest.mark.parametrize(
    ("answers", "same"),
    [
        (["0.5", r"\frac{1}{2}", "1/2", r"\dfrac{2}{4}"], True),
        (["1000", "1,000", "1000.0"], True),
        (["-3", "-3.0"], True),
        (["3", "-3"], False),
        (["1/3", "0.33"], False),
    ],
)
def test_canonical_key_math(answers: list[str], same: bool) -> None:
    keys = {canonical_key(answer) for answer in answers}
    assert (len(keys) == 1) is same
    assert None not in keys


def test_canonical_key_missing_and_unparseable() -> None:
    assert canonical_key(None) is None
    assert canonical_key("   ") is None
    # math-verify reads nothing in a bare "?": the answer still votes with its own spelling.
    assert canonical_key("?") == canonical_key(" ? ")


def test_equivalent_usable_as_canonical_ids_callable() -> None:
    same = functools.partial(equivalent, kind="math")
    assert same("0.5", r"\frac{1}{2}")
    assert same("x = 5", "5")  # math-verify reads an assignment as its value
    assert not same("5", "6")
    assert not same(None, "5")
    assert not same("5", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yesterday was 4/30/2021, so today is 05/01/2021.", "05/01/2021"),
        ("So the answer is May 1st, 2021.", "05/01/2021"),
        ("the 9th of Sept. 2021", "09/09/2021"),
        ("It is 1 May 2021", "05/01/2021"),
        ("ISO: 2021-05-01", "05/01/2021"),
        ("02/30/2021 is no date", None),
        ("13/01/2021 neither", None),
        ("I cannot tell the year.", None),
    ],
)
def test_extract_date(text: str, expected: str | None) -> None:
    assert extract_answer(text, "date") == expected


def test_grade_and_key_date() -> None:
    assert grade("5/1/2021", "05/01/2021", "date")
    assert grade("May 1, 2021", "05/01/2021", "date")
    assert not grade("05/02/2021", "05/01/2021", "date")
    assert not grade("04/26/YYYY", "04/26/2021", "date")
    assert canonical_key("5/1/2021", "date") == "05/01/2021"
    assert canonical_key("05/01/2021 or 05/02/2021", "date") is None
    assert normalize_date("Dec 31, 1999") == "12/31/1999"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is (C).", "C"),
        ("(A) looks right, but the answer is B", "B"),
        ("Answer: **D**", "D"),
        (r"\boxed{E}", "E"),
        ("b", "B"),
        ("I think the answer is a trick question", None),
        ("Options (A) and (B); I pick (B)", "B"),
        ("none of these", None),
    ],
)
def test_extract_choice(text: str, expected: str | None) -> None:
    assert extract_answer(text, "choice") == expected


def test_choice_key_and_grade() -> None:
    assert canonical_key("(b)", "choice") == "B"
    assert canonical_key("bee", "choice") is None
    assert grade("b", "B", "choice")
    assert not grade("C", "B", "choice")


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("18", "18", True),
        ("$1,250.00", "1250", True),
        ("7.00", "7", True),
        ("18.00005", "18", True),
        ("18.001", "18", False),
        ("5/2", "2.5", True),
        ("50%", "50", True),
        ("-54", "54", False),
        ("eighteen", "18", False),
    ],
)
def test_grade_number(predicted: str, gold: str, expected: bool) -> None:
    assert grade(predicted, gold, "number") is expected


def test_number_keys_vote_together() -> None:
    keys = [canonical_key(a, "number") for a in ("2.5", "5/2", "$2.50", "2.50000")]
    assert len(set(keys)) == 1 and keys[0] == "2.5"
    assert canonical_key("1,000", "number") == "1000"
    assert canonical_key("-0.00001", "number") == "0"
    assert canonical_key("n/a", "number") is None
    assert extract_answer("from 3-5 items", "number") == "5"
    assert extract_answer("a loss of -7.5 dollars", "number") == "-7.5"


def test_user_extractor() -> None:
    def last_word(text: str) -> str | None:
        words = text.split()
        return words[-1].strip(".").lower() if words else None

    assert extract_answer("The capital is Paris.", last_word) == "paris"
    assert extract_answer("", last_word) is None
    assert canonical_key("  new   york ", last_word) == "new york"
    assert grade("paris", "paris", last_word)
    assert not grade("paris", "rome", last_word)
    assert equivalent("a  b", "a b", last_word)

    with pytest.raises(TypeError, match=r"extract_answer: the extractor .* must return str"):
        extract_answer("text", lambda text: 3)


def test_gold_from_gsm8k() -> None:
    assert gold_from_gsm8k("9 * 2 = <<9*2=18>>18\n#### 18") == "18"
    assert gold_from_gsm8k("...\n#### 1,234\n") == "1234"
    assert gold_from_gsm8k("#### -3") == "-3"
    with pytest.raises(ValueError, match=r"gold_from_gsm8k: solution_text has no '#### <answer>'"):
        gold_from_gsm8k("The answer is 18.")
    with pytest.raises(TypeError, match=r"gold_from_gsm8k: solution_text must be str, got int"):
        gold_from_gsm8k(18)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"extract_answer: kind must be one of .* got 'latex'"):
        extract_answer("x", "latex")
    with pytest.raises(ValueError, match=r"grade: kind must be one of"):
        grade("1", "1", kind="Math")
    with pytest.raises(TypeError, match=r"extract_answer: text must be str, got NoneType"):
        extract_answer(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"grade: gold must be str, got int"):
        grade("1", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"grade: predicted must be str or None, got float"):
        grade(1.0, "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"grade: gold must be a non-empty answer"):
        grade("1", " ")
    with pytest.raises(TypeError, match=r"canonical_key: answer must be str or None, got int"):
        canonical_key(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"equivalent: b must be str or None, got list"):
        equivalent("1", ["1"], "math")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("function", "argument"), [(normalize_date, "answer"), (last_boxed, "text")]
)
@pytest.mark.parametrize("value", [None, 3, b"05/01/2021"])
def test_helpers_name_themselves_on_a_wrong_type(function, argument: str, value: object) -> None:
    got = type(value).__name__
    with pytest.raises(
        TypeError, match=rf"^{function.__name__}: {argument} must be str, got {got}$"
    ):
        function(value)


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("1e4301", "1", False),
        ("1", "1e5000", False),
        ("1e999999999", "1", False),  # would be a billion-digit integer if read as a Fraction
        ("1e4301", "1e4301", True),
        ("1e999999999", "10e999999998", True),  # same value, other spelling
        ("-1e999999999", "1e999999999", False),
        ("1e400", "1.0000000000001e400", True),  # past float's range: still the 1e-9 tolerance
        ("1e400", "2e400", False),
        ("1e-5000", "0", True),  # within ABS_TOL of 0
        ("1e999999999/1e999999998", "10", True),
        ("1e9999999999999999999999", "1", False),  # past decimal's own exponent range
        ("1.5e3", "1500", True),
    ],
)
def test_grade_number_with_huge_exponents(predicted: str, gold: str, expected: bool) -> None:
    assert grade(predicted, gold, kind="number") is expected
    assert grade(gold, predicted, kind="number") is expected


def test_number_keys_of_huge_and_tiny_values() -> None:
    assert canonical_key("1e4301", "number") == canonical_key("10e4300", "number") == "1E+4301"
    assert canonical_key("1e999999999", "number") == "1E+999999999"
    assert canonical_key("-1e-5000", "number") == "0"
    assert canonical_key("1e1000", "number") == "1" + "0" * 1000  # exact up to 10**1000
    assert canonical_key("1e400/3", "number") == "3" * 400 + ".3333"  # no float overflow
    assert canonical_key("1e9999999999999999999999", "number") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\boxed{\frac{1}{2}", r"\frac{1}{2}"),  # closing brace missing: best effort
        (r"so $x = \boxed{\frac{1}{2}$. Done", r"\frac{1}{2}"),  # read up to the end of the math
        (r"\boxed{5} and then \boxed{6", "6"),  # the last box decides, even unclosed
        (r"\boxed{\frac{1}{", None),  # cut inside the box: no number picked out of it
        (r"first \boxed{5}, then \boxed{\frac{1}{", "5"),  # ... but an earlier closed box counts
    ],
)
def test_extract_math_unclosed_box(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize("kind", ["math", "number"])
def test_scientific_notation_is_one_number(kind: str) -> None:
    assert extract_answer("1e999999", kind) == "1e999999"
    assert extract_answer("so x = 2.5E-3 m", kind) == "2.5E-3"
    assert extract_answer("a rate of 3e\u22122 per day", kind) == "3e-2"
    assert extract_answer("Step 2e: add 5", kind) == "5"  # no digits after "e": not an exponent
    assert grade(extract_answer("about 1.5e3 people", kind), "1500", kind)
    assert not grade("2e3", "1500", kind)


@pytest.mark.parametrize(
    "huge",
    [
        r"\boxed{9^{9^{9}}}",
        "9^{9^{9}}",
        "10^{10^{10}}",
        "10^{-10^{10}}",
        "9^99999999",
        "(x+1)^{100000}",
        "x^{10^{9}}",
        "2^{2^{2^{2^{2}}}}",
        "1000000!",
        "(10^{9})!",
    ],
)
def test_huge_powers_are_ungradable_without_calling_math_verify(
    huge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import math_verify

    def refuse(*args: object, **kwargs: object) -> bool:
        raise AssertionError("math_verify.verify must not see an ungradable answer")

    monkeypatch.setattr(math_verify, "verify", refuse)
    assert grade(huge, "1") is False
    assert grade("1", huge) is False
    assert grade(huge, huge) is True  # the same spelling is still the same answer
    assert canonical_key(huge) == "".join(huge.split())


@pytest.mark.parametrize(
    "fine", ["2^{1024}", "10^{5000}", "e^{-x^2}", "(x+1)^{1000}", "x^{n}", "(n+1)!"]
)
def test_ordinary_powers_still_reach_math_verify(fine: str) -> None:
    assert grade(fine, fine.replace("^", " ^ ")) is True
    assert canonical_key(fine) != "".join(fine.split())  # math-verify's form, not the text


def test_math_verify_logs_nothing_from_our_calls(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import math_verify.grader
    import math_verify.parser

    # math-verify warns once per process that its timeouts are off; make it due again.
    monkeypatch.setattr(math_verify.parser, "TIMEOUT_WARNING_SHOWN", False)
    monkeypatch.setattr(math_verify.grader, "TIMEOUT_WARNING_SHOWN", False)
    caplog.set_level(logging.DEBUG)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # off the main thread: no timeouts
        # answers used nowhere else (parses are cached) whose keys differ, so verify runs too
        assert pool.submit(grade, "(y+3)^2", "y^2 + 6y + 9").result() is True
    # the warning was issued (parse and verify each keep a flag) ...
    assert math_verify.parser.TIMEOUT_WARNING_SHOWN and math_verify.grader.TIMEOUT_WARNING_SHOWN
    assert not [r for r in caplog.records if r.name.startswith("math_verify")]  # ... and dropped
    assert any("timeout" in r.getMessage().lower() for r in caplog.records)  # kept at DEBUG

    # Other code calling math-verify directly still gets its warnings.
    monkeypatch.setattr(math_verify.parser, "TIMEOUT_WARNING_SHOWN", False)
    caplog.clear()
    math_verify.parse("1", parsing_timeout=None)
    assert [r for r in caplog.records if r.name == "math_verify.parser"]
