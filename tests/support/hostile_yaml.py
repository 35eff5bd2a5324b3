"""Hostile YAML for the mapping loader's tests."""

from __future__ import annotations


def billion_laughs(levels: int) -> str:
    """``levels`` levels of 9 aliases each: 9**levels strings once expanded (9 levels: 387 million)."""
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"
