"""MkDocs hook: the parameter reference, generated from `conf/` at every build.

`docs/parameters.md` holds the marker `<!-- parameters -->`; this hook replaces it with one
table per `conf/base/parameters*.yml` file (and the GPU profile's overrides): every parameter's
dotted name, its default, what it may be (the training parameters' checks in
`pipelines/training/config.py`) and the comment above it in the YAML, which is where each
value is explained. So the page cannot fall behind the configuration.

    mkdocs build --strict      # mkdocs.yml: hooks: [tools/mkdocs_hooks.py]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "<!-- parameters -->"
ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w-]*):(?:\s+(?P<value>.*))?$")
INLINE_COMMENT = re.compile(r"\s+#\s.*$")


@dataclass
class Group:
    """Parameters that share one comment in the YAML (or a section's own comment)."""

    comment: list[str]
    names: list[str] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    section: bool = False


def parse_parameters(text: str, prefix: str = "") -> list[Group]:
    """The groups of a parameters YAML file, in file order, each with its comment lines."""
    groups: list[Group] = []
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    current: Group | None = None
    aside = False  # inside a "(...)" comment about the parameters just above
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if current is not None and (aside or (not pending and comment.startswith("("))):
                current.comment.append(comment)
                aside = not comment.rstrip(".").endswith(")")
                continue
            pending.append(comment)
            continue
        aside = False
        match = KEY.match(line)
        if not match:
            continue  # a list item or a continued value: part of the key above
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        name = ".".join([prefix, *[key for _, key in stack], match["key"]]).strip(".")
        raw = match["value"] or ""
        value = INLINE_COMMENT.sub("", raw).strip()
        inline = raw[len(INLINE_COMMENT.sub("", raw)) :].strip().lstrip("#").strip()
        if not value:  # a mapping: a section of its own
            stack.append((indent, match["key"]))
            groups.append(Group(pending, [name], [""], section=True))
            pending, current = [], None
            continue
        parent = name.rpartition(".")[0]
        if pending or current is None or current.names[-1].rpartition(".")[0] != parent:
            current = Group(pending)
            groups.append(current)
            pending = []
        current.names.append(name)
        current.defaults.append(value)
        if inline:
            current.comment.append(f"`{match['key']}`: {inline}")
    if pending:
        groups.append(Group(pending, section=True))
    return groups


def allowed_values(name: str) -> str:
    """What a parameter may be: the rule `kedro run` checks it by (`hooks/parameters.py`)."""
    if str(ROOT / "src") not in sys.path:  # this checkout's code, whatever is installed
        sys.path.insert(0, str(ROOT / "src"))
    from image_colourisation.hooks.parameters import rule_for  # noqa: PLC0415 (torch: slow)

    rule = rule_for(name)
    return rule.describe() if rule is not None else ""


def escape(text: str) -> str:
    """A table cell: pipes escaped so they do not split the cell."""
    return text.replace("|", "\\|")


def table(groups: list[Group]) -> str:
    """One markdown table of the groups: name, default, allowed values, meaning."""
    rows = ["| parameter | default | allowed | meaning |", "|---|---|---|---|"]
    for group in groups:
        meaning = escape(" ".join(group.comment))
        if group.section:
            label = f"**`{group.names[0]}`**" if group.names else "(note)"
            rows.append(f"| {label} | | | {meaning} |")
            continue
        names = "<br>".join(f"`{name}`" for name in group.names)
        defaults = "<br>".join(f"`{escape(value)}`" for value in group.defaults)
        allowed = "<br>".join(escape(allowed_values(name)) or "-" for name in group.names)
        rows.append(f"| {names} | {defaults} | {allowed} | {meaning} |")
    return "\n".join(rows)


def parameters_markdown(conf: Path = ROOT / "conf") -> str:
    """Every parameter file of `conf/base` (then the GPU profile) as a section with a table."""
    parts = []
    files = sorted((conf / "base").glob("parameters*.yml")) + sorted(
        (conf / "gpu").glob("parameters*.yml")
    )
    for path in files:
        groups = parse_parameters(path.read_text(encoding="utf-8"))
        if not any(group.names for group in groups):
            continue
        relative = path.relative_to(conf.parent).as_posix()
        title = "GPU profile (`kedro run --env gpu`)" if "gpu" in path.parts else relative
        parts.append(f"## {title}\n\nFrom `{relative}`.\n\n{table(groups)}\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs event: fill the marker of the parameters page."""
    if MARKER in markdown:
        return markdown.replace(MARKER, parameters_markdown())
    return markdown
