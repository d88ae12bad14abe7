"""The documentation site: every public name has its API entry, the API page is the generated
one, the README is a landing page, and the FAQ's blocks print what they say.

The site itself is built by CI with warnings as errors (``.ci/run``); the build is not repeated
here, to keep the suite short.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import jaxlr

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def every_public_object() -> dict[str, object]:
    """Found here without docs/make_api.py: jaxlr.__all__, and the __all__ of every public
    module (no private part in its path); a module's name re-exported by jaxlr counts once."""
    found = {f"jaxlr.{n}": getattr(jaxlr, n) for n in jaxlr.__all__}
    for info in pkgutil.walk_packages(jaxlr.__path__, "jaxlr."):
        if info.ispkg or any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for n in getattr(module, "__all__", ()):
            obj = getattr(module, n)
            if not any(obj is other for other in found.values()):
                found[f"{info.name}.{n}"] = obj
    return found


def documented() -> set[str]:
    """The dotted names api.md documents: autosummary entries (short names under an
    automodule), and py:data entries."""
    names, module = set(), "jaxlr"
    for line in (DOCS / "api.md").read_text().splitlines():
        if line.startswith(".. automodule:: "):
            module = line.split(":: ", 1)[1].strip()
        elif line.startswith(".. py:data:: "):
            names.add(line.split(":: ", 1)[1].strip())
        elif re.fullmatch(r"   [A-Za-z_][\w.]*", line):
            entry = line.strip()
            names.add(entry if entry.startswith("jaxlr.") else f"{module}.{entry}")
    return names


def test_every_public_name_has_an_api_entry():
    public = every_public_object()
    assert len(public) >= 80 and "jaxlr.compat.torch.OneCycleLR" in public and "jaxlr.lr_find" in public
    missing = sorted(set(public) - documented())
    assert not missing, f"no API entry (run python docs/make_api.py): {missing}"
    # and every documented function or class says what it does
    for name, obj in public.items():
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), name


def test_the_api_page_is_the_generated_one():
    sys.path.insert(0, str(DOCS))
    try:
        import make_api
    finally:
        sys.path.pop(0)
    assert (DOCS / "api.md").read_text() == make_api.render(), "run python docs/make_api.py"


def test_the_readme_is_a_landing_page_that_links_every_guide_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme) <= 12_000
    index = (DOCS / "index.md").read_text()
    pages = re.findall(r"(?m)^([a-z_]+)$", index)
    assert {"getting_started", "schedules", "porting", "lr_finder", "api", "faq"} <= set(pages)
    for page in pages:
        assert (DOCS / f"{page}.md").exists(), page
        if page != "lr_find_grid_results":
            assert f"(docs/{page}.md)" in readme, page
    # The setup and the quick start are on the site too, included from the README, not copied.
    assert '```{include} ../README.md\n:start-after: "## Set up"' in (DOCS / "getting_started.md").read_text()


def test_faq_blocks_run_and_print_what_they_say(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "faq.md").read_text(), flags=re.DOTALL)
    printed = []
    for block in blocks:
        exec(compile(block, "docs/faq.md", "exec"), {"__name__": "__faq__"})
        printed.append(capsys.readouterr().out.splitlines())
    current, compiles, sweep, epochs = printed
    assert current[0] == current[1] and float(current[0]) > 0
    assert compiles == ["1"]
    assert sweep == ["(3, 4)"]
    assert epochs == ["[0.01, 0.01]"]


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_pages_link_only_to_what_exists(page):
    text = (DOCS / page).read_text()
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", text):
        if target.startswith(("http://", "https://")):
            continue
        assert (DOCS / target).resolve().exists(), f"{page}: {target}"
