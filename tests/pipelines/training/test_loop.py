"""The training loop on tiny synthetic data: learning, resume, divergence, checkpoint guards."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from image_colourisation.pipelines.training.checkpoints import checkpoint_path
from image_colourisation.pipelines.training.config import TrainingParams
from image_colourisation.pipelines.training.device import resolve_device
from image_colourisation.pipelines.training.loop import TrainingDivergedError
from image_colourisation.pipelines.training.steps import build_models, gan_step
from tests.pipelines.training.synthetic import synthetic_set, train_arrays


def test_gan_steps_overfit_a_fixed_batch(params: TrainingParams) -> None:
    params = replace(params, width=8, dropout=0.0, lr=2e-3)
    models = build_models(params, torch.device("cpu"))
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, seed=0))
    losses = [gan_step(models, lightness, ab, params)["g_l1_loss"].item() for _ in range(40)]
    assert losses[-1] < 0.6 * losses[0]  # measured: 0.118 -> 0.052
    figures = gan_step(models, lightness, ab, params)
    assert set(figures) == {"d_loss", "d_real", "d_fake", "g_adv_loss", "g_fm_loss", "g_l1_loss"}
    assert 0 < figures["d_real"].item() < 1 and 0 < figures["d_fake"].item() < 1


def test_l1_baseline_has_no_discriminator(params: TrainingParams) -> None:
    models = build_models(replace(params, adversarial_weight=0.0), torch.device("cpu"))
    assert models.discriminator is None and models.d_optimizer is None
    lightness, ab = (torch.from_numpy(a) for a in synthetic_set(8, seed=0))
    assert set(gan_step(models, lightness, ab, params)) == {"g_l1_loss"}


def test_fit_reports_every_epoch_and_leaves_a_checkpoint(params: TrainingParams) -> None:
    seen: list[tuple[int, dict]] = []
    generator = train_arrays(
        synthetic_set(32, 0),
        synthetic_set(8, 1),
        params,
        "gan",
        on_epoch=lambda epoch, metrics, _: seen.append((epoch, metrics)),
    )
    assert [epoch for epoch, _ in seen] == [1, 2]
    assert set(seen[0][1]) == {
        "d_loss", "d_real", "d_fake", "g_adv_loss", "g_fm_loss", "g_l1_loss",
        "val_l1", "val_psnr", "images_per_s", "epoch_seconds",
    }  # fmt: skip
    assert all(np.isfinite(value) for _, metrics in seen for value in metrics.values())
    assert not generator.training
    state = torch.load(checkpoint_path(params.checkpoint_dir, "gan"), weights_only=True)
    assert state["epoch"] == 2 and state["discriminator"] is not None


def _weights(generator: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in generator.state_dict().items()}


@pytest.mark.parametrize("variant", ["gan", "l1"])
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    params: TrainingParams, tmp_path: Path, variant: str
) -> None:
    if variant == "l1":
        params = replace(params, adversarial_weight=0.0)
    data = synthetic_set(32, 0), synthetic_set(8, 1)
    straight = _weights(
        train_arrays(*data, replace(params, checkpoint_dir=str(tmp_path / "a")), variant)
    )

    interrupted = replace(params, checkpoint_dir=str(tmp_path / "b"))
    first = _weights(train_arrays(*data, replace(interrupted, epochs=1), variant))
    resumed = _weights(train_arrays(*data, replace(interrupted, resume=True), variant))

    assert any(not torch.equal(first[name], resumed[name]) for name in first)
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)


def test_same_seed_same_losses(params: TrainingParams, tmp_path: Path) -> None:
    def losses(folder: str) -> list[float]:
        seen: list[float] = []
        run = replace(params, checkpoint_dir=str(tmp_path / folder))
        train_arrays(
            synthetic_set(32, 0),
            synthetic_set(8, 1),
            run,
            "gan",
            lambda _, m, __: seen.append(m["g_l1_loss"]),
        )
        return seen

    assert losses("a") == losses("b")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(params: TrainingParams) -> None:
    data = synthetic_set(32, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "gan")
    path = checkpoint_path(params.checkpoint_dir, "gan")
    good = path.read_bytes()

    poisoned = data[0][0].copy(), data[0][1]
    poisoned[0][:] = np.nan
    with pytest.raises(
        TrainingDivergedError, match=r"became nan at epoch 2.*after epoch 1\) is untouched"
    ):
        train_arrays(poisoned, data[1], replace(params, resume=True), "gan")
    assert path.read_bytes() == good
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_an_interrupted_run_is_not_overwritten_without_resume(params: TrainingParams) -> None:
    data = synthetic_set(32, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "l1")
    state = torch.load(checkpoint_path(params.checkpoint_dir, "l1"), weights_only=True)
    state["target_epochs"] = 5  # as if the process had been killed after epoch 1 of 5
    torch.save(state, checkpoint_path(params.checkpoint_dir, "l1"))
    with pytest.raises(ValueError, match=r"interrupted 'l1' run \(epoch 1 of 5\).*resume=true"):
        train_arrays(*data, params, "l1")


def test_resume_refuses_a_checkpoint_of_another_architecture(params: TrainingParams) -> None:
    data = synthetic_set(32, 0), synthetic_set(8, 1)
    train_arrays(*data, replace(params, epochs=1), "gan")
    with pytest.raises(ValueError, match="architecture.*set the same training parameters"):
        train_arrays(*data, replace(params, width=8, resume=True), "gan")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_a_gpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="training.device is 'cuda'.*use 'auto' or 'cpu'"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
