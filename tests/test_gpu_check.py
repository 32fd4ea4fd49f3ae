"""`make gpu-check` in its dry run: the same sections on the CPU, so the check cannot rot."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_section_of_the_gpu_check_runs_in_the_dry_run() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--dry-run"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout
    assert "FAILED" not in table, table
    for row in [
        "device ", "matmul 256^3 float32", "GAN step, batch 8", "max |Δab| cpu fp32 vs CPU",
        "DDP, 2 processes (gloo)", "kedro run --env gpu         every pipeline, exit 0",
    ]:  # fmt: skip
        assert row in table, table
