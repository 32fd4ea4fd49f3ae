"""Metric tests against values worked out by hand or known exactly, and against scikit-image."""

import numpy as np
import pytest
from scipy.linalg import sqrtm
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from image_colourisation.imaging import colour, metrics


@pytest.fixture
def photos() -> np.ndarray:
    """Four smooth, colourful 32×32 test images (random noise would make SSIM trivial)."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, size=(4, 4, 4, 3)).astype(np.float64)
    smooth = coarse.repeat(8, axis=1).repeat(8, axis=2) + rng.normal(0, 12, size=(4, 32, 32, 3))
    return np.clip(smooth, 0, 255).astype(np.uint8)


def noisy(images: np.ndarray, scale: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, scale, size=images.shape)
    return np.clip(images + noise, 0, 255).astype(np.uint8)


def test_absolute_and_squared_error_by_hand() -> None:
    truth = np.zeros((2, 2, 2, 3), dtype=np.uint8)
    prediction = truth.copy()
    prediction[0, 0, 0, 0] = 12  # image 0: one channel of one pixel off by 12 (of 12 values)
    prediction[1] = 255  # image 1: every value off by 255, no uint8 wrap-around
    np.testing.assert_allclose(metrics.absolute_error(truth, prediction), [1.0, 255.0])
    np.testing.assert_allclose(metrics.squared_error(truth, prediction), [12.0, 255.0**2])


def test_psnr_of_a_known_mse() -> None:
    assert metrics.psnr(255.0**2 / 100.0) == pytest.approx(20.0)
    assert metrics.psnr(1.0) == pytest.approx(20 * np.log10(255.0))


def test_psnr_of_the_dataset_mse_matches_skimage_on_the_stacked_batch(photos) -> None:
    prediction = noisy(photos, 20)
    mse = metrics.squared_error(photos, prediction).mean()
    expected = peak_signal_noise_ratio(photos, prediction, data_range=255)
    assert metrics.psnr(mse) == pytest.approx(expected, rel=1e-12)


def test_a_perfect_image_does_not_make_psnr_infinite(photos) -> None:
    prediction = noisy(photos, 20)
    prediction[0] = photos[0]
    mse = metrics.squared_error(photos, prediction).mean()
    assert np.isfinite(metrics.psnr(mse))
    assert metrics.psnr(0.0) == metrics.PSNR_MAX_DB


def test_ssim_matches_skimage_image_by_image(photos) -> None:
    prediction = noisy(photos, 25)
    expected = [
        structural_similarity(t, p, channel_axis=-1, data_range=255)
        for t, p in zip(photos, prediction, strict=True)
    ]
    np.testing.assert_allclose(metrics.ssim(photos, prediction), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(metrics.ssim(photos, photos), 1.0, rtol=1e-6)


def test_perfect_prediction_scores_perfectly(photos) -> None:
    lab = colour.rgb_to_lab(photos)
    np.testing.assert_array_equal(metrics.ciede2000(lab, lab), 0.0)
    np.testing.assert_array_equal(metrics.ab_auc(lab, lab), 1.0)
    np.testing.assert_array_equal(metrics.accuracy(lab, lab), 1.0)
    np.testing.assert_array_equal(metrics.absolute_error(photos, photos), 0.0)


def test_ciede2000_is_skimages_mean(photos) -> None:
    truth, prediction = colour.rgb_to_lab(photos), colour.rgb_to_lab(noisy(photos, 15))
    expected = deltaE_ciede2000(truth, prediction, channel_axis=-1).mean(axis=(1, 2))
    np.testing.assert_allclose(metrics.ciede2000(truth, prediction), expected, rtol=1e-5)


def test_gray_images_have_no_colourfulness() -> None:
    gray = np.random.default_rng(0).integers(0, 256, size=(3, 8, 8, 1), dtype=np.uint8)
    np.testing.assert_array_equal(metrics.colourfulness(gray.repeat(3, axis=-1)), 0.0)


def test_colourfulness_of_a_hand_made_image() -> None:
    # Half the pixels pure red (255, 0, 0), half black: rg is 255 or 0, yb is 127.5 or 0.
    # σrg = 127.5, σyb = 63.75, μrg = 127.5, μyb = 63.75, so
    # M = √(127.5² + 63.75²) + 0.3·√(127.5² + 63.75²) = 1.3 · 63.75·√5.
    image = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    image[0, 0, :, 0] = 255
    np.testing.assert_allclose(metrics.colourfulness(image), [1.3 * 63.75 * np.sqrt(5)])


def test_colourfulness_keeps_the_sign_of_rg_and_yb() -> None:
    # Uniform images: σ = 0, so M = 0.3·|μ|. Pure green has rg = −255, yb = 127.5; an unsigned
    # (absolute-valued) rg would give the same, but a half-red half-green image would not:
    # signed rg averages to 0 there, and its spread is what makes it colourful.
    green = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    green[..., 1] = 255
    np.testing.assert_allclose(metrics.colourfulness(green), [0.3 * np.hypot(255, 127.5)])
    mixed = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    mixed[0, 0, :, 0] = 255
    mixed[0, 1, :, 1] = 255
    # rg = ±255 → σrg = 255, μrg = 0; yb = 127.5 everywhere → σyb = 0, μyb = 127.5.
    np.testing.assert_allclose(metrics.colourfulness(mixed), [255 + 0.3 * 127.5])


def test_auc_counts_pixels_within_each_threshold() -> None:
    truth = np.zeros((1, 1, 2, 3))
    prediction = truth.copy()
    prediction[0, 0, 1, 1:] = [3.0, 4.0]  # one pixel of two has an ab error of exactly 5
    # t = 0..4: half the pixels within; t = 5..150: all. Mean over the 151 thresholds:
    expected = (5 * 0.5 + 146 * 1.0) / 151
    np.testing.assert_allclose(metrics.ab_auc(truth, prediction), [expected])


def test_gray_prediction_auc_falls_with_the_colour_it_misses() -> None:
    truth = np.zeros((1, 1, 1, 3))
    truth[..., 1] = 200.0  # ab error 200 is past every threshold
    np.testing.assert_allclose(metrics.ab_auc(truth, np.zeros_like(truth)), [0.0])


def test_accuracy_uses_two_percent_of_each_channels_range() -> None:
    truth = np.zeros((1, 1, 4, 3))
    prediction = truth.copy()
    prediction[0, 0, 0] = [2.0, 4.0, -4.0]  # L within 2, a and b within 4.4: counts
    prediction[0, 0, 1] = [3.0, 0.0, 0.0]  # L off by 3: misses
    prediction[0, 0, 2] = [0.0, 5.0, 0.0]  # a off by 5: misses
    np.testing.assert_allclose(metrics.accuracy(truth, prediction), [0.5])


def test_metrics_reject_mismatched_batches(photos) -> None:
    with pytest.raises(ValueError, match="one shape"):
        metrics.absolute_error(photos, photos[:2])


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    features = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 64))
    assert metrics.frechet_distance(features, features) == pytest.approx(0, abs=1e-6)
    # The order of the samples does not matter, nor their float precision.
    shuffled = features[::-1].astype(np.float32)
    assert metrics.frechet_distance(features, shuffled) == pytest.approx(0, abs=1e-3)


def test_frechet_distance_of_large_samples_approaches_the_closed_form() -> None:
    """Diagonal covariances: FD = Σ(μa − μb)² + Σ(√σ²a − √σ²b)²."""
    rng = np.random.default_rng(0)
    mean_a, mean_b = rng.normal(0, 1, size=6), rng.normal(0, 1, size=6)
    variance_a, variance_b = rng.uniform(0.5, 4, size=6), rng.uniform(0.5, 4, size=6)
    a = mean_a + np.sqrt(variance_a) * rng.standard_normal((200_000, 6))
    b = mean_b + np.sqrt(variance_b) * rng.standard_normal((200_000, 6))
    spread_a, spread_b = np.sqrt(variance_a), np.sqrt(variance_b)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((spread_a - spread_b) ** 2)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert metrics.frechet_distance(b, a) == pytest.approx(metrics.frechet_distance(a, b))


def test_frechet_distance_matches_the_sqrtm_formula_with_full_covariances() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    b = rng.normal(size=(400, 16)) @ rng.normal(size=(16, 16)) * 0.5 + 1.0
    covariance_a, covariance_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(
        covariance_a + covariance_b - 2 * sqrtm(covariance_a @ covariance_b).real
    )
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_stays_finite_with_singular_covariances() -> None:
    rng = np.random.default_rng(2)
    few = rng.normal(size=(5, 64))  # 5 samples of 64 features: rank 4 at most
    distance = metrics.frechet_distance(few, rng.normal(size=(7, 64)))
    assert np.isfinite(distance) and distance > 0
    assert metrics.frechet_distance(few, few) == pytest.approx(0, abs=1e-6)
    # Dead (constant) features: zero covariance, only the means count.
    constant = np.zeros((10, 3))
    assert metrics.frechet_distance(constant, constant + [1.0, 2.0, 0.0]) == pytest.approx(5.0)


def test_frechet_distance_needs_two_feature_matrices_of_one_width() -> None:
    with pytest.raises(ValueError, match=r"\(N, D\) and \(M, D\)"):
        metrics.frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least two samples"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))


def lab_image(ab: list[list[float]]) -> np.ndarray:
    """A (1, 1, W, 3) Lab image at L* 50 with the given a*, b* per pixel."""
    pixels = np.array(ab, dtype=np.float64)
    return np.concatenate([np.full((len(pixels), 1), 50.0), pixels], axis=1)[None, None]


def test_blotch_share_needs_strong_colour_far_from_the_truth() -> None:
    truth = lab_image([[0, 0], [0, 0], [50, 0], [-30, 0]])
    prediction = lab_image(
        [
            [20, 0],  # chroma 20 > 15, but only 20 from the truth
            [40, 0],  # chroma 40, 40 from the truth: a blotch
            [10, 0],  # 40 from the truth, but chroma 10: too weak to be one
            [0, 12],  # chroma 12, √(30² + 12²) = 32.3 from the truth: too weak
        ]
    )
    assert metrics.blotch_share(truth, prediction).tolist() == [0.25]
    assert metrics.blotch_share(truth, lab_image([[0, 0]] * 4)).tolist() == [0.0]  # gray
    assert metrics.blotch_share(truth, prediction, min_chroma=11).tolist() == [0.5]


def test_colourfulness_ratio_is_the_ratio_of_the_means() -> None:
    assert metrics.colourfulness_ratio(np.array([10.0, 20.0]), np.array([20.0, 40.0])) == 0.5
    assert np.isnan(metrics.colourfulness_ratio(np.array([1.0]), np.array([0.0])))


def test_kid_by_hand_with_the_cubic_kernel() -> None:
    # d = 1: k(x, y) = (xy + 1)³. Within a: k(0, 1) = 1; within b: k(1, 2) = 27; across:
    # k(0, 1) = 1, k(0, 2) = 1, k(1, 1) = 8, k(1, 2) = 27, mean 9.25. 1 + 27 - 2 · 9.25 = 9.5.
    a, b = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert metrics.kernel_inception_distance(a, b) == pytest.approx(9.5)
    # d = 2 divides the dot product: k = (x·y / 2 + 1)³; within a, k((1, 1), (0, 0)) = 1 and
    # within b likewise; across, (1, 1)·(1, 1) / 2 + 1 = 2 → 8, the other three pairs 1.
    a2 = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert metrics.kernel_inception_distance(a2, a2) == pytest.approx(
        1 + 1 - 2 * (8 + 1 + 1 + 1) / 4
    )


def test_kid_is_unbiased_for_samples_of_one_distribution() -> None:
    rng = np.random.default_rng(0)
    values = [
        metrics.kernel_inception_distance(rng.normal(size=(20, 8)), rng.normal(size=(20, 8)))
        for _ in range(300)
    ]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))  # 0 within noise
    shifted = metrics.kernel_inception_distance(rng.normal(size=(50, 8)), rng.normal(1, 1, (50, 8)))
    assert shifted > 10 * np.std(values)


def test_paired_kid_leaves_each_photos_own_pair_out_of_the_cross_term() -> None:
    # As above, across without (0, 1) and (1, 2), the pairs of one photo: (1 + 8) / 2 = 4.5.
    a, b = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert metrics.kernel_inception_distance(a, b, paired=True) == pytest.approx(1 + 27 - 9)
    # A set against itself: 0 when paired; every cross pair of a photo with itself, k(x, x),
    # pulls the unpaired estimate below 0.
    same = np.random.default_rng(0).normal(size=(10, 4))
    assert metrics.kernel_inception_distance(same, same, paired=True) == pytest.approx(0)
    assert metrics.kernel_inception_distance(same, same) < -0.1
    with pytest.raises(ValueError, match="one size"):
        metrics.kernel_inception_distance(same, same[:-1], paired=True)


def test_kid_bootstrap_leaves_out_a_photo_paired_with_its_own_duplicate() -> None:
    # Two photos: a draw of both (either order) gives 19; a draw of one photo twice has no
    # distinct pair and is dropped (counting its k(x, x) would give 1 + 8 - 2 · 1 = 7).
    a, b = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    assert metrics.kid_bootstrap(a, b, draws=200) == pytest.approx((19, 19))


def test_kid_bootstrap_interval_holds_the_estimate() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(40, 16))
    row = truth + rng.normal(0.5, 1, size=truth.shape)
    low, high = metrics.kid_bootstrap(truth, row, draws=300, seed=3)
    assert low < metrics.kernel_inception_distance(truth, row, paired=True) < high
    assert metrics.kid_bootstrap(truth, row, draws=300, seed=3) == (low, high)  # seeded
    with pytest.raises(ValueError, match="one size"):
        metrics.kid_bootstrap(truth, row[:-1])


def test_semantic_recovery_against_the_originals_labels() -> None:
    # The original agrees with itself on every photo: (agree - agree_gray) / (1 - agree_gray).
    row, gray = np.array([1.0, 1, 0, 0]), np.array([1.0, 0, 0, 0])
    assert metrics.semantic_recovery(row, gray, np.ones(4)) == pytest.approx((0.5 - 0.25) / 0.75)


def test_paired_bootstrap_of_a_mean_is_a_seeded_percentile_interval() -> None:
    values = np.arange(10.0)
    low, high = metrics.paired_bootstrap(np.mean, [values], draws=1000, seed=0)
    assert 2.0 < low < 4.5 < high < 7.0  # the mean 4.5, standard error 0.91
    assert metrics.paired_bootstrap(np.mean, [np.full(5, 3.0)]) == (3.0, 3.0)
