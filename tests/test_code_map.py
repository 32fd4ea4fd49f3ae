"""docs/code-map.md against the code: every import points down the stack, every package is on
the map, every module the map names exists."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "image_colourisation"
MAP = ROOT / "docs" / "code-map.md"
ROW = re.compile(r"^\| (\d+) \| ([^|]+) \| (.+) \|$")


def map_rows() -> list[tuple[int, list[str], str]]:
    """(layer, top-level names, what the row holds) for each row of the map's table."""
    rows = []
    for line in MAP.read_text().splitlines():
        match = ROW.match(line)
        if match:
            names = [
                name.rstrip("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", match[2])
            ]
            rows.append((int(match[1]), names, match[3]))
    return rows


def layers() -> dict[str, int]:
    return {name: layer for layer, names, _ in map_rows() for name in names}


def top_level(path: Path) -> str:
    """The package (or loose module) of the stack that `path` belongs to."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_top_levels(path: Path) -> set[str]:
    """The project's top-level packages `path` imports, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "image_colourisation" and len(parts) > 1:
                found.add(parts[1])
                break
    return found


def sources() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py")


def test_every_package_of_the_code_is_on_the_map() -> None:
    on_map = layers()
    missing = {top_level(path) for path in sources()} - on_map.keys()
    assert not missing, f"add these to docs/code-map.md: {sorted(missing)}"


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_down_the_stack(path: Path) -> None:
    on_map = layers()
    here = top_level(path)
    wrong = [
        f"{name} (layer {on_map.get(name)})"
        for name in imported_top_levels(path) - {here}
        if name in on_map and on_map[name] <= on_map[here]
    ]
    assert not wrong, f"{here} (layer {on_map[here]}) imports from {wrong}: up or beside it"


def test_every_module_the_map_names_exists() -> None:
    missing = []
    for _, names, holds in map_rows():
        folders = [PACKAGE / name for name in names if (PACKAGE / name).is_dir()]
        for module in re.findall(r"`([\w/]+\.(?:py|html))`", holds):
            if not any(any(folder.glob(f"**/{module}")) for folder in folders):
                missing.append(f"{'/'.join(names)}: {module}")
        for name in names:
            if not (PACKAGE / name).is_dir() and not (PACKAGE / f"{name}.py").is_file():
                missing.append(name)
    assert not missing, f"docs/code-map.md names what does not exist: {missing}"


def test_the_map_catches_an_import_up_the_stack(tmp_path: Path) -> None:
    """The check itself: `core` importing `models` is an arrow up."""
    module = tmp_path / "upward.py"
    module.write_text("def f():\n    from image_colourisation.models.networks import Generator\n")
    assert imported_top_levels(module) == {"models"}
    assert layers()["models"] < layers()["core"]
