"""temporal.py's key frames inside a shot: they keep the colour carried to them and take
`KEY_FRAME_RENEWAL` of the model's change, so the model's flicker shrinks by that share."""

import numpy as np
import pytest
from PIL import Image

from image_colourisation.imaging import temporal
from tests.imaging.test_video import HEIGHT, WIDTH, CountedModel, smooth_texture


class FlickeringModel(CountedModel):
    """Colours the whole frame with a different a* on each call: 0.1, 0.5, 0.1, 0.5, ..."""

    def colour(self, lightness: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
        self.calls += 1
        ab = np.zeros((1, 2, *lightness.shape[2:]), np.float32)
        ab[:, 0] = 0.1 if self.calls % 2 else 0.5
        return ab


@pytest.fixture
def still_shot() -> list[Image.Image]:
    still = smooth_texture((HEIGHT, WIDTH), 40, 200, seed=4)
    return [Image.fromarray(still).convert("RGB")] * 17


def test_a_key_frame_takes_a_share_of_the_models_change(still_shot):
    """Key frames 0, 8 and 16 of a still shot; the model says a* 0.1, 0.5, 0.1 (normalised;
    x 110 in a*): frame 8 keeps frame 0's colour plus a quarter of the jump, frame 16 frame 8's
    plus a quarter of the jump back, and the frames between change evenly."""
    model = FlickeringModel()
    a = [ab[0, 8:-8, 8:-8].mean() for ab in temporal.carried_ab(still_shot, model, 64, 8)]
    assert model.calls == 3
    renewal = temporal.KEY_FRAME_RENEWAL
    first = 0.1 * 110
    eighth = first + renewal * (0.5 * 110 - first)
    sixteenth = eighth + renewal * (first - eighth)
    assert a[0] == pytest.approx(first, abs=0.01)
    assert a[8] == pytest.approx(eighth, abs=0.05)
    assert a[16] == pytest.approx(sixteenth, abs=0.05)
    steps = np.diff(a[:9])
    assert steps == pytest.approx(np.full(8, (eighth - first) / 8), abs=0.02)


def test_with_renewal_1_a_key_frame_is_the_models_answer(still_shot, monkeypatch):
    monkeypatch.setattr(temporal, "KEY_FRAME_RENEWAL", 1.0)
    a = [ab[0].mean() for ab in temporal.carried_ab(still_shot, FlickeringModel(), 64, 8)]
    assert a[8] == pytest.approx(0.5 * 110, abs=0.01)
