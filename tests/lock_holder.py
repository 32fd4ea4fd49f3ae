"""Another process that holds a checkpoint folder's lock, for the lock and hook tests.

`start_lock_holder(folder, seconds)` runs this file as a script, which takes `folder`'s
checkpoint lock, says "locked" and holds it for `seconds` (then exits, releasing it).
"""

import subprocess
import sys
import time
from pathlib import Path

from image_colourisation.core.locks import checkpoint_lock


def start_lock_holder(folder: Path, seconds: float) -> subprocess.Popen:
    """Start the holder and return once it holds the lock (bounded: it says so or exits)."""
    holder = subprocess.Popen(
        [sys.executable, __file__, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    said = holder.stdout.readline().strip()
    assert said == "locked", f"the lock holder exited without the lock (it said {said!r})"
    return holder


if __name__ == "__main__":
    with checkpoint_lock(Path(sys.argv[1])):
        sys.stdout.write("locked\n")
        sys.stdout.flush()
        time.sleep(float(sys.argv[2]))
