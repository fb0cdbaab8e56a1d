"""Weight source URIs: direct URLs, pinned Hugging Face files, and files inside installed packages.

``hf://REPO@REVISION/FILE`` becomes ``{HF_ENDPOINT}/REPO/resolve/REVISION/FILE`` (``HF_ENDPOINT``
defaults to https://huggingface.co, as in huggingface_hub), so the same code path is exercised by
tests against a loopback server. ``package://IMPORT_NAME/PATH?pip=DIST`` names a file that a Python
package ships; it is found without importing the package.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DEFAULT_HF_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class HubFile:
    """A file in a Hugging Face hub repository at a pinned revision."""

    repo_id: str
    revision: str
    filename: str

    @property
    def url(self) -> str:
        endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_HF_ENDPOINT).rstrip("/")
        return f"{endpoint}/{self.repo_id}/resolve/{self.revision}/{self.filename}"


@dataclass(frozen=True)
class PackagedFile:
    """A file shipped inside an installed Python package."""

    import_name: str
    relative_path: str
    pip_name: str

    def locate(self) -> Path | None:
        """Absolute path of the file if the package is installed and holds it, else ``None``."""
        try:
            spec = importlib.util.find_spec(self.import_name)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / self.relative_path
            if candidate.is_file():
                return candidate
        return None


def parse_hub_uri(uri: str) -> HubFile:
    """Parse ``hf://org/name@revision/path/in/repo``."""
    rest = uri.removeprefix("hf://")
    repo_and_rev, _, filename = rest.partition("/")
    if "@" in repo_and_rev:
        # org/name@rev/file: the first path part is only the org.
        raise ValueError(f"malformed hub URI {uri!r}")
    org = repo_and_rev
    name_rev, _, filename = filename.partition("/")
    name, _, revision = name_rev.partition("@")
    if not org or not name or not filename:
        raise ValueError(f"malformed hub URI {uri!r}; expected hf://ORG/NAME@REVISION/FILE")
    return HubFile(repo_id=f"{org}/{name}", revision=revision or "main", filename=filename)


def parse_package_uri(uri: str) -> PackagedFile:
    """Parse ``package://import_name/relative/path?pip=dist-name``."""
    parts = urlsplit(uri)
    import_name = parts.netloc
    relative_path = parts.path.lstrip("/")
    if not import_name or not relative_path:
        raise ValueError(f"malformed package URI {uri!r}")
    pip_name = parse_qs(parts.query).get("pip", [import_name.replace("_", "-")])[0]
    return PackagedFile(import_name=import_name, relative_path=relative_path, pip_name=pip_name)


def download_url(uri: str) -> str | None:
    """The HTTP(S) URL to download ``uri`` from, or ``None`` for non-downloadable sources."""
    if uri.startswith(("http://", "https://")):
        return uri
    if uri.startswith("hf://"):
        return parse_hub_uri(uri).url
    return None


def describe_source(uri: str) -> str:
    """Short human description for listings: the host, ``hf:REPO`` or ``pip:DIST``."""
    if uri.startswith("hf://"):
        hub = parse_hub_uri(uri)
        return f"hf:{hub.repo_id}@{hub.revision}"
    if uri.startswith("package://"):
        return f"pip:{parse_package_uri(uri).pip_name}"
    return urlsplit(uri).netloc or uri
