"""Sphinx configuration of the jaxlr documentation (MyST Markdown pages, API from docstrings).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import jaxlr

project = "jaxlr"
author = "the jaxlr developers"
copyright = "2026, the jaxlr developers"
release = version = jaxlr.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3  # the README's section links (page.md#a-heading) resolve

autosummary_generate = True
autodoc_default_options = {"members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [("Example", "example"), ("Examples", "example")]

html_theme = "furo"
html_title = f"jaxlr {release}"
