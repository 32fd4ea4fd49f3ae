"""Another process that holds a folder's lock, for the lock, hook and `colourise` tests.

`start_lock_holder(folder, seconds, name)` runs this file as a script, which takes the lock
file `folder/name` (by default a checkpoint folder's), says "locked" and holds it for
`seconds` (then exits, releasing it).
"""

import subprocess
import sys
import time
from pathlib import Path

from image_colourisation.core.locks import LOCK_NAME, file_lock


def start_lock_holder(folder: Path, seconds: float, name: str = LOCK_NAME) -> subprocess.Popen:
    """Start the holder and return once it holds the lock (bounded: it says so or exits)."""
    holder = subprocess.Popen(
        [sys.executable, __file__, str(folder), str(seconds), name],
        stdout=subprocess.PIPE,
        text=True,
    )
    said = holder.stdout.readline().strip()
    assert said == "locked", f"the lock holder exited without the lock (it said {said!r})"
    return holder


if __name__ == "__main__":
    with file_lock(Path(sys.argv[1]) / sys.argv[3]):
        sys.stdout.write("locked\n")
        sys.stdout.flush()
        time.sleep(float(sys.argv[2]))
