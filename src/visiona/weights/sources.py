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


NPM_SYSTEM_DIRS = (Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules"))


def npm_prefixes() -> list[Path]:
    """``npm install --prefix`` folders searched for npm packages, in order.

    ``$VISIONA_NPM_PREFIX`` alone when set; otherwise ``$VISIONA_HOME/npm`` and the default
    ``~/.cache/visiona/npm`` (``$XDG_CACHE_HOME`` honoured).
    """
    env = os.environ.get("VISIONA_NPM_PREFIX")
    if env:
        return [Path(env).expanduser()]
    from visiona.weights.cache import visiona_home

    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return list(dict.fromkeys([visiona_home() / "npm", Path(xdg).expanduser() / "visiona" / "npm"]))


@dataclass(frozen=True)
class NpmFile:
    """A file shipped inside an npm package (``package`` may be scoped: ``@mediapipe/pose``)."""

    package: str
    relative_path: str
    version: str | None = None

    @property
    def install_command(self) -> str:
        spec = f"{self.package}@{self.version}" if self.version else self.package
        return f"npm install --prefix {npm_prefixes()[0]} {spec}"

    def candidates(self) -> list[Path]:
        folders = [prefix / "node_modules" for prefix in npm_prefixes()]
        if not os.environ.get("VISIONA_NPM_PREFIX"):
            folders.extend(NPM_SYSTEM_DIRS)
        return [folder / self.package / self.relative_path for folder in folders]

    def locate(self) -> Path | None:
        """Absolute path of the file if the npm package is installed and holds it, else ``None``."""
        return next((path for path in self.candidates() if path.is_file()), None)


def parse_npm_uri(uri: str) -> NpmFile:
    """Parse ``npm://@scope/name/relative/path?version=V`` (or ``npm://name/path``)."""
    parts = urlsplit(uri)
    pieces = (parts.netloc + parts.path).split("/")
    size = 2 if pieces[0].startswith("@") else 1
    package, relative = "/".join(pieces[:size]), "/".join(pieces[size:])
    if not package or package == "@" or not relative or (size == 2 and not pieces[1]):
        raise ValueError(f"malformed npm URI {uri!r}; expected npm://[@SCOPE/]NAME/PATH")
    version = parse_qs(parts.query).get("version", [None])[0]
    return NpmFile(package=package, relative_path=relative, version=version)


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
    if uri.startswith("npm://"):
        return f"npm:{parse_npm_uri(uri).package}"
    return urlsplit(uri).netloc or uri
