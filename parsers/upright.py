"""Which way a scanned or photographed page is turned, from the shape of its lines of text.

Tesseract reads horizontal lines. Its own orientation detection costs as much as reading the
page, so the geometry is found here on a small copy, in about 30 ms: the angle at which
the rows of ink make the sharpest profile is the angle of the lines of text, skew and quarter
turn at once. Whether the page then stands on its head is decided by Tesseract's confidence
(parsers.ocr); for a page turned a quarter, the side the ascenders point to is the first guess.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter, ImageOps

WORK_WIDTH = 600  # pixels of the small copy: lines of text stay a few pixels apart
COARSE_STEP, FINE_STEP = 2.0, 0.2


def ink(page: Image.Image) -> Image.Image:
    """A small black-and-white copy, ink white: what is darker than its surroundings (so that
    uneven light is not text) and lies on the paper, away from its edges (the edge of a page
    photographed on a desk is a long straight line that is not text)."""
    grey = ImageOps.grayscale(page)
    scale = WORK_WIDTH / max(grey.size)
    if scale < 1:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.int16)
    surroundings = np.asarray(grey.filter(ImageFilter.BoxBlur(12)), dtype=np.int16)
    bright = np.asarray(grey.filter(ImageFilter.BoxBlur(6))) > np.percentile(pixels, 95) * 0.5
    bright_image = Image.fromarray(bright.astype(np.uint8) * 255)
    paper = np.asarray(bright_image.filter(ImageFilter.BoxBlur(5))) == 255  # 5 px from any edge
    return Image.fromarray(((pixels < surroundings - 25) & paper).astype(np.uint8) * 255)


def _sharpness(ys: np.ndarray, xs: np.ndarray, angle: float) -> float:
    """How sharply the ink falls into rows once turned by `angle` (as Image.rotate turns)."""
    theta = np.radians(angle)
    rows = ys * np.cos(theta) - xs * np.sin(theta)
    rows -= rows.min()
    # Each pixel is shared between the two rows it falls between: rounding to the nearest row
    # would, near 45 degrees, comb the profile into full and empty rows and fake a sharp one.
    low = rows.astype(np.int64)
    share = rows - low
    counts = np.bincount(low, 1 - share, low.max() + 2) + np.bincount(low + 1, share, low.max() + 2)
    return float(np.square(np.diff(counts)).sum())


def line_angle(small: Image.Image) -> float:
    """The turn (degrees, counter-clockwise, in [-90, 90)) that makes the lines horizontal."""
    ys, xs = np.nonzero(np.asarray(small))
    if not len(ys):
        return 0.0
    coarse = max(np.arange(-90.0, 90.0, COARSE_STEP), key=lambda a: _sharpness(ys, xs, a))
    fine = np.arange(coarse - COARSE_STEP, coarse + COARSE_STEP + FINE_STEP / 2, FINE_STEP)
    best = float(max(fine, key=lambda a: _sharpness(ys, xs, a)))
    return (best + 90.0) % 180.0 - 90.0


def ascenders_up(small: Image.Image) -> bool:
    """In Latin text letters rise above the x-height (b, d, h, capitals, digits) more than they
    fall below the baseline (g, p, q): more ink sits above the core of each line than under it.
    Only a first guess: text in capitals has no such lean."""
    rows = np.asarray(small, dtype=np.float32).sum(axis=1)
    text = rows > rows.max(initial=0.0) * 0.05
    above = below = 0.0
    start = None
    for index, on in enumerate([*text.tolist(), False]):
        if on and start is None:
            start = index
        elif not on and start is not None:
            band = rows[start:index]
            core = np.nonzero(band > band.max() * 0.5)[0]
            above += float(band[: core[0]].sum())
            below += float(band[core[-1] + 1 :].sum())
            start = None
    return above >= below


def first_turn(page: Image.Image) -> float:
    """The turn to try first (degrees, counter-clockwise): lines horizontal, and for a page
    lying on its side, ascenders up."""
    small = ink(page)
    angle = line_angle(small)
    if abs(angle) > 45 and not ascenders_up(small.rotate(angle, expand=True)):
        angle += 180.0
    return angle
