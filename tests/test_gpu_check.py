"""`make gpu-check` in its dry run: the same sections on the CPU, so the check cannot rot."""

import re
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
    rows = {
        "device": "CPU (dry run)", "matmul 256^3 float32": "TFLOP/s",
        "GAN step, batch 8": "images/s", "max |Δab| cpu fp32 vs CPU": "Lab units",
        "DDP, 2 processes (gloo)": "1 epoch of 64 images", "kedro run --env gpu": "every pipeline, exit 0",
    }  # fmt: skip
    for name, value in rows.items():  # the table pads its names to one width
        assert re.search(rf"^{re.escape(name)} +.*{re.escape(value)}", table, re.MULTILINE), table
