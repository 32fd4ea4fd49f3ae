"""Colourisation quality metrics: pure, vectorised functions on batches of images.

Every per-image function takes a batch, ground truth first, and returns one float64 value per
image, so the evaluation can average them over the whole test set or over one class. All test
images have the same size, so the mean of per-image means equals the mean over all pixels.

Conventions: RGB images are uint8 (N, H, W, 3) on 0..255; Lab images are float (N, H, W, 3)
CIE L*a*b* (D65), as `colour.rgb_to_lab` returns them.
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy.ndimage import uniform_filter
from skimage.color import deltaE_ciede2000

AUC_MAX_THRESHOLD = 150
PSNR_MAX_DB = 100.0


def _check_pair(truth: np.ndarray, prediction: np.ndarray) -> None:
    if truth.shape != prediction.shape or truth.ndim != 4 or truth.shape[-1] != 3:
        raise ValueError(
            "metrics compare batches of images of one shape (N, H, W, 3), got "
            f"truth {truth.shape} and prediction {prediction.shape}"
        )


def absolute_error(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Mean absolute error per image over pixels and R, G, B on the 0..255 scale.

    Its dataset mean is the MAE Nazeri et al. 2018 report for CIFAR-10 (5.1 for their GAN).
    """
    _check_pair(truth, prediction)
    difference = np.abs(truth.astype(np.int16) - prediction.astype(np.int16))
    return difference.mean(axis=(1, 2, 3), dtype=np.float64)


def squared_error(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Mean squared error per image over pixels and R, G, B on the 0..255 scale."""
    _check_pair(truth, prediction)
    difference = truth.astype(np.int32) - prediction.astype(np.int32)
    return (difference * difference).mean(axis=(1, 2, 3), dtype=np.float64)


def psnr(mean_squared_error: float, peak: float = 255.0, max_db: float = PSNR_MAX_DB) -> float:
    """Peak signal-to-noise ratio in dB, 10·log10(peak² / MSE), of a dataset-level MSE.

    Give it the mean of `squared_error` over the images: that is PSNR over the dataset as one
    signal (what `skimage.metrics.peak_signal_noise_ratio` returns for the stacked batch), so a
    perfectly coloured image cannot turn the mean into inf the way an average of per-image PSNRs
    would. A dataset with no error at all scores `max_db` (100 dB) rather than inf, which keeps
    the reports finite and JSON-safe.
    """
    if mean_squared_error < 0:
        raise ValueError(f"an MSE cannot be negative, got {mean_squared_error}")
    if mean_squared_error == 0:
        return max_db
    return float(min(10.0 * np.log10(peak**2 / mean_squared_error), max_db))


def ssim(truth: np.ndarray, prediction: np.ndarray, window: int = 7) -> np.ndarray:
    """Mean structural similarity per image (Wang et al. 2004), averaged over R, G, B.

    The same numbers as `skimage.metrics.structural_similarity(t, p, channel_axis=-1,
    data_range=255)` with its defaults (7×7 uniform window, K1 = 0.01, K2 = 0.03, sample
    covariance, the border of half a window left out), computed for the whole batch at once:
    a per-image call costs 10,000 Python round trips on the test set. In float32, which
    halves the time and stays within 1e-6 of scikit-image's float64 result.
    """
    _check_pair(truth, prediction)
    x = truth.astype(np.float32)
    y = prediction.astype(np.float32)
    size = (1, window, window, 1)  # filter over the two image axes only

    def mean(values: np.ndarray) -> np.ndarray:
        return uniform_filter(values, size=size)

    samples = window * window
    covariance_norm = samples / (samples - 1)
    mean_x, mean_y = mean(x), mean(y)
    var_x = covariance_norm * (mean(x * x) - mean_x * mean_x)
    var_y = covariance_norm * (mean(y * y) - mean_y * mean_y)
    cov_xy = covariance_norm * (mean(x * y) - mean_x * mean_y)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    similarity = ((2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)) / (
        (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
    )
    pad = (window - 1) // 2
    return similarity[:, pad:-pad, pad:-pad, :].mean(axis=(1, 2, 3), dtype=np.float64)


def ciede2000(truth_lab: np.ndarray, prediction_lab: np.ndarray) -> np.ndarray:
    """Mean CIEDE2000 colour difference per image (Sharma et al. 2005), via scikit-image.

    `skimage.color.deltaE_ciede2000` with its defaults (kL = kC = kH = 1). About 1 is a
    just-noticeable difference; the gray baseline scores about 10 on CIFAR-10.
    """
    _check_pair(truth_lab, prediction_lab)
    difference = deltaE_ciede2000(
        truth_lab.astype(np.float32), prediction_lab.astype(np.float32), channel_axis=-1
    )
    return difference.mean(axis=(1, 2), dtype=np.float64)


def colourfulness(rgb: np.ndarray) -> np.ndarray:
    """Hasler & Süsstrunk 2003 colourfulness M3 per image, on RGB 0..255.

    rg = R − G and yb = (R + G)/2 − B, signed; M = √(σ²rg + σ²yb) + 0.3·√(μ²rg + μ²yb) with
    population standard deviations and means over the image's pixels. A gray image (R = G = B)
    scores 0; CIFAR-10 photographs average about 34. ("Measuring colourfulness in natural
    images", Proc. SPIE 5007, 2003.)
    """
    if rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise ValueError(f"colourfulness needs images of shape (N, H, W, 3), got {rgb.shape}")
    channels = rgb.astype(np.float64)
    red, green, blue = channels[..., 0], channels[..., 1], channels[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = np.sqrt(rg.var(axis=(1, 2)) + yb.var(axis=(1, 2)))
    centre = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return spread + 0.3 * centre


def ab_auc(
    truth_lab: np.ndarray, prediction_lab: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD
) -> np.ndarray:
    """Zhang et al. 2016 raw accuracy AuC per image: the area under the curve of the share of
    pixels whose ab error ‖Δab‖₂ is at most t, for t = 0, 1, …, 150, normalised to [0, 1]
    (the mean of the 151 shares). A perfect prediction scores 1. ("Colorful Image
    Colorization", ECCV 2016, section 3.1.)
    """
    _check_pair(truth_lab, prediction_lab)
    error = np.hypot(*(truth_lab[..., 1:] - prediction_lab[..., 1:]).transpose(3, 0, 1, 2))
    # e <= t for an integer t exactly when ceil(e) <= t: count pixels per ceil(e), cumulate.
    bins = np.minimum(np.ceil(error), max_threshold + 1).astype(np.int64).reshape(len(error), -1)
    offsets = np.arange(len(error))[:, None] * (max_threshold + 2)
    counts = np.bincount((bins + offsets).ravel(), minlength=len(error) * (max_threshold + 2))
    within = counts.reshape(len(error), max_threshold + 2).cumsum(axis=1)[:, : max_threshold + 1]
    return within.mean(axis=1) / bins.shape[1]


def accuracy(truth_lab: np.ndarray, prediction_lab: np.ndarray, percent: float = 2.0) -> np.ndarray:
    """Nazeri et al. 2018 pixel accuracy per image: the share of pixels whose rounded L, a and
    b all lie within `percent` % of their range of the truth (L: 100, so 2 levels; a, b: 220,
    so 4.4 levels at the paper's 2 %), as `pixelwise_accuracy` in the authors' code.
    ("Image Colorization using Generative Adversarial Networks", AMDO 2018.)
    """
    _check_pair(truth_lab, prediction_lab)
    difference = np.abs(np.round(truth_lab) - np.round(prediction_lab))
    tolerance = np.array([1.0, 2.2, 2.2]) * percent  # % of the ranges 100, 220, 220
    within = np.all(difference <= tolerance, axis=-1)
    return within.mean(axis=(1, 2), dtype=np.float64)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two feature sets (N, D) and (M, D).

    FID's formula (Heusel et al. 2017) with any embedding: ‖μa − μb‖² + Tr(Σa + Σb −
    2·(Σa Σb)^½), means and sample covariances (ddof 1) in float64. The trace of the matrix
    square root is computed in the symmetric form Tr((√Σa Σb √Σa)^½), the sum of the square
    roots of that symmetric matrix's eigenvalues: real by construction, no complex parts to
    drop, and fine with singular covariances (fewer images than dimensions, dead features),
    where rounding can leave eigenvalues a hair below 0; they are clamped to 0, and so is the
    result. Identical sets score 0 up to rounding. Like FID, the estimate from finite samples
    is biased upwards, the more so the fewer samples per feature dimension: compare distances
    measured on equally many images.
    """
    a, b = (np.asarray(features, dtype=np.float64) for features in (features_a, features_b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            "the Fréchet distance compares two feature matrices (N, D) and (M, D), got "
            f"{a.shape} and {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"a covariance needs at least two samples per set, got {len(a)} and {len(b)}"
        )
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    covariance_a = np.atleast_2d(np.cov(a, rowvar=False))
    covariance_b = np.atleast_2d(np.cov(b, rowvar=False))
    eigenvalues, eigenvectors = np.linalg.eigh(covariance_a)
    root_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    middle = root_a @ covariance_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    spread = np.trace(covariance_a) + np.trace(covariance_b) - 2 * cross
    distance = np.sum((mean_a - mean_b) ** 2) + spread
    return float(max(distance, 0.0))


def semantic_recovery(row_hits: np.ndarray, gray_hits: np.ndarray, truth_hits: np.ndarray) -> float:
    """(acc_row - acc_gray) / (acc_truth - acc_gray): the share of the class information that
    colour carries which a row's colours restore (0: none beyond gray, 1: all the truth's).
    NaN when colour carries none here (the truth scores no better than gray)."""
    gap = truth_hits.mean() - gray_hits.mean()
    return float((row_hits.mean() - gray_hits.mean()) / gap) if gap else float("nan")


def paired_bootstrap(
    statistic: Callable[..., float],
    samples: Sequence[np.ndarray],
    draws: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """The `level` percentile interval of `statistic(*samples)` over `draws` resamplings of
    the images with replacement, the SAME images for every array (a paired bootstrap: the rows
    are compared on the same pictures, so their shared difficulty cancels)."""
    count = len(samples[0])
    rng = np.random.default_rng(seed)
    values = np.empty(draws)
    for draw in range(draws):
        chosen = rng.integers(0, count, count)
        values[draw] = statistic(*(sample[chosen] for sample in samples))
    if np.isnan(values).all():
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def blotch_share(
    truth_lab: np.ndarray,
    prediction_lab: np.ndarray,
    min_chroma: float = 15.0,
    min_error: float = 30.0,
) -> np.ndarray:
    """The share of pixels per image that carry a strong wrong colour: predicted chroma
    √(a² + b²) above `min_chroma` AND an ab distance to the truth above `min_error` (Lab units).

    A model that leaves a pixel gray scores 0 there however wrong that is; a blotch is colour
    painted with confidence where it does not belong (a red sky, a blue face).
    """
    _check_pair(truth_lab, prediction_lab)
    ab = prediction_lab[..., 1:].astype(np.float64)
    chroma = np.hypot(ab[..., 0], ab[..., 1])
    error = np.hypot(*(truth_lab[..., 1:] - ab).transpose(3, 0, 1, 2))
    return ((chroma > min_chroma) & (error > min_error)).mean(axis=(1, 2), dtype=np.float64)


def colourfulness_ratio(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Mean colourfulness of the predictions over the truth's (per-image `colourfulness`
    values, the same images in both): 1 is as colourful as the photos, 0 gray. NaN for gray
    truth."""
    reference = truth.mean()
    return float(prediction.mean() / reference) if reference else float("nan")


def _polynomial_kernel(features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
    """KID's kernel k(x, y) = (x·y / d + 1)³ between every row of a and of b."""
    return (features_a @ features_b.T / features_a.shape[1] + 1.0) ** 3


def _kernels(
    features_a: np.ndarray, features_b: np.ndarray, paired: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel matrices within a, within b and across, of checked feature sets."""
    a, b = (np.asarray(features, dtype=np.float64) for features in (features_a, features_b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(
            "KID compares two feature matrices (N, D) and (M, D) of at least two rows each, "
            f"got {a.shape} and {b.shape}"
        )
    if paired and len(a) != len(b):
        raise ValueError(f"paired sets have one size, got {len(a)} and {len(b)}")
    return _polynomial_kernel(a, a), _polynomial_kernel(b, b), _polynomial_kernel(a, b)


def kernel_inception_distance(
    features_a: np.ndarray, features_b: np.ndarray, paired: bool = False
) -> float:
    """KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): an unbiased estimate of the squared
    MMD between the distributions of two feature sets (N, D) and (M, D), with the cubic
    polynomial kernel k(x, y) = (x·y / d + 1)³.

    The mean k over distinct pairs within a, plus the same within b, minus twice the mean k
    across. Unlike the Fréchet distance it has no bias from few samples, so tens of photos give
    an honest figure (a wide one: give it an interval); it can be slightly negative when two
    sets are alike. Across independent sets every pair counts. `paired` sets (row i of both is
    one photo: an original and its colourisation) leave each photo's own pair out of the cross
    term too, Gretton et al. 2012's MMD²_u: a colourisation resembles its own original more
    than the distribution does, which would pull the estimate down.
    """
    kernels = _kernels(features_a, features_b, paired)
    return _kid(kernels, np.arange(len(kernels[0])), np.arange(len(kernels[1])), paired)


def _kid(
    kernels: tuple[np.ndarray, np.ndarray, np.ndarray],
    chosen_a: np.ndarray,
    chosen_b: np.ndarray,
    paired: bool,
) -> float:
    """The estimate on the rows `chosen_a` of a and `chosen_b` of b, from the kernel matrices
    (within a, within b, across); pairs of a row with itself (also with a resampled duplicate
    of it) are left out within a set, and across when the sets are paired."""

    def mean(kernel: np.ndarray, rows: np.ndarray, columns: np.ndarray, distinct: bool) -> float:
        block = kernel[np.ix_(rows, columns)]
        return float(block[rows[:, None] != columns[None, :]].mean() if distinct else block.mean())

    within_a, within_b, across = kernels
    return (
        mean(within_a, chosen_a, chosen_a, True)
        + mean(within_b, chosen_b, chosen_b, True)
        - 2 * mean(across, chosen_a, chosen_b, paired)
    )


def kid_bootstrap(
    features_a: np.ndarray,
    features_b: np.ndarray,
    draws: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """`paired_bootstrap`'s interval of the paired `kernel_inception_distance` (row i of both
    sets is one photo): each draw resamples the photos, and pairs of a photo with its own
    duplicate are left out, whose k(x, x) would bias the estimate upwards."""
    kernels = _kernels(features_a, features_b, paired=True)

    def statistic(chosen: np.ndarray) -> float:
        # a draw of one photo only has no distinct pair: no estimate (nan, dropped)
        return _kid(kernels, chosen, chosen, True) if len(np.unique(chosen)) > 1 else np.nan

    return paired_bootstrap(statistic, [np.arange(len(kernels[0]))], draws, seed, level)


def warp_error(
    previous: np.ndarray, current: np.ndarray, flow: np.ndarray, carried: np.ndarray
) -> float:
    """Lai et al. 2018's warp error of one pair of output frames: the mean squared difference
    between `current` (H, W, C) and `previous` warped onto it by `flow` (H, W, 2: where each
    pixel of the current *input* frame is in the previous one), over the pixels `carried`
    (H, W bool: not occluded). A clip's E_warp is its pairs' mean; 0 when nothing flickers.

    Bilinear sampling, edge pixels repeated; nothing carried gives 0 (nothing to compare).
    """
    if not carried.any():
        return 0.0
    height, width = carried.shape
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    x = np.clip(columns + flow[..., 0], 0, width - 1)
    y = np.clip(rows + flow[..., 1], 0, height - 1)
    left, top = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    right, bottom = np.minimum(left + 1, width - 1), np.minimum(top + 1, height - 1)
    across, down = (x - left)[..., None], (y - top)[..., None]
    source = previous.astype(np.float64)
    warped = (1 - down) * (
        (1 - across) * source[top, left] + across * source[top, right]
    ) + down * ((1 - across) * source[bottom, left] + across * source[bottom, right])
    difference = (current.astype(np.float64) - warped)[carried]
    return float((difference**2).mean())


def colour_distribution_consistency(
    frames: Sequence[np.ndarray], gaps: Sequence[int] = (1, 2, 4), bins: int = 256
) -> float:
    """CDC (Liu et al., TCVC): the Jensen-Shannon divergence (natural log) between the
    per-channel histograms of frames `gap` apart, averaged over the pairs and the three
    channels for each gap, then over `gaps`. `frames` are RGB uint8 (H, W, 3); 0 when every
    frame has the same colours, larger as colour flickers. Gaps the clip is too short for are
    left out."""
    histograms = [
        np.stack(
            [
                np.bincount(frame[..., c].ravel(), minlength=bins) / frame[..., c].size
                for c in range(3)
            ]
        )
        for frame in frames
    ]
    per_gap = [
        np.mean(
            [_js_divergence(histograms[t], histograms[t + gap]) for t in range(len(frames) - gap)]
        )
        for gap in gaps
        if gap < len(frames)
    ]
    return float(np.mean(per_gap)) if per_gap else 0.0


def _js_divergence(first: np.ndarray, second: np.ndarray) -> float:
    """Jensen-Shannon divergence of two stacks of distributions (C, bins), averaged over C."""
    middle = (first + second) / 2

    def kl(p: np.ndarray) -> np.ndarray:
        ratio = np.divide(p, middle, out=np.ones_like(p), where=p > 0)
        return (p * np.log(ratio)).sum(axis=-1)

    return float((0.5 * kl(first) + 0.5 * kl(second)).mean())
