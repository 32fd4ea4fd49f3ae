"""The documentation stays true to the project: every parameter on the reference page, and
every link of the README to a file that exists."""

import importlib.util
import re
import sys
from collections.abc import Iterator

import yaml

from tests.project_copy import PROJECT_ROOT


def _hooks():
    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", PROJECT_ROOT / "tools/mkdocs_hooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _dotted(tree: dict, prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _dotted(value, f"{name}.")
        else:
            yield name


def test_every_parameter_is_on_the_reference_page() -> None:
    page = _hooks().parameters_markdown()
    names = [
        name
        for path in sorted((PROJECT_ROOT / "conf/base").glob("parameters*.yml"))
        for name in _dotted(yaml.safe_load(path.read_text()) or {})
    ]
    assert len(names) > 50
    missing = [name for name in names if f"`{name}`" not in page]
    assert not missing, f"not on docs/parameters.md: {missing}"


def test_the_readme_links_to_files_that_exist() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links into the documentation"
    broken = [target for target in local if not (PROJECT_ROOT / target).exists()]
    assert not broken, f"README links to missing files: {broken}"
