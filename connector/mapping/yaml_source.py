"""Reading a mapping YAML file safely while remembering the line of every key.

The file is composed into a node tree first (``yaml.compose`` with our SafeLoader subclass), so
every key path maps to its line before anything is constructed; only then are plain Python values
built (str, int, float, bool, None, lists, dicts — nothing else can come out of it).

Anchors and aliases (``&name`` / ``*name``) are refused while composing: an alias makes the tree a
graph, so a few lines of aliases of aliases ("billion laughs") expand to gigabytes when walked or
built, and an alias inside its own anchor is a cycle. Numbers that are not finite (``.inf``,
``.nan``, ``1e999``) are refused too: no setting means infinity, and JSON cannot carry them to SAP.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from connector.mapping.problems import Problem

KeyPath = tuple[str, ...]

_STD = "tag:yaml.org,2002:"
#: Tags a mapping file may carry (implicit or written as ``!!str`` etc.). Everything else — above
#: all ``!!python/object`` and custom ``!tags`` — is refused before any value is built.
SAFE_TAGS = frozenset(_STD + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))


class MappingYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps.

    PyYAML follows YAML 1.1, where ``off``, ``no``, ``yes``, ``on`` are booleans: ``mode: off``
    would silently become ``False``. Editors (yaml-language-server, which reads schema.json) use
    YAML 1.2, where only true/false are booleans and dates are text. Keeping the two in step means
    what the editor accepts is what the connector reads.
    """


class AnchorRefused(yaml.composer.ComposerError):
    """An anchor or alias in a mapping file (refused before the node graph can grow)."""


def _refuse_anchors(loader: yaml.SafeLoader, parent: Node | None, index: Any) -> Node | None:
    event = loader.peek_event()  # type: ignore[no-untyped-call]  # PyYAML's parser is untyped
    if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
        sign = "*" if isinstance(event, AliasEvent) else "&"
        mark = event.start_mark if isinstance(event.start_mark, yaml.error.Mark) else None
        raise AnchorRefused(problem=f"{sign}{event.anchor}", problem_mark=mark)
    return yaml.SafeLoader.compose_node(loader, parent, index)


MappingYamlLoader.compose_node = _refuse_anchors  # type: ignore[assignment,method-assign]

MappingYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_STD + "bool", _STD + "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
MappingYamlLoader.add_implicit_resolver(
    _STD + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class YamlDocument:
    """The constructed data plus, for each key path, its line (1-based) and value node."""

    file: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    nodes: dict[KeyPath, Node] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest enclosing key that exists in the file."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _yaml_error(file: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    if "\t" in problem or "'\\t'" in problem:
        return Problem(
            file,
            line,
            "",
            "a tab character is used for indentation",
            "indent with spaces only (2 per level), never tabs",
        )
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    return Problem(
        file, line, "", message, "check the indentation and that every 'key: value' has a space after ':'"
    )


def _anchor_problem(file: str, exc: AnchorRefused) -> Problem:
    mark = exc.problem_mark
    return Problem(
        file,
        mark.line + 1 if mark is not None else None,
        "",
        f"YAML anchors (&name) and aliases (*name) are not allowed, found '{exc.problem}'",
        "write the value out in full wherever it is used (remove every '&name' and '*name')",
    )


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _is_finite(node: ScalarNode) -> bool:
    try:
        return math.isfinite(MappingYamlLoader.construct_yaml_float(yaml.SafeLoader(""), node))
    except ValueError:
        return True  # not a number after all: the schema says what is wrong with it


def _walk(doc: YamlDocument, node: Node, path: KeyPath) -> bool:
    """Record lines and nodes; report refused tags and keys. False = ``node`` must not be built.

    A refused value is cut out of the tree (with its key, or with the list holding it), so the
    rest of the file is still built and validated: the consultant gets every problem in one run.
    """
    if node.tag not in SAFE_TAGS:
        doc.problems.append(
            Problem(
                doc.file,
                node.start_mark.line + 1,
                ".".join(path),
                f"YAML tag {_short_tag(node.tag)!r} is not allowed",
                "write plain values only (text, numbers, true/false, lists, key: value); remove the '!' tag",
            )
        )
        return False
    if node.tag == _STD + "float" and isinstance(node, ScalarNode) and not _is_finite(node):
        doc.problems.append(
            Problem(
                doc.file,
                node.start_mark.line + 1,
                ".".join(path),
                f"{node.value!r} is not a finite number",
                "write an ordinary number, e.g. 0.5 (infinity and NaN are not allowed)",
            )
        )
        return False
    doc.nodes[path] = node
    if isinstance(node, SequenceNode):
        results = []
        for index, item in enumerate(node.value):
            doc.lines.setdefault((*path, str(index)), item.start_mark.line + 1)
            results.append(_walk(doc, item, (*path, str(index))))
        return all(results)
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        kept: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag not in SAFE_TAGS | {_STD + "merge"}:
                doc.problems.append(
                    Problem(
                        doc.file,
                        line,
                        ".".join(path),
                        "a key must be a plain word",
                        "write keys as plain text, e.g. warehouse:",
                    )
                )
                continue
            if key_node.tag == _STD + "merge":
                doc.problems.append(
                    Problem(
                        doc.file,
                        line,
                        ".".join(path),
                        "YAML merge keys (<<) are not supported",
                        "write the keys out in full",
                    )
                )
                kept.append((key_node, value_node))
                continue
            key = key_node.value
            if key in seen:
                doc.problems.append(
                    Problem(
                        doc.file,
                        line,
                        ".".join((*path, key)),
                        f"duplicate key (also on line {seen[key]})",
                        f"keep only one '{key}:' in this section (lines {seen[key]} and {line})",
                    )
                )
                # Go on with the later one: like safe_load, the last occurrence is the value that counts.
            seen[key] = line
            doc.lines[(*path, key)] = line
            if _walk(doc, value_node, (*path, key)):
                kept.append((key_node, value_node))
        node.value = kept
    return True


def read_yaml(path: Path, *, display: str | None = None) -> YamlDocument:
    """Read ``path``; problems (syntax, tags, duplicates, empty, not a mapping) are collected, not raised."""
    doc = YamlDocument(display or str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        doc.problems.append(
            Problem(
                doc.file,
                None,
                "",
                f"cannot read the file ({exc.__class__.__name__}: {exc})",
                "check the path in B1_MAPPING and that the file is saved as UTF-8",
            )
        )
        return doc
    loader = MappingYamlLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            doc.problems.append(
                Problem(
                    doc.file,
                    1,
                    "",
                    "the file is empty",
                    "start from a copy of mappings/default.yaml (at least 'version: 1')",
                )
            )
            return doc
        if not isinstance(root, MappingNode):
            doc.problems.append(
                Problem(
                    doc.file,
                    root.start_mark.line + 1,
                    "",
                    "the top level must be 'key: value' sections (this file is a list or a single value)",
                    "start from a copy of mappings/default.yaml",
                )
            )
            return doc
        if _walk(doc, root, ()):
            # Refused values were cut out and duplicate keys keep the last one (as safe_load does),
            # so the rest of the file is still validated and every problem is reported at once.
            doc.data = loader.construct_document(root)
    except AnchorRefused as exc:
        doc.problems.append(_anchor_problem(doc.file, exc))
    except yaml.YAMLError as exc:
        doc.problems.append(_yaml_error(doc.file, exc))
    finally:
        loader.dispose()
    return doc
