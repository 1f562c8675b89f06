"""Signed-distance shapes and the canvas the painter composites them on, in torch.

Faces are drawn in *face units*: the origin at the head's centre, x to the right, y down, the
face about 1.5 units wide. Every shape is a signed distance (negative inside) evaluated on a
whole batch at once, on the batch's device, and composited with anti-aliasing over about one
pixel. Each part is evaluated only inside a fixed pixel box: the box its face-units bounding box
can reach under every nuisance value (position, size, rotation), so every tensor has a shape
known without looking at the data: no host round trip, nothing to recompile between batches.
"""

from __future__ import annotations

import functools
import math

import torch

IMAGE_SIZE = 64

# How the nuisance factors place the head (pixels): centre 32 + 4 * position_x,
# 30 + 3 * position_y; 18 * (1 + 0.1 * size) pixels per face unit; tilt 12 * rotation degrees.
CENTRE_X, SHIFT_X = 32.0, 4.0
CENTRE_Y, SHIFT_Y = 30.0, 3.0
PIXELS_PER_UNIT, SIZE_CHANGE = 18.0, 0.1
MAX_TILT_DEGREES = 12.0


def ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance (face units) to an axis-aligned ellipse: (k - 1) / |grad k|
    with k = |((x - cx) / rx, (y - cy) / ry)| the normalised radius (first order in k - 1)."""
    u = (x - cx) / rx
    v = (y - cy) / ry
    k = _norm(u, v).add_(1e-6)
    gradient = _norm(u.div_(rx), v.div_(ry)).add_(k, alpha=1e-6)
    return (k - 1).mul_(k).div_(gradient)


def _norm(u, v):
    """sqrt(u^2 + v^2) elementwise (twice as fast as ``torch.hypot`` on a CPU)."""
    return torch.addcmul(u * u, v, v).sqrt_()


def band(x, y, cx, cy, half_width, bend, thickness):
    """A lens-shaped stroke along the parabola y = cy - bend * u^2 (u = (x - cx) / half_width),
    thickest (``thickness``) in the middle and tapering to points at both ends."""
    u = (x - cx) / half_width
    squared = u * u
    taper = (1 - squared).clamp_(min=0).sqrt_()
    beyond_ends = u.abs_().sub_(1).clamp_(min=0).mul_(half_width)
    return (y - cy).add_(squared.mul_(bend)).abs_().sub_(taper.mul_(thickness)).add_(beyond_ends)


def box(x, y, x0, x1, y0, y1):
    """Signed distance (exact inside, a lower bound outside) to the box [x0, x1] x [y0, y1]."""
    return torch.maximum(torch.maximum(x0 - x, x - x1), torch.maximum(y0 - y, y - y1))


@functools.lru_cache(maxsize=None)
def pixel_box(face_box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """Rows and columns (slices) covering the face-units box (x0, x1, y0, y1) whatever the
    head's position, size and tilt, with 2 pixels to spare for anti-aliasing."""
    x0, x1, y0, y1 = face_box
    across, down = [], []  # corner offsets from the head's centre, in pixels
    for step in range(97):  # tilts from -12 to 12 degrees
        angle = math.radians(MAX_TILT_DEGREES * (step / 48 - 1))
        cos, sin = math.cos(angle), math.sin(angle)
        # Linear in the scale, so the two ends of its range bound everything in between.
        for scale in (PIXELS_PER_UNIT * (1 - SIZE_CHANGE), PIXELS_PER_UNIT * (1 + SIZE_CHANGE)):
            for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1)):
                across.append(scale * (x * cos - y * sin))
                down.append(scale * (x * sin + y * cos))
    rows = slice(max(0, math.floor(CENTRE_Y - SHIFT_Y + min(down)) - 2),
                 min(IMAGE_SIZE, math.ceil(CENTRE_Y + SHIFT_Y + max(down)) + 2))
    cols = slice(max(0, math.floor(CENTRE_X - SHIFT_X + min(across)) - 2),
                 min(IMAGE_SIZE, math.ceil(CENTRE_X + SHIFT_X + max(across)) + 2))
    return rows, cols


class Canvas:
    """A batch of images on one device with per-image face coordinates, composited part by
    part with ``paint``; silhouette parts record where the figure is, for the lighting."""

    def __init__(self, nuisance: dict[str, torch.Tensor], background: torch.Tensor):
        device = background.device
        # Pixel centres (0.5 ... 63.5), and a backdrop that darkens towards the bottom.
        self.centres = torch.arange(IMAGE_SIZE, dtype=torch.float32, device=device) + 0.5
        fade = torch.linspace(1.08, 0.86, IMAGE_SIZE, dtype=torch.float32, device=device)
        # Per image, shaped (N, 1, 1) to broadcast over pixels.
        self.scale = (PIXELS_PER_UNIT * (1 + SIZE_CHANGE * nuisance["size"]))[:, None, None]
        self.cx = (CENTRE_X + SHIFT_X * nuisance["position_x"])[:, None, None]
        self.cy = (CENTRE_Y + SHIFT_Y * nuisance["position_y"])[:, None, None]
        angle = torch.deg2rad(MAX_TILT_DEGREES * nuisance["rotation"])[:, None, None]
        self.cos, self.sin = torch.cos(angle), torch.sin(angle)
        dx = self.centres[None, None, :] - self.cx
        dy = self.centres[None, :, None] - self.cy
        self.x = (dx * self.cos + dy * self.sin) / self.scale
        self.y = (dy * self.cos - dx * self.sin) / self.scale
        self.image = (background[:, :, None, None] * fade[None, None, :, None]).expand(
            -1, -1, -1, IMAGE_SIZE).contiguous()
        self.uncovered = torch.ones_like(self.x)  # 1 - coverage by the silhouette parts
        self._alpha_per_unit: dict[float, torch.Tensor] = {}

    def coordinates(self, face_box):
        """Face coordinates (x, y) of the pixels that ``face_box`` can reach, and the pixel
        box to ``paint`` them into."""
        rows, cols = pixel_box(face_box)
        return self.x[:, rows, cols], self.y[:, rows, cols], (rows, cols)

    def upright(self, where):
        """Face coordinates without the head's tilt at the pixels of ``where``."""
        rows, cols = where
        x = (self.centres[None, None, cols] - self.cx) / self.scale
        y = (self.centres[None, rows, None] - self.cy) / self.scale
        return x, y

    def wave(self, where, along_x: float, along_y: float) -> torch.Tensor:
        """sin(along_x * x + along_y * y) at the pixels of ``where``. The phase is linear in
        the pixel's row and column, so sin(column part + row part) is expanded into sines and
        cosines of each part alone: two small tables instead of a sine per pixel."""
        rows, cols = where
        across = (along_x * self.cos - along_y * self.sin) / self.scale  # phase per column
        down = (along_x * self.sin + along_y * self.cos) / self.scale    # phase per row
        column_phase = across * (self.centres[None, None, cols] - self.cx)
        row_phase = down * (self.centres[None, rows, None] - self.cy)
        return torch.addcmul(torch.sin(column_phase) * torch.cos(row_phase),
                             torch.cos(column_phase), torch.sin(row_phase))

    def paint(self, distance, colour, where, opacity=None, softness=1.0, silhouette=False):
        """Composite ``colour`` ((3,), (N, 3) or (N, 3, h, w)) inside ``distance`` < 0,
        anti-aliased over ``softness`` pixels, with an ``opacity`` (a number, or one per image:
        a part only some faces have is painted on all with opacity 0 or 1). Silhouette shapes
        (hair, head, body, hat) mark where the light falls."""
        rows, cols = where
        if softness not in self._alpha_per_unit:
            self._alpha_per_unit[softness] = self.scale * (-1 / softness)
        alpha = (distance * self._alpha_per_unit[softness]).add_(0.5).clamp_(0, 1)
        if opacity is not None:
            alpha.mul_(opacity[:, None, None] if torch.is_tensor(opacity) else opacity)
        if colour.dim() < 4:
            colour = colour.reshape(-1, 3, 1, 1)
        self.image[:, :, rows, cols].lerp_(colour, alpha[:, None])  # in place, through a view
        if silhouette:
            self.uncovered[:, rows, cols].mul_(1 - alpha)

    def lit(self, lighting: torch.Tensor) -> torch.Tensor:
        """The finished images: light from one side (``lighting`` per image in [-1, 1]) over
        everything but the backdrop, clipped to [0, 1]."""
        light = torch.clamp(self.x, -1.5, 1.5).mul_((0.22 * lighting)[:, None, None])
        light.mul_(1 - self.uncovered).add_(1)
        return self.image.mul_(light[:, None]).clamp_(0, 1)
