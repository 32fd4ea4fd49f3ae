"""Start a web server as a subprocess, wait until it answers, stop it by its process group.

The browser tests drive real servers (`kedro viz run`, `mlflow server`, `http.server`). Each one
runs in its own session (process group) so teardown can stop it together with any workers it
forked, without touching anything else on the machine.
"""

import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Drawn below 49152: Kedro-Viz refuses the dynamic range, where the kernel's own picks fall.
    """
    while True:
        port = random.randint(20000, 49151)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serve(command: list[str], cwd: Path, url: str, log: Path, timeout: float = 90) -> Iterator[str]:
    """Run `command` in `cwd` until the block ends; yield `url` once it answers HTTP 200.

    Output goes to `log`, quoted in the error when the server dies or does not answer within
    `timeout` seconds.
    """
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(command)} exited with {process.returncode} before answering "
                    f"{url}:\n{log.read_text()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{' '.join(command)} did not answer {url} within {timeout:.0f} s:\n"
                    f"{log.read_text()}"
                )
            time.sleep(0.5)
        yield url
    finally:
        _stop(process)
