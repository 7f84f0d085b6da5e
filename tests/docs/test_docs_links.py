"""README.md is the front door: at most 250 lines, and every relative link and image in it resolves.

The same holds for the documentation pages (docs/**/*.md, the tutorials and the API pages):
every relative link or image names an existing file, and a link to a heading (``page.md#anchor``)
names a heading of that page, with the anchor GitHub and the site (MyST's ``heading_anchors``)
both derive from its text. Plain text parsing, no Sphinx: the strict site build (``.ci/run``)
checks the cross-references that need it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts and "jupyter_execute" not in p.parts)

MAX_README_LINES = 250

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target "title"); the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SLUG_DROP = re.compile(r"[^\w\- ]")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, inline code spans removed."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(INLINE_CODE.sub("", line))
    return out


def links(path: Path) -> list[str]:
    """Every link and image target of a Markdown file, outside code."""
    return [m.group(1) for line in _prose_lines(path.read_text(encoding="utf-8")) for m in LINK.finditer(line)]


def slug(title: str) -> str:
    """A heading's anchor as GitHub and MyST derive it: lower case, punctuation dropped, spaces to hyphens."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading keeps its text
    return SLUG_DROP.sub("", title.strip().lower().replace("`", "")).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (code spans kept as text, as GitHub does)."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        m = HEADING.match(line)
        if m and not fenced:
            found.add(slug(m.group(2)))
    return found


def broken(path: Path) -> list[str]:
    """The relative links of a file that name no existing file, or no heading of the page they name."""
    bad = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...: not checked (no network)
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading with that anchor in {dest.name}")
    return bad


def test_readme_is_at_most_250_lines():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; the front door keeps to {MAX_README_LINES} (move detail into docs/)"


def test_readme_links_and_images_resolve():
    assert links(README), "no links found in README.md: the parser is broken"
    assert broken(README) == []


def test_readme_test_command_is_pytest():
    """CI's last stage runs README's test command, exactly: pytest."""
    text = README.read_text(encoding="utf-8")
    assert re.search(r"^pytest\s+#", text, re.M), "README's quick start must give the test command `pytest`"
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().splitlines()[-1] == "pytest"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_docs_links_resolve(page):
    assert broken(page) == []


def test_the_checker_catches_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## Some `code` here\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md) [ok](a.md#some-code-here) ![img](missing.png) [bad](a.md#nothing)\n"
        "`[not a link](nowhere.md)`\n```\n[in code](nowhere.md)\n```\n[web](https://example.org/x)\n",
        encoding="utf-8",
    )
    assert broken(page) == ["missing.png: no such file", "a.md#nothing: no heading with that anchor in a.md"]
