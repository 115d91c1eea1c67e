"""The versions users get are the versions tested: requirements.lock pins every dependency, the
test environment is installed from it, and it satisfies pyproject's ranges."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def lock_lines() -> list[tuple[Requirement, set[str]]]:
    """Each pin with the packages that need it (uv's `# via` note)."""
    out = []
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pin, _, note = line.partition("#")
        if not pin.strip():
            continue
        via = {canonicalize_name(v.strip().split(" ")[0]) for v in note.replace("via", "", 1).split(",")}
        out.append((Requirement(pin.strip()), via))
    return out


def bundle_only() -> set[str]:
    """PyInstaller and what only it needs: installed by installer/build_linux.sh from the same lock."""
    names = {"pyinstaller"}
    grown = True
    while grown:
        grown = False
        for req, via in lock_lines():
            name = canonicalize_name(req.name)
            if name not in names and via and via <= names:
                names.add(name)
                grown = True
    return names


def locked() -> dict[str, str]:
    """name -> exact version, for the lines whose markers hold on this machine."""
    env = default_environment()
    pins = {}
    for req, _via in lock_lines():
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        (spec,) = req.specifier
        assert spec.operator == "==", line
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in ("test", "bundle"):
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = locked()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}"


def test_the_environment_under_test_is_the_locked_one():
    mismatched = {}
    skip = bundle_only()
    for name, version in locked().items():
        if name in skip:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            mismatched[name] = (version, None)
            continue
        if installed != version:
            mismatched[name] = (version, installed)
    assert not mismatched, f"installed versions differ from requirements.lock (locked, installed): {mismatched}"
