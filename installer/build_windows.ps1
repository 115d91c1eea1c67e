# Build the Windows bundle and installer (run in PowerShell from the repository root, on Windows
# with Python 3.11 and Inno Setup 6 installed):
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1
# Output: installer\dist\hatang-desktop\ (the bundle) and installer\Output\HaTangDesktop-Setup-<ver>.exe
$ErrorActionPreference = "Stop"
Set-Location (Split-Path $PSScriptRoot -Parent)

if (-not (Test-Path .venv\Scripts\python.exe)) { py -3.11 -m venv .venv }
$py = ".venv\Scripts\python.exe"
& $py -m pip install -q --upgrade pip
& $py -m pip install -q -c requirements.lock -e ".[bundle]"   # the tested versions
& $py sample_db\make_sample.py | Out-Null   # the sample ships inside the bundle

# The .ico the executables and the installer use, from the shipped PNG (Pillow is a dependency).
New-Item -ItemType Directory -Force installer\build | Out-Null
& $py -c "from PIL import Image; Image.open('resources/icons/hatang-desktop-256.png').save('installer/build/hatang-desktop.ico', sizes=[(16,16),(32,32),(48,48),(256,256)])"

& $py -m PyInstaller --noconfirm --clean --log-level WARN --distpath installer\dist `
    --workpath installer\build\pyinstaller installer\hatang_desktop.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

# Smoke test: the frozen app renders its window once and exits 0.
$env:HATANG_DATA_DIR = Join-Path $env:TEMP "hatang-smoke"
& installer\dist\hatang-desktop\hatang-desktop.exe --screenshot "$env:HATANG_DATA_DIR\shot.png" | Out-Null
if (-not (Test-Path "$env:HATANG_DATA_DIR\shot.png")) { throw "the bundle did not start" }
Remove-Item Env:HATANG_DATA_DIR

$version = & $py -c "import hatang_desktop; print(hatang_desktop.__version__)"
$iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
& $iscc "/DAppVersion=$version" installer\hatang_desktop.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
