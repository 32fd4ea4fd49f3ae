"""Peak memory of `kedro run --pipelines photos` over a folder of 2,000 generated 1024x768 photos.

Runs the real pipeline (ingestion, working-size cache, both training variants, evaluation) in a
throw-away copy of the project, with short training so that it ends in minutes, and samples
the resident memory of the run and all its processes (DataLoader workers included) every
0.2 s: their proportional set size (PSS: a page shared by n processes counts 1/n in each, so
the sum is the memory the run occupies) and, for comparison, the sum of their resident sizes
(RSS, which counts the pages forked workers share with the main process once per process).

    .venv/bin/python benchmarks/photo_memory.py
    .venv/bin/python benchmarks/photo_memory.py --photos 500 --crop-size 64
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generated_photos import write_generated_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, for tests/
from tests.project_copy import copy_project  # noqa: E402


def tree_memory_bytes(root: int) -> tuple[int, int, list[int]]:
    """(PSS, RSS) summed over process `root` and all its descendants, from /proc, and each
    process's PSS (`root` first), to tell the trainer from its DataLoader workers."""
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
    pss = rss = 0
    each = []
    for pid in sorted(family, key=lambda pid: pid != root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                    each.append(int(line.split()[1]) * 1024)
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return pss, rss, each


def running_node(log: Path) -> str:
    """The node the run's log last says it started."""
    with log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - 65536))
        text = file.read().decode(errors="replace")
    found = re.findall(r"Running node: ([\w.]+)", text)
    return found[-1] if found else "(none yet)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "photos_2000")
    args = parser.parse_args()
    folder = write_generated_folder(args.folder, args.photos, 1024, 768)
    project = copy_project(Path(tempfile.mkdtemp(prefix="photo_memory_")) / "project")
    overrides = (
        f"photos.folder={folder},photos.crop_size={args.crop_size},photos.crops_per_photo=1,"
        "photos.training.epochs=1,photos.training.gan_epochs=1,photos.classifier.epochs=1"
    )
    command = [sys.executable, "-m", "kedro", "run", "--pipelines", "photos", "--params", overrides]
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env["COLUMNS"] = "300"  # rich wraps long node names onto a second line at 80 columns
    started = time.perf_counter()
    with open(project / "run.log", "w") as log:
        run = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak_pss = peak_rss = 0
        peak_node, peak_each = "", []
        node_peaks: dict[str, int] = {}
        while run.poll() is None:
            pss, rss, each = tree_memory_bytes(run.pid)
            node = running_node(project / "run.log")
            node_peaks[node] = max(node_peaks.get(node, 0), pss)
            if pss > peak_pss:
                peak_pss, peak_each, peak_node = pss, each, node
            peak_rss = max(peak_rss, rss)
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    status = (
        "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode}, see {project}/run.log)"
    )
    print(f"kedro run --pipelines photos --params {overrides}")
    print("peak PSS of the run and its workers while each node ran:")
    for node, pss in node_peaks.items():
        print(f"  {node:<50} {pss / 2**30:.2f} GiB")
    print(f"peak while running node {peak_node}")
    print(
        "PSS per process at the peak (the run first, then its workers): "
        + ", ".join(f"{part / 2**30:.2f} GiB" for part in peak_each)
    )
    print(f"{args.photos} photos 1024x768, crop {args.crop_size}: {status} in {seconds:.0f} s")
    print(
        f"peak memory of the run and its workers: PSS {peak_pss / 2**30:.2f} GiB, RSS summed "
        f"{peak_rss / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
