"""Question-file loaders: the formats recognized, bad files, and the shipped example file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uniscale.runner.questions import Question, load_questions, parse_question

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_example_file_has_twenty_graded_questions() -> None:
    qs = load_questions(REPO / "examples" / "questions.jsonl")
    assert len(qs) == 20
    assert all(q.gold is not None and q.kind == "math" and q.source == "generic" for q in qs)
    assert len({q.id for q in qs}) == 20
    # Every gold answer is an integer: the file is meant for the small embedded models.
    assert all(q.gold is not None and q.gold.lstrip("-").isdigit() for q in qs)


def test_gsm8k_row_extracts_the_final_number() -> None:
    q = parse_question(
        {"question": "How many?", "answer": "2 + 2 = <<2+2=4>>4\nSo 1,000 + 4\n#### 1,004"},
        default_id="f:1",
    )
    assert (q.gold, q.kind, q.source, q.id) == ("1004", "math", "gsm8k", "f:1")


def test_math500_row() -> None:
    q = parse_question(
        {"problem": "Find x.", "answer": "\\frac{1}{2}", "unique_id": "test/algebra/1.json"},
        default_id="f:1",
    )
    assert (q.text, q.gold, q.kind, q.source, q.id) == (
        "Find x.",
        "\\frac{1}{2}",
        "math",
        "math500",
        "test/algebra/1.json",
    )


def test_date_row_and_kind_override() -> None:
    row = {"qid": 7, "question": "What is the date today in MM/DD/YYYY?", "gold": "05/01/2021"}
    q = parse_question(row, default_id="f:1")
    assert (q.id, q.gold, q.kind, q.source) == ("7", "05/01/2021", "date", "date")
    assert parse_question(row, default_id="f:1", kind="math").kind == "math"


def test_generic_rows_without_gold_and_with_kind(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "q.jsonl",
        [{"question": "a?"}, {"prompt": "b?", "gold": "", "kind": "number"}, {"question": "c?"}],
    )
    qs = load_questions(path, limit=2)
    assert [q.text for q in qs] == ["a?", "b?"]
    assert [q.gold for q in qs] == [None, None]
    assert [q.kind for q in qs] == ["math", "number"]
    assert [q.id for q in qs] == ["q:1", "q:2"]


def test_csv_with_header(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('Question,Gold\n"One, two?",3\nFour?,\n', encoding="utf-8")
    qs = load_questions(path)
    assert [(q.text, q.gold, q.id) for q in qs] == [
        ("One, two?", "3", "q:2"),
        ("Four?", None, "q:3"),
    ]


def test_json_list(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{"question": "x?", "answer": "5"}]), encoding="utf-8")
    assert load_questions(path)[0] == Question(id="q:1", text="x?", gold="5")


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ('{"question": "a"}\nnot json\n', ".jsonl", "line 2 is not valid JSON"),
        ('{"text": "a"}\n', ".jsonl", "no question field"),
        ('{"question": 5}\n', ".jsonl", "must be a string"),
        ('{"question": "a", "kind": "poem"}\n', ".jsonl", "kind must be one of"),
        ("[1, 2]", ".json", "must be a JSON object"),
        ('{"question": "a"}', ".json", "JSON list"),
        ("\n\n", ".jsonl", "holds no questions"),
        ("question\n", ".txt", "expected .jsonl"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, suffix: str, match: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_questions(path)


def test_bad_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.jsonl", [{"question": "a"}])
    with pytest.raises(ValueError, match="limit must be a positive integer, got 0"):
        load_questions(path, limit=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_questions(path, kind="essay")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_questions(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        Question(id="x", text="  ", gold=None)


def test_real_formats(shared_data: Path) -> None:
    gsm = load_questions(shared_data / "gsm8k" / "test.jsonl", limit=3)
    assert [q.gold for q in gsm] == ["18", "3", "70000"]
    assert {q.source for q in gsm} == {"gsm8k"}
    math = load_questions(shared_data / "math500" / "test.jsonl", limit=2)
    assert {q.source for q in math} == {"math500"}
    assert math[0].gold == "\\left( 3, \\frac{\\pi}{2} \\right)"
    date = load_questions(shared_data / "mot_cascade" / "queries_date.jsonl", limit=2)
    assert [(q.id, q.gold, q.kind) for q in date] == [
        ("0", "05/01/2021", "date"),
        ("1", "05/02/2021", "date"),
    ]


@pytest.mark.parametrize(
    ("content", "suffix", "where"),
    [
        ('{"question": "a"}\n{"question": "", "answer": "4"}\n', ".jsonl", "line 2"),
        ('{"question": "a"}\n\n{"question": "   "}\n', ".jsonl", "line 3"),
        ('[{"problem": "a"}, {"problem": ""}]', ".json", "item 2"),
        ("question,answer\nwhat?,1\n,2\n", ".csv", "line 3"),
    ],
)
def test_an_empty_question_is_named_with_file_and_line(
    tmp_path: Path, content: str, suffix: str, where: str
) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="is empty; expected the question text") as info:
        load_questions(path)
    message = str(info.value)
    assert f"{path} {where}:" in message
    assert "no question field" not in message and "got keys" not in message


def test_a_directory_is_not_a_question_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory; expected a question file"):
        load_questions(tmp_path)
