"""Peak memory of `kedro run --pipeline photos` over a folder of 2,000 generated 1024x768 photos.

Runs the real pipeline (ingestion, working-size cache, both training variants, evaluation) in a
throw-away copy of the project, with short training so that it ends in minutes, and samples
the resident memory of the run and all its processes (DataLoader workers included) every
0.2 s. The sum over processes counts pages they share more than once: an upper bound.

    .venv/bin/python benchmarks/photo_memory.py
    .venv/bin/python benchmarks/photo_memory.py --photos 500 --crop-size 64
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generated_photos import write_generated_folder

PROJECT = Path(__file__).resolve().parents[1]


def tree_rss_bytes(root: int) -> int:
    """Resident memory of process `root` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        frontier = [pid for pid in children if pid not in family]
        family.update(frontier)
    total = 0
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def project_copy(where: Path) -> Path:
    """The project's configuration and empty data layers, to `kedro run` in."""
    project = where / "project"
    (project / "src").mkdir(parents=True)
    for name in ["pyproject.toml", ".telemetry"]:
        shutil.copy2(PROJECT / name, project / name)
    shutil.copytree(PROJECT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "photos_2000")
    args = parser.parse_args()
    folder = write_generated_folder(args.folder, args.photos, 1024, 768)
    project = project_copy(Path(tempfile.mkdtemp(prefix="photo_memory_")))
    overrides = (
        f"photos.folder={folder},photos.crop_size={args.crop_size},photos.crops_per_photo=1,"
        "photos.training.epochs=1,photos.training.gan_epochs=1,evaluation.classifier.epochs=1"
    )
    command = [sys.executable, "-m", "kedro", "run", "--pipeline", "photos", "--params", overrides]
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    started = time.perf_counter()
    with open(project / "run.log", "w") as log:
        run = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while run.poll() is None:
            peak = max(peak, tree_rss_bytes(run.pid))
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    status = (
        "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode}, see {project}/run.log)"
    )
    print(f"kedro run --pipeline photos --params {overrides}")
    print(f"{args.photos} photos 1024x768, crop {args.crop_size}: {status} in {seconds:.0f} s")
    print(f"peak resident memory (run + workers): {peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
