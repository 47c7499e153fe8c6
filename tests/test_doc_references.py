"""Every section a comment cites resolves inside the repo: ``§4.4`` means a heading of docs/method/posegen.md
(docs/method/poseanything.md in PoseAnything's files, or whichever page the line names); citations of a paper
(``PoseCrafter §4.3``, ``paper §4.3``) are left to the paper."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
METHOD = REPO / "docs" / "method"
PAPER_CONTEXT = re.compile(r"(PoseCrafter|Zhong et al\.,|paper|Eq\.)[^§]{0,12}$")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)?)|Appendix ([A-C])\b")
FORBIDDEN = ("the spec", "spec §", "posegen-model.md", "poseanything-model.md", "shared/spec", "../shared")


def tracked_sources() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.py", "*.js", "*.mjs", "*.sh", "*.md"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split()
    this = Path(__file__).resolve().relative_to(REPO).as_posix()  # its own list of forbidden phrases
    return [name for name in out if not name.startswith(("docs/method/", "tests/data/")) and name != this]


def headings(page: Path) -> set[str]:
    """Section numbers of a method page; in a section without subsections, its numbered items count as N.k."""
    found: set[str] = set()
    items: dict[str, set[str]] = {}
    section = None
    for line in page.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#{2,3} (Appendix [A-C]|\d+(?:\.\d+)?)[.:\s]", line + " ")
        if match:
            found.add(match.group(1).rstrip("."))
            section = match.group(1).rstrip(".") if line.startswith("## ") else None
        elif section and (item := re.match(r"(\d+)\. ", line)):
            items.setdefault(section, set()).add(f"{section}.{item.group(1)}")
    for section, numbered in items.items():
        if not any(f.startswith(f"{section}.") for f in found):
            found |= numbered
    return found


PAGES = {name: headings(METHOD / f"{name}.md") for name in ("posegen", "poseanything")}


def page_for(source: str, line: str) -> str:
    if "poseanything.md" in line:
        return "poseanything"
    if "posegen.md" in line:
        return "posegen"
    return "poseanything" if "poseanything" in source else "posegen"


def test_both_method_pages_exist_with_their_sections() -> None:
    for name, found in PAGES.items():
        assert {"1", "2", "3", "Appendix A"} <= found, f"docs/method/{name}.md lacks its main sections"


@pytest.mark.parametrize("source", tracked_sources())
def test_section_references_resolve(source: str) -> None:
    text = (REPO / source).read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        for phrase in FORBIDDEN:
            assert phrase not in line, f"{source}:{number} cites something outside the repo: {phrase!r}"
        for match in SECTION.finditer(line):
            if PAPER_CONTEXT.search(line[:match.start()]):
                continue
            section = match.group(1) or f"Appendix {match.group(2)}"
            page = page_for(source, line)
            assert section in PAGES[page], f"{source}:{number}: §{section} is not a section of docs/method/{page}.md"
