"""Parse: split front matter from the body and keep the file line of every key."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sitegen.content.load import SourceFile
from sitegen.content.markdown import MarkdownRenderer, RenderedMarkdown
from sitegen.errors import ErrorList, SiteError

if TYPE_CHECKING:
    import yaml


@functools.cache
def _loader() -> Any:
    """Safe YAML (libyaml's, part of every PyYAML wheel), except that an impossible date
    (2020-02-30) stays text for fields.py to report at its key, instead of failing the whole
    front matter. Imported when first needed: an edit to a body alone needs no YAML."""
    try:
        from yaml import CSafeLoader as SafeLoader
    except ImportError:  # pragma: no cover
        from yaml import SafeLoader  # type: ignore[assignment]

    class Loader(SafeLoader):
        pass

    def timestamp_or_text(loader: SafeLoader, node: yaml.ScalarNode) -> Any:
        try:
            return loader.construct_yaml_timestamp(node)
        except ValueError:
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp_or_text)
    return Loader


_FENCE = re.compile(r"^---[ \t]*$")
# C0 controls other than tab, newline and carriage return: invisible, and invalid in XML.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class ParsedDoc:
    """Front matter and Markdown body of one source, with file lines for errors."""

    source: SourceFile
    meta: dict[str, Any]
    lines: dict[Location, int]  # ("related", 0, "url") -> line in the file
    start_line: int  # line of the opening '---'
    body_line: int  # line in the file of the body's first line
    markdown: RenderedMarkdown
    front_matter: bytes  # digest of the front matter's text (what `meta` is made from)
    # The front matter checked against its kind's fields: (values, errors); see model.check_fields.
    checked: tuple[dict[str, Any], tuple[SiteError, ...]] | None = None

    @property
    def body(self) -> str:
        """The Markdown body, cut from the source again rather than kept (and cached) twice."""
        text = self.source.data.decode("utf-8-sig")
        return "\n".join(normalize_newlines(text).split("\n")[self.body_line - 1 :])

    def line_of(self, target: str) -> int:
        """File line where the body first mentions `target` (a link's URL)."""
        try:
            body = self.body
        except OSError:  # changed or gone since it was parsed: the body's first line
            return self.body_line
        for number, line in enumerate(body.split("\n")):
            if target in line:
                return self.body_line + number
        return self.body_line


def decode(source: SourceFile, errors: ErrorList) -> str | None:
    """The text of a source: UTF-8 (a BOM is fine), newlines normalized."""
    try:
        data = source.data
    except OSError as exc:  # an unchanged source that changed after all (UnchangedSource)
        errors.add(source.path, 0, "", str(exc.strerror or exc))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.add(source.path, line, "", f"file is not valid UTF-8 (byte {exc.start})")
        return None
    if match := CONTROL_CHARACTER.search(text):
        errors.add(
            source.path,
            text[: match.start()].count("\n") + 1,
            "",
            f"file contains the invisible control character U+{ord(match.group()):04X}; remove it",
        )
        return None
    return normalize_newlines(text)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _node_lines(
    node: yaml.Node,
    offset: int,
    at: Location,
    out: dict[Location, int],
    seen: set[int],
    duplicates: list[tuple[str, int]],
) -> None:
    """Record the file line of every mapping key and sequence item under `node`.

    A node reached again through a YAML alias is not walked again, so a few lines of
    aliases cannot make this visit billions of nodes.
    """
    import yaml

    if len(at) > 4 or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if (*at, key.value) in out and not at:
                    duplicates.append((key.value, key.start_mark.line + offset))
                out.setdefault((*at, key.value), key.start_mark.line + offset)
                _node_lines(value, offset, (*at, key.value), out, seen, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*at, index)] = item.start_mark.line + offset
            _node_lines(item, offset, (*at, index), out, seen, duplicates)


def parse_source(
    source: SourceFile, renderer: MarkdownRenderer, errors: ErrorList, known: bytes = b""
) -> ParsedDoc | None:
    """Front matter (YAML between '---' lines at the top) and rendered body of a source.

    `known`: the digest of front matter read before; when the source's is the same, the
    YAML is not read again (the document's `meta` and `lines` are left empty)."""
    text = decode(source, errors)
    if text is None:
        return None
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        errors.add(source.path, 1, "", "file is empty; it needs front matter between '---' lines")
        return None
    if not _FENCE.match(lines[start]):
        errors.add(
            source.path, start + 1, "", "no front matter: the file must start with a '---' line"
        )
        return None
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        errors.add(
            source.path, start + 1, "", "front matter is never closed: add a '---' line after it"
        )
        return None
    yaml_text = "\n".join(lines[start + 1 : end])
    front_matter = hashlib.blake2b(yaml_text.encode("utf-8", "surrogatepass")).digest()
    offset = start + 2  # file line of the YAML's first line
    meta: dict[str, Any] | None = {}
    key_lines: dict[Location, int] = {}
    if front_matter != known:
        meta, key_lines = _load_yaml(yaml_text, offset, source.path, errors)
    if meta is None:
        return None
    body = "\n".join(lines[end + 1 :])
    try:
        markdown = renderer.render(body, source.path)
    except RecursionError:
        errors.add(source.path, end + 2, "", "the Markdown is nested too deeply to render")
        return None
    return ParsedDoc(
        source=source,
        meta=meta,
        lines=key_lines,
        start_line=start + 1,
        body_line=end + 2,
        markdown=markdown,
        front_matter=front_matter,
    )


def _load_yaml(
    text: str, offset: int, path: str, errors: ErrorList
) -> tuple[dict[str, Any] | None, dict[Location, int]]:
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = offset + (mark.line if mark else 0)
        tab = _tab_line(text, mark.line if mark else 0, exc.problem or "")
        if tab is not None:  # PyYAML's own words ("cannot start any token") hide the cause
            errors.add(
                path,
                offset + tab,
                "",
                "a tab in the front matter: YAML needs spaces, not tabs, "
                "to indent and to separate; replace the tab with spaces",
            )
            return None, {}
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            problem += f" ({exc.context} at line {offset + exc.context_mark.line})"
        errors.add(path, line, "", f"invalid YAML in front matter: {problem}")
        return None, {}
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        errors.add(path, offset, "", f"invalid YAML in front matter: {exc}")
        return None, {}
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.add(path, offset, "", "front matter must be 'key: value' lines")
        return None, {}
    key_lines: dict[Location, int] = {}
    duplicates: list[tuple[str, int]] = []
    if node is not None:
        _node_lines(node, offset, (), key_lines, set(), duplicates)
    for key, line in duplicates:
        first = key_lines[(key,)]
        errors.add(path, line, key, f"appears twice (first at line {first}); keep one")
    if duplicates:
        return None, {}
    return {str(key): value for key, value in data.items()}, key_lines


def _tab_line(text: str, near: int, problem: str) -> int | None:
    """The line (from 0) of the tab that broke the YAML, or None when a tab is not the cause."""
    lines = text.split("\n")
    if 0 <= near < len(lines) and "\t" in lines[near]:
        return near
    if "\\t" not in problem and "\t" not in problem:
        return None
    return next((number for number, line in enumerate(lines) if "\t" in line), None)
