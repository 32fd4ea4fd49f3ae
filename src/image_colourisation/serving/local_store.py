"""The project's local MLflow registry read directly, for what `colourise` needs at start:
whether a registered model has an alias and where its generator file lies, and the versions
the page lists. Importing MLflow's client and asking it took 2-5 s of a one-photo run whose
colouring takes a quarter second, and kept the page's model list empty for 2-3 s.

Only the default kind of store is read so: a sqlite file (`sqlite:///mlflow.db` unless
MLFLOW_REGISTRY_URI or MLFLOW_TRACKING_URI says otherwise) whose model versions keep their
artifacts in local folders. For anything else, or anything unexpected in the tables or the
MLmodel file, the functions answer None ("cannot tell") and the caller asks MLflow as before.
Reading never writes: the database is opened read-only.
"""

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from image_colourisation.core.errors import UserValueError
from image_colourisation.core.files import FileProblem, open_regular_file

DEFAULT_URI = "sqlite:///mlflow.db"  # MLflow's own default, and conf/base/mlflow.yml's


def registry_file() -> Path | None:
    """The sqlite file of the registry MLflow would use here; None when it is not a local
    sqlite store (then only MLflow can answer)."""
    uri = os.environ.get("MLFLOW_REGISTRY_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    parsed = urlparse(uri or DEFAULT_URI)
    if parsed.scheme != "sqlite" or parsed.netloc or ":memory:" in parsed.path:
        return None
    return Path(unquote(parsed.path[1:]))  # sqlite:///relative.db, sqlite:////absolute.db


SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every sqlite database


def sqlite_store_problem(path: Path) -> str | None:
    """Why `path` cannot be an MLflow sqlite store (something else lies there), or None when
    it is one or is not there yet (MLflow then creates it). Read without blocking or loading:
    a FIFO, a folder or a random file would otherwise hang or end in SQLAlchemy's traceback."""
    if not os.path.lexists(path):
        return None
    try:
        with open_regular_file(path) as file:
            head = file.read(len(SQLITE_HEADER))
    except FileProblem as error:
        return f"the MLflow store {path} {error.problem}"
    if head and head != SQLITE_HEADER:
        return (
            f"the MLflow store {path} is not a sqlite database (it begins {head[:8]!r}); move it "
            "away (a new store is created in its place) or point MLFLOW_TRACKING_URI elsewhere"
        )
    return None


def has_alias(name: str, alias: str) -> bool | None:
    """Whether registered model `name` has `alias`; None when this cannot be read here."""
    path = registry_file()
    if path is None:
        return None
    if not os.path.lexists(path):
        return False  # no store yet: asking MLflow would create one
    row = _query(
        path, "SELECT 1 FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
    )
    return None if row is None else bool(row)


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model's aliases (alias: version number) and its versions' tags (version
    number: {key: value}), as the page lists them."""

    aliases: dict[str, str]
    version_tags: dict[str, dict[str, str]]


def registered_model(name: str) -> RegisteredModel | None:
    """`name`'s aliases and versions; an empty one when there is no store yet (asking MLflow
    would create one) or no such model; None when this cannot be read here."""
    path = registry_file()
    if path is None:
        return None
    if not os.path.lexists(path):
        return RegisteredModel({}, {})
    aliases = _query(
        path, "SELECT alias, version FROM registered_model_aliases WHERE name = ?", (name,)
    )
    versions = _query(
        path,
        "SELECT version FROM model_versions WHERE name = ? AND current_stage != ?",
        (name, "Deleted_Internal"),  # MLflow's mark of a deleted version
    )
    tags = _query(
        path, "SELECT version, key, value FROM model_version_tags WHERE name = ?", (name,)
    )
    if aliases is None or versions is None or tags is None:
        return None
    version_tags: dict[str, dict[str, str]] = {str(number): {} for (number,) in versions}
    for number, key, value in tags:
        version_tags.get(str(number), {})[key] = value
    return RegisteredModel({alias: str(number) for alias, number in aliases}, version_tags)


def alias_artifact(name: str, alias: str, artifact: str) -> Path | None:
    """The local file of `artifact` (a pyfunc model's artifact, e.g. the served generator) in
    the version of `name` that `alias` points to; None when it cannot be found here."""
    path = registry_file()
    if path is None or not os.path.lexists(path):
        return None
    rows = _query(
        path,
        "SELECT v.storage_location FROM registered_model_aliases a JOIN model_versions v "
        "ON v.name = a.name AND v.version = a.version WHERE a.name = ? AND a.alias = ?",
        (name, alias),
    )
    if not rows or not rows[0][0]:
        return None
    location = urlparse(rows[0][0])
    if location.scheme not in ("", "file"):
        return None
    folder = Path(unquote(location.path))
    try:
        model = yaml.safe_load((folder / "MLmodel").read_text())
        relative = model["flavors"]["python_function"]["artifacts"][artifact]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    file = (folder / relative).resolve()
    return file if file.is_file() and file.is_relative_to(folder.resolve()) else None


def _query(path: Path, sql: str, arguments: tuple) -> list[tuple] | None:
    """Rows of a read-only query; None when the store cannot be read so (another schema)."""
    problem = sqlite_store_problem(path)
    if problem:
        raise UserValueError(problem[0].upper() + problem[1:] + ".")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as store:
            return store.execute(sql, arguments).fetchall()
    except sqlite3.Error:
        return None
