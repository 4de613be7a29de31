"""Facts about the course read from their one source: the repository's address from pyproject.toml
(for Colab and Binder links). The repository root is :func:`course_lib.environment.repository_root`."""

from __future__ import annotations

import tomllib

from course_lib.environment import repository_root


def repository_url() -> str:
    """The repository's address, from ``[project.urls] Repository`` in pyproject.toml."""
    with open(repository_root() / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["urls"]["Repository"].rstrip("/")


def github_path() -> str:
    """``owner/name`` of the repository, for Colab and Binder links."""
    return repository_url().split("github.com/", 1)[1]


def colab_url(notebook: str) -> str:
    return f"https://colab.research.google.com/github/{github_path()}/blob/main/{notebook}"


def binder_url(notebook: str) -> str:
    return f"https://mybinder.org/v2/gh/{github_path()}/main?labpath={notebook}"
