"""Sphinx configuration of the course website (built by ``tools/build_site.py``, never by hand).

The source tree is staged in ``build/site-src`` (executed notebooks, docs pages, generated pages);
this folder holds only the configuration, the offline math renderer (``_ext/offline_math.py``) and
the style sheet (``_static/course.css``). Everything is offline: MyST-NB never executes a notebook
(``nb_execution_mode = "off"``), there is no intersphinx, no MathJax from a CDN (formulas are drawn
to inline SVG by matplotlib's mathtext), no ipywidgets JavaScript from a CDN, no web fonts.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

with open(HERE.parent / "pyproject.toml", "rb") as _handle:
    _REPOSITORY = tomllib.load(_handle)["project"]["urls"]["Repository"].rstrip("/")

project = "Deep Learning Architectures in Practice"
author = "the course authors"
copyright = "the course authors; code under the MIT licence, datasets under their own licences"

extensions = ["myst_nb", "offline_math"]
html_math_renderer = "offline_math"

# --- MyST / MyST-NB -------------------------------------------------------------------------------
nb_execution_mode = "off"            # the notebooks were executed by `make course`; never run here
nb_ipywidgets_js = {}                # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 4             # [x](../docs/glossary.md#adam) and [x](#2--models) resolve
myst_dmath_double_inline = True
suppress_warnings = ["mystnb.unknown_mime_type"]   # widget views without state: text/plain shown

exclude_patterns = ["**.ipynb_checkpoints", "_build"]
master_doc = "index"

# --- HTML -------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = [str(HERE / "_static")]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_copy_source = True
html_show_sourcelink = False
html_theme_options = {
    "repository_url": _REPOSITORY,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_source_button": False,
    "use_issues_button": False,
    "use_download_button": True,
    "use_fullscreen_button": False,     # its JavaScript is fine, but one button fewer to test
    "launch_buttons": {"colab_url": "https://colab.research.google.com",
                       "binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
    "home_page_in_toc": True,
}
html_favicon = str(HERE / "_static" / "favicon.svg")   # else browsers ask for /favicon.ico (a 404)
html_context = {"default_mode": "auto"}                # the theme's light/dark switch starts on "auto"
