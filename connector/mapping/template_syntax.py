"""The tokenizer and parser of mapping templates: text and ``{placeholders}``, never Python.

``parse_template`` turns ``"{DocumentNumber}-{left(ItemNo, 8):>8}"`` into text parts and
placeholders (an expression plus an optional format spec). The grammar is deliberately tiny:
a field name, a function call, a whole number or a single-quoted text. There is no attribute or
index access, so ``{x.__class__}`` or ``{x[0]}`` is a syntax error, not a lookup.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?[0-9]+")


class TemplateError(ValueError):
    """A template cannot be parsed or rendered; the message names the template and the problem."""


@dataclass(frozen=True)
class Text:
    """Literal text between placeholders (``{{``/``}}`` already unescaped)."""

    text: str


@dataclass(frozen=True)
class Field:
    """A field reference: ``DocumentNumber``, ``U_Line``, ``today``."""

    name: str


@dataclass(frozen=True)
class Literal:
    """A whole number or a single-quoted text used as a function argument."""

    value: str | int


@dataclass(frozen=True)
class Call:
    """A function call: ``left(ItemNo, 8)``."""

    function: str
    args: tuple[Node, ...]


Node = Field | Literal | Call


@dataclass(frozen=True)
class Placeholder:
    """One ``{expr}`` or ``{expr:spec}``."""

    expr: Node
    spec: str | None


class _Parser:
    """Reads one placeholder's expression: NAME | NAME '(' arg {',' arg} ')' | INT | 'text'."""

    def __init__(self, source: str, template: str) -> None:
        self.source = source
        self.template = template
        self.pos = 0

    def fail(self, what: str) -> TemplateError:
        return TemplateError(f"template {self.template!r}: {what} in {{{self.source}}}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos] == " ":
            self.pos += 1

    def parse(self) -> Node:
        node = self.expr()
        self.skip_spaces()
        if self.pos != len(self.source):
            rest = self.source[self.pos :]
            if rest.startswith((".", "[")):
                raise self.fail(f"attribute or index access ({rest!r}) is not allowed")
            raise self.fail(f"unexpected {rest!r}")
        return node

    def expr(self) -> Node:
        self.skip_spaces()
        if self.pos >= len(self.source):
            raise self.fail("a field name is missing")
        char = self.source[self.pos]
        if char == "'":
            return self.quoted()
        match = _INT.match(self.source, self.pos)
        if match:
            self.pos = match.end()
            return Literal(int(match.group()))
        match = _NAME.match(self.source, self.pos)
        if not match:
            raise self.fail(f"unexpected {self.source[self.pos :]!r} (expected a field name)")
        self.pos = match.end()
        self.skip_spaces()
        if self.pos < len(self.source) and self.source[self.pos] == "(":
            self.pos += 1
            return Call(match.group(), self.arguments())
        return Field(match.group())

    def arguments(self) -> tuple[Node, ...]:
        args: list[Node] = []
        self.skip_spaces()
        if self.source[self.pos : self.pos + 1] == ")":
            self.pos += 1
            return ()
        while True:
            args.append(self.expr())
            self.skip_spaces()
            nxt = self.source[self.pos : self.pos + 1]
            self.pos += 1
            if nxt == ")":
                return tuple(args)
            if nxt != ",":
                raise self.fail("a ')' is missing")

    def quoted(self) -> Literal:
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.source):
            char = self.source[self.pos]
            self.pos += 1
            if char == "'":
                if self.source[self.pos : self.pos + 1] == "'":
                    out.append("'")
                    self.pos += 1
                    continue
                return Literal("".join(out))
            out.append(char)
        raise self.fail("a closing quote is missing")


def _split_placeholder(body: str) -> tuple[str, str | None]:
    """Split ``expr:spec`` at the first colon outside quotes and parentheses."""
    depth = 0
    quoted = False
    for index, char in enumerate(body):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ":":
            return body[:index], body[index + 1 :]
    return body, None


def parse_template(template: str) -> list[Text | Placeholder]:
    """Tokenize a template into text and placeholders; raise :class:`TemplateError` on bad syntax."""
    return list(_parse_once(template))


@functools.lru_cache(maxsize=1024)
def _parse_once(template: str) -> tuple[Text | Placeholder, ...]:
    # A mapping has a handful of templates, rendered for every receipt: each is parsed once per
    # process (the parts are frozen; a syntax error is not cached and raises every time).
    return tuple(_parse(template))


def _parse(template: str) -> list[Text | Placeholder]:
    parts: list[Text | Placeholder] = []
    text: list[str] = []
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char in "{}" and template[pos + 1 : pos + 2] == char:
            text.append(char)
            pos += 2
            continue
        if char == "}":
            raise TemplateError(
                f"template {template!r}: a single '}}' at position {pos + 1}; "
                "write '}}' for a literal brace"
            )
        if char != "{":
            text.append(char)
            pos += 1
            continue
        end = template.find("}", pos + 1)
        nested = template.find("{", pos + 1)
        if end == -1 or (nested != -1 and nested < end):
            raise TemplateError(
                f"template {template!r}: the '{{' at position {pos + 1} is not closed; "
                "write '{{' for a literal brace"
            )
        if text:
            parts.append(Text("".join(text)))
            text = []
        body = template[pos + 1 : end]
        source, spec = _split_placeholder(body)
        parts.append(Placeholder(_Parser(source.strip(), template).parse(), spec))
        pos = end + 1
    if text:
        parts.append(Text("".join(text)))
    return parts


def walk(node: Node) -> list[Node]:
    """The node and, for a call, every node inside its arguments (depth first)."""
    if isinstance(node, Call):
        return [node, *(inner for arg in node.args for inner in walk(arg))]
    return [node]
