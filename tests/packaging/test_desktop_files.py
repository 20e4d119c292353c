"""The menu entry and the icons the packages install: a valid Desktop Entry that names the
icon and window class the application really uses, and icons of the sizes they claim."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
from pathlib import Path

from auterity_desktop import APP_ID, APP_NAME

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "packaging" / "linux" / f"{APP_ID}.desktop"
ICONS = ROOT / "resources" / "icons"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def test_the_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Exec"] == "auterity gui"
    assert entry["Icon"] == APP_ID  # the hicolor icons' name
    # X11 WM_CLASS is (argv[0], application name): the class is the stable part
    assert entry["StartupWMClass"] == APP_NAME
    assert entry["Terminal"] == "false"
    validator = shutil.which("desktop-file-validate")
    if validator is not None:  # desktop-file-utils: the reference check where it is installed
        done = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == ""  # not even a hint


def test_the_application_sets_the_names_the_entry_relies_on() -> None:
    source = (ROOT / "auterity_desktop" / "ui" / "app.py").read_text()
    assert "app.setDesktopFileName(APP_ID)" in source  # Wayland app id, _GTK_APPLICATION_ID
    assert "app.setApplicationName(APP_NAME)" in source  # the WM_CLASS class


def test_hicolor_icons_have_their_sizes() -> None:
    for size in HICOLOR_SIZES:
        png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png_size(png.read_bytes()) == (size, size), png
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (ICONS / "app-icon.svg").read_bytes()


def test_windows_ico_holds_every_size() -> None:
    data = (ICONS / "app-icon.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for index in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        image = data[offset : offset + length]
        assert png_size(image) == (width or 256, height or 256)
        sizes.append(width or 256)
    assert sorted(sizes) == [16, 24, 32, 48, 64, 128, 256]


def test_macos_icns_holds_every_size() -> None:
    data = (ICONS / "app-icon.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found = {}
    offset = 8
    while offset < len(data):
        kind, length = (
            data[offset : offset + 4],
            struct.unpack(">I", data[offset + 4 : offset + 8])[0],
        )
        found[kind.decode()] = png_size(data[offset + 8 : offset + length])[0]
        offset += length
    assert found == {
        "icp4": 16, "icp5": 32, "icp6": 64, "ic07": 128, "ic08": 256, "ic09": 512,
        "ic10": 1024, "ic11": 32, "ic12": 64, "ic13": 256, "ic14": 512,
    }  # fmt: skip


def test_install_sh_without_a_bundle(tmp_path: Path) -> None:
    """From the repository (a pip-installed ``auterity``): the entry and the icons only."""
    prefix = tmp_path / "prefix"
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "linux" / "install.sh"), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entry = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    # the `auterity` found on PATH, else the bare name
    assert [line for line in entry.splitlines() if line.startswith("Exec=")] == [
        f'Exec="{shutil.which("auterity") or "auterity"}" gui'
    ]
    installed = (prefix / "share" / "icons" / "hicolor").rglob(f"{APP_ID}.png")
    assert sorted(p.parent.parent.name for p in installed) == sorted(
        f"{size}x{size}" for size in HICOLOR_SIZES
    )
    assert not (prefix / "lib").exists()
    assert not (prefix / "bin").exists()
