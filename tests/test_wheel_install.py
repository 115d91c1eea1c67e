"""The project installs the way Python users install it: a built wheel, not the checkout.

Builds the wheel from a copy of the source, installs it (no dependencies) into a fresh venv that
borrows the third-party packages of the running environment through a `.pth` line, then runs
`hatang` and `hatang-desktop` from that venv in a folder outside the checkout. The checkout's own
editable install cannot stand in: the test proves the package and its data (forms/, resources/)
are read from the new venv's site-packages.

About 30 s: pip builds the wheel in an isolated environment (setuptools from the package index,
then pip's cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# What a build reads: the project's metadata and build hook, the package, the data mapped into it.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "hatang_desktop", "forms",
           "resources", "sample_db")
TIMEOUT = 600


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT,
                            **kwargs)
    assert result.returncode == 0, f"{cmd}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def _copy_sources(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)
    # A built sample beside the script must stay out of the wheel (~25 MB, made on first start).
    (target / "sample_db" / "ha_tinh_sample.db").write_bytes(b"not for the wheel")


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    src, dist, env_dir = work / "src", work / "dist", work / "venv"
    src.mkdir()
    _copy_sources(src)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(src), "-w", str(dist)],
         cwd=work)
    [wheel] = dist.glob("hatang_desktop-*.whl")

    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # The running pip installs into the new venv; --no-deps: the dependencies come from below.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel],
         cwd=work)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # Added after the install, so pip never saw the checkout's editable hatang-desktop. A plain
    # path line: the .pth files in there (the editable install's finder) are not processed.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_borrowed_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "HATANG_RESOURCES", "VIRTUAL_ENV")}
    home = work / "home"
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), HATANG_DATA_DIR=str(work / "userdata"),
               QT_QPA_PLATFORM="offscreen")
    run_dir = work / "run"
    run_dir.mkdir()
    scripts = python.parent
    return {"wheel": wheel, "python": python, "site": site, "scripts": scripts, "env": env,
            "cwd": run_dir}


def test_wheel_holds_the_package_data(wheel_env):
    names = set(zipfile.ZipFile(wheel_env["wheel"]).namelist())
    data = "hatang_desktop/_data/"
    for expected in ("forms/value_lists.yaml", "forms/sites.yaml", "resources/coverage.yaml",
                     "resources/admin_units/communes_2025.csv", "resources/rules/sites.yaml",
                     "resources/plans/ha_tinh_5g_2025.yaml", "resources/fonts/DejaVuSans.ttf",
                     "resources/icons/hatang-desktop.svg", "sample_db/README.md"):
        assert data + expected in names
    assert [n for n in names if n.startswith("hatang_desktop/core/storage/") and n.endswith(".sql")]
    for lang in ("vi", "en"):  # the message catalogues: without them the app shows no text
        for domain in ("hatang", "hatang_core"):
            assert f"hatang_desktop/locale/{lang}/LC_MESSAGES/{domain}.po" in names
    assert not [n for n in names if n.endswith(".db") or "__pycache__" in n]
    assert data + "sample_db/make_sample.py" not in names
    # Nothing at the top level of site-packages but the package and its metadata.
    assert {n.split("/")[0] for n in names} == {"hatang_desktop", "hatang_desktop-0.1.0.dist-info"}


def test_installed_wheel_reads_its_own_copy(wheel_env):
    probe = ("import json, sys, hatang_desktop\n"
             "from hatang_desktop import paths\n"
             "print(json.dumps({'file': hatang_desktop.__file__, 'path': sys.path,\n"
             "  'forms': str(paths.forms_dir()), 'resources': str(paths.resources_dir()),\n"
             "  'sample': str(paths.bundled_sample_db())}))")
    out = json.loads(_run([wheel_env["python"], "-c", probe], env=wheel_env["env"],
                          cwd=wheel_env["cwd"]).stdout)
    site = wheel_env["site"].resolve()
    root = ROOT.resolve()
    assert Path(out["file"]).resolve().is_relative_to(site)
    assert not [p for p in out["path"] if p and Path(p).resolve().is_relative_to(root)
                and not Path(p).resolve().is_relative_to(root / ".venv")]
    assert Path(out["forms"]).resolve() == site / "hatang_desktop" / "_data" / "forms"
    assert Path(out["resources"]).resolve() == site / "hatang_desktop" / "_data" / "resources"
    # An installed app keeps the sample it builds in the user's folder, never in site-packages.
    assert Path(out["sample"]) == Path(wheel_env["env"]["HATANG_DATA_DIR"]) / "ha_tinh_sample.db"


def test_installed_commands_run(wheel_env):
    scripts, env, cwd = wheel_env["scripts"], wheel_env["env"], wheel_env["cwd"]
    db, shot = cwd / "out.db", cwd / "out.png"
    _run([scripts / "hatang", "sample", db, "--sites", "50"], env=env, cwd=cwd)
    info = json.loads(_run([scripts / "hatang", "info", db, "--json"], env=env, cwd=cwd).stdout)
    assert info["counts"]["sites"] == 50
    _run([scripts / "hatang", "check", db], env=env, cwd=cwd)  # the rules in resources/rules
    _run([scripts / "hatang-desktop", db, "--screenshot", shot], env=env, cwd=cwd)
    assert shot.stat().st_size > 10_000
