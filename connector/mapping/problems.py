"""One problem in a mapping file, told the way a consultant fixes it: FILE:LINE: KEY PATH: what — fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """What is wrong (``message``) where (``file``, ``line``, dotted ``key``) and how to fix it (``fix``)."""

    file: str
    line: int | None
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" {self.key}:" if self.key else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{where}:{key} {self.message}{fix}"


def format_problems(problems: Iterable[Problem]) -> str:
    """One line per problem, sorted by file and line, with a count at the end (for the CLI)."""
    ordered = sorted(problems, key=lambda p: (p.file, p.line or 0, p.key))
    if not ordered:
        return "OK: no problems found."
    lines = [str(p) for p in ordered]
    lines.append(f"{len(ordered)} problem{'s' if len(ordered) != 1 else ''} found.")
    return "\n".join(lines)
