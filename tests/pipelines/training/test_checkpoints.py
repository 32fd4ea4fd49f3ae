"""Checkpoints that are not ours or do not fit, and the lock that keeps two runs apart."""

import copy
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from image_colourisation.core.errors import user_error_in
from image_colourisation.core.locks import LOCK_NAME, CheckpointInUseError, checkpoint_lock
from image_colourisation.pipelines.training.checkpoints import CheckpointError, checkpoint_path
from image_colourisation.pipelines.training.config import TrainingParams
from tests.lock_holder import start_lock_holder
from tests.pipelines.training.synthetic import synthetic_set, train_arrays

LOCK_WAIT_S = 60  # a helper process imports torch before it takes the lock: slow on a busy CPU


class RunsCode:
    """Unpickling this would call print: a stand-in for a checkpoint that runs code."""

    def __reduce__(self):
        return (print, ("this must never run",))


def _write(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"variant": "gan", "epoch": RunsCode()}, r"asks to import [\w.]*print"),
        (bytes(range(256)) * 8, "not a file that torch.save wrote"),
        (b"", "empty or cut short"),
        ([1, 2, 3], "holds a list, not a mapping"),
        ({"variant": "gan", "epoch": 1}, r"lacks \['target_epochs'"),
    ],
)
@pytest.mark.parametrize("resume", [True, False])
def test_a_file_that_is_not_a_checkpoint_is_refused_as_untrusted(
    params: TrainingParams,
    capsys: pytest.CaptureFixture,
    content: object,
    reason: str,
    resume: bool,
) -> None:
    """Resumed or merely checked for being unfinished: one sentence naming the file; no
    suggestion to load it unsafely, and nothing in it runs."""
    path = checkpoint_path(params.checkpoint_dir, "gan")
    _write(path, content)
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    with pytest.raises(CheckpointError, match=reason) as error:
        train_arrays(*data, replace(params, resume=resume), "gan")
    message = str(error.value)
    assert message.startswith(f"{path} is not a checkpoint of this project")
    assert "move it away" in message and "will likely succeed" not in message
    assert "this must never run" not in capsys.readouterr().out


def test_a_checkpoint_whose_weights_do_not_fit_is_refused(params: TrainingParams) -> None:
    """Right keys, same recorded architecture, but other weights (tampered or damaged)."""
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "gan")
    path = checkpoint_path(params.checkpoint_dir, "gan")
    state = torch.load(path, weights_only=True)
    state["generator"]["encoder.1.0.weight"] = torch.zeros(3, 3)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"generator weights do not fit.*encoder\.1\.0"):
        train_arrays(*data, replace(params, resume=True), "gan")
    state = torch.load(path, weights_only=True)
    del state["generator"]["encoder.1.0.weight"]
    state["discriminator"] = None
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"cannot be resumed: its generator weights"):
        train_arrays(*data, replace(params, resume=True), "gan")


def test_a_checkpoint_with_a_bad_optimiser_state_is_refused(params: TrainingParams) -> None:
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "l1")
    path = checkpoint_path(params.checkpoint_dir, "l1")
    state = torch.load(path, weights_only=True)
    state["g_optimizer"]["state"][0]["exp_avg"] = torch.zeros(2)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"g_optimizer state does not fit.*exp_avg"):
        train_arrays(*data, replace(params, resume=True), "l1")
    state["g_optimizer"] = {"state": {}, "param_groups": []}
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"restoring it failed \(ValueError"):
        train_arrays(*data, replace(params, resume=True), "l1")


def test_checkpoint_mismatches_are_the_users_errors_in_one_line(params: TrainingParams) -> None:
    """Another variant's checkpoint, an RNG state of the wrong size, a NaN optimiser beta:
    each a `UserError` (one line from `kedro run`, no traceback), naming the file."""
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "l1")
    path = checkpoint_path(params.checkpoint_dir, "l1")
    original = torch.load(path, weights_only=True)
    changes = {
        "another variant": lambda state: state.update(variant="gan"),
        "an RNG state of the wrong size": lambda state: state.update(
            torch_rng=torch.zeros(7, dtype=torch.uint8)
        ),
        "a NaN optimiser beta": lambda state: state["g_optimizer"]["param_groups"][0].update(
            betas=(float("nan"), 0.999)
        ),
    }
    for what, change in changes.items():
        state = copy.deepcopy(original)
        change(state)
        torch.save(state, path)
        with pytest.raises(CheckpointError) as refused:
            train_arrays(*data, replace(params, resume=True, epochs=2), "l1")
        message = str(refused.value)
        assert user_error_in(refused.value) is refused.value, what
        assert str(path) in message and "\n" not in message, (what, message)


def test_a_second_process_is_refused_at_once_naming_the_holder(tmp_path: Path) -> None:
    """Two real processes: the second fails at once, with the first's PID and the lock file;
    once the first is killed (-9: no clean-up at all), the lock is taken over."""
    folder = tmp_path / "checkpoints" / "gan"
    holder = start_lock_holder(folder, LOCK_WAIT_S)
    try:
        started = time.monotonic()
        with pytest.raises(CheckpointInUseError) as error, checkpoint_lock(folder):
            pass
        assert time.monotonic() - started < 5
        message = str(error.value)
        assert f"PID {holder.pid}" in message and str(folder / LOCK_NAME) in message
        assert "wait for it to finish or stop it" in message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=LOCK_WAIT_S)
    assert f"pid={holder.pid}" in (folder / LOCK_NAME).read_text()  # left by the dead process
    with checkpoint_lock(folder) as lock:  # a dead process's lock is taken over
        assert f"pid={os.getpid()}" in lock.read_text()
    assert not lock.exists()  # released and removed


def test_the_lock_is_released_on_errors_and_reentrant(tmp_path: Path) -> None:
    folder = tmp_path / "l1"
    with pytest.raises(RuntimeError, match="boom"), checkpoint_lock(folder) as lock:
        with checkpoint_lock(folder):  # the node inside the training hook's lock
            assert lock.exists()
        assert lock.exists()  # the inner exit did not release the outer hold
        raise RuntimeError("boom")
    assert not lock.exists()
    holder = start_lock_holder(folder, 0)  # another process can take it now
    assert holder.wait(timeout=LOCK_WAIT_S) == 0


def test_a_checkpoint_claiming_more_epochs_or_a_folder_in_its_place_is_refused(
    params: TrainingParams,
) -> None:
    """10^9 epochs "done" trained nothing and the file's weights were registered; a folder
    named last.pt gave "starting fresh" and then a raw IsADirectoryError."""
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "gan")
    path = checkpoint_path(params.checkpoint_dir, "gan")
    state = torch.load(path, weights_only=True)
    state["epoch"] = state["target_epochs"] = 10**9
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"says 1,000,000,000 epochs are done, more than"):
        train_arrays(*data, replace(params, resume=True), "gan")
    path.unlink()
    path.mkdir()
    for resume in (True, False):
        with pytest.raises(CheckpointError, match=r"last.pt is a folder, not a checkpoint file"):
            train_arrays(*data, replace(params, resume=resume), "gan")


@pytest.mark.parametrize(
    ("value", "problem"),
    [(float("nan"), r"holds 64 NaN"), (3e38, r"holds 3e\+38, beyond")],
    ids=["NaN", "3e38"],
)
def test_a_checkpoint_with_non_finite_or_absurd_weights_is_refused(
    params: TrainingParams, value: float, problem: str
) -> None:
    data = synthetic_set(16, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "l1")
    path = checkpoint_path(params.checkpoint_dir, "l1")
    state = torch.load(path, weights_only=True)
    state["generator"]["encoder.1.0.weight"][0] = value
    torch.save(state, path)
    with pytest.raises(
        CheckpointError,
        match=rf"its generator weights are unusable \(its weight encoder\.1\.0\.weight {problem}",
    ):
        train_arrays(*data, replace(params, resume=True), "l1")
