"""Nothing in the repository points at files outside it: README, docs, docstrings and comments cite the
project's own docs (docs/exactly-once.md, docs/service-layer.md), and every docs/*.md they cite exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "build", "dist"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".service", ".sysusers", ".example", ""}

#: The reference material this project was built from lives beside the repository, not in it.
OUTSIDE = re.compile(
    r"\.\./shared|shared/(?:docs|sl-payloads|sl-metadata)|/work/shared|sl-metadata/|SOURCES\.md"
)
#: A doc cited without its folder is one of the outside ones (ours are cited as docs/<name>.md).
BARE_DOC = re.compile(r"(?<![\w/.-])(?:service-layer|exactly-once|architecture)\.md")
CITED_DOC = re.compile(r"(?<![\w/.-])docs/([\w-]+\.md)")


def repository_text_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.stat().st_size < 1_000_000:
            found.append(path)
    return found


def test_nothing_cites_files_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    offenders = []
    for path in repository_text_files():
        if path == this:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) or BARE_DOC.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite docs/ in this repository instead:\n" + "\n".join(offenders)


def test_every_cited_doc_exists() -> None:
    cited = {
        (path.relative_to(ROOT), name)
        for path in repository_text_files()
        for name in CITED_DOC.findall(path.read_text(encoding="utf-8", errors="replace"))
    }
    assert cited, "the code cites docs/; this test must see those citations"
    missing = sorted(
        f"{where} cites docs/{name}" for where, name in cited if not (ROOT / "docs" / name).is_file()
    )
    assert not missing, missing
