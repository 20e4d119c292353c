"""The README promises two commands; CI must run the test one, and the table must be true."""

from __future__ import annotations

import re
from pathlib import Path

from auterity_desktop.config import load_settings, setting_names

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", README, re.S)]


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [b.strip() for b in re.findall(r"```bash\n(.*?)```", setup, re.S)]
    assert len(commands) == 2
    install, test = commands
    assert "pip install ." in install
    assert install.endswith("auterity")
    assert test == "bash tests/run_all.sh"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec bash tests/run_all.sh" in ci
    assert (ROOT / "tests" / "run_all.sh").exists()


def test_configuration_table_lists_every_setting_with_its_default(tmp_path: Path) -> None:
    settings, _ = load_settings({}, tmp_path / "none.toml")
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README, re.M)
    }
    assert set(rows) == set(setting_names())
    for field in type(settings).model_fields.values():
        name = str(field.validation_alias)
        default = field.default
        if isinstance(default, int | float) and not isinstance(default, bool):
            assert float(rows[name].replace(",", "")) == float(default), name


def test_role_matrix_in_readme_matches_the_code() -> None:
    from auterity_desktop.services.security.permissions import BUILTIN_ROLES, RESOURCES

    header = "| role | " + " | ".join(RESOURCES) + " |"
    assert header in README
    letters = {"r": "read", "w": "write", "x": "execute", "d": "delete"}
    for role, spec in BUILTIN_ROLES.items():
        line = next(line for line in README.splitlines() if line.startswith(f"| {role} |"))
        cells = [c.strip() for c in line.strip("|").split("|")][1:]
        documented = {
            f"{resource}:{letters[c]}"
            for resource, cell in zip(RESOURCES, cells, strict=True)
            for c in cell
            if c in letters
        }
        assert documented == spec.permissions, role
