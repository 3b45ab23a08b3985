"""Argument checks shared by the public functions of :mod:`uniscale.answers`."""

from __future__ import annotations

__all__ = ["check_text"]


def check_text(operation: str, name: str, value: object, *, optional: bool = False) -> None:
    """TypeError naming ``operation`` and ``name`` unless ``value`` is a str (or None if optional).

    Checked at the public boundary so that a wrong argument is reported as the caller's mistake,
    not as an AttributeError from deep inside a regular expression or a string method.
    """
    if value is None and optional:
        return
    if not isinstance(value, str):
        expected = "str or None" if optional else "str"
        raise TypeError(f"{operation}: {name} must be {expected}, got {type(value).__name__}")
