"""The painter: a face's parts, back to front, as signed-distance shapes on a ``Canvas``.

Every function here works on a whole batch of faces at once, with torch on the batch's device
(the CPU, or the GPU a model trains on). A part only some faces have (a hat, a goatee) is
painted on every face with opacity 1 or 0, so no step depends on the data's values: the whole
render is a fixed sequence of tensor operations, with no host round trip.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass

import numpy as np
import torch

from disentangle import runtime
from disentangle.data.faces.canvas import Canvas, band, box, ellipse
from disentangle.data.faces.factors import ATTRIBUTES, NUISANCES, fixed_nuisance

#: Faces rendered at once on the CPU: enough to vectorise, few enough to stay in cache.
CPU_RENDER_BATCH = 128
#: Faces rendered at once on an accelerator: its launches are paid per call, so as many as
#: fit comfortably (about 0.3 MB of temporaries per face).
DEVICE_RENDER_BATCH = 4096

# Colours (RGB in [0, 1]); the skin and hair palettes are ramps that skin_tone and hair_tone
# walk along.
COLOURS = {
    "skin": [[0.98, 0.86, 0.76], [0.94, 0.76, 0.63], [0.80, 0.58, 0.44],
             [0.58, 0.40, 0.29], [0.40, 0.27, 0.20]],
    "hair": [[0.62, 0.45, 0.28], [0.58, 0.28, 0.14], [0.40, 0.25, 0.14], [0.22, 0.14, 0.08]],
    "pale": [0.98, 0.93, 0.90], "blond": [0.95, 0.83, 0.52], "hat": [0.50, 0.10, 0.12],
    "clothes": [0.20, 0.22, 0.28], "lipstick": [0.78, 0.08, 0.20],
    "eyeshadow": [0.50, 0.30, 0.52], "blush": [0.96, 0.42, 0.48], "lip_tint": [0.82, 0.5, 0.5],
    "eye_white": [0.95, 0.95, 0.95], "iris": [0.32, 0.2, 0.12], "pupil": [0.05, 0.05, 0.05],
    "line": [0.12, 0.12, 0.12], "mouth": [0.3, 0.06, 0.08], "lens": [0.75, 0.85, 0.95],
    "frame": [0.08, 0.08, 0.1],
}
# The backdrop's saturation and value; background_hue picks its hue.
BACKDROP_SATURATION, BACKDROP_VALUE = 0.32, 0.78


@functools.lru_cache(maxsize=None)
def palette(device: torch.device) -> dict[str, torch.Tensor]:
    """``COLOURS`` as float32 tensors on ``device`` (made once per device)."""
    return {name: torch.tensor(rgb, dtype=torch.float32, device=device)
            for name, rgb in COLOURS.items()}


def ramp(colours: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Colours (N, 3) at positions ``t`` in [0, 1] along a piecewise-linear palette."""
    position = torch.clamp(t, 0, 1) * (len(colours) - 1)
    low = torch.clamp(position.long(), max=len(colours) - 2)
    weight = (position - low)[:, None]
    return colours[low] * (1 - weight) + colours[low + 1] * weight


def mix(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-image blend of colours (N, 3) towards ``b`` by ``weight`` (N,)."""
    return a + (b - a) * weight[:, None]


def backdrop(hue: torch.Tensor) -> torch.Tensor:
    """The backdrop colours (N, 3): HSV (hue, ``BACKDROP_SATURATION``, ``BACKDROP_VALUE``) in
    RGB, by the closed form of ``colorsys.hsv_to_rgb``: channel n (5, 3, 1 for red, green,
    blue) is v - v * s * clip(min(k, 4 - k), 0, 1) with k = (n + 6 * hue) mod 6."""
    offsets = 5 - 2 * torch.arange(3, dtype=torch.float32, device=hue.device)
    k = torch.remainder(offsets + 6 * hue[:, None], 6)
    ramp_down = torch.clamp(torch.minimum(k, 4 - k), 0, 1)
    return BACKDROP_VALUE * (1 - BACKDROP_SATURATION * ramp_down)


@dataclass
class Look:
    """What the parts need to know of each face, per image: its attributes (0./1.), nuisance
    values and colours, and the palette on its device."""

    attribute: dict[str, torch.Tensor]
    nuisance: dict[str, torch.Tensor]
    skin: torch.Tensor
    hair: torch.Tensor
    brows: torch.Tensor
    colours: dict[str, torch.Tensor]

    @classmethod
    def of(cls, attributes: torch.Tensor, nuisance: torch.Tensor) -> "Look":
        a = {name: attributes[:, i] for i, name in enumerate(ATTRIBUTES)}
        f = {name: nuisance[:, i] for i, name in enumerate(NUISANCES)}
        colours = palette(attributes.device)
        skin = mix(ramp(colours["skin"], f["skin_tone"]), colours["pale"], 0.7 * a["Pale_Skin"])
        blond, black = a["Blond_Hair"], a["Black_Hair"]
        hair = ramp(colours["hair"], f["hair_tone"])
        hair = mix(hair, colours["blond"], 0.85 * blond)
        hair = mix(hair, hair * 0.2 + 0.03, black * (1 - blond))  # both: a dark blond
        hair = hair * (1 - 0.5 * black * blond)[:, None]
        return cls(a, f, skin, hair, hair * 0.55 + 0.02, colours)


def per_image(values: torch.Tensor) -> torch.Tensor:
    """One value per image (N,), broadcast over pixels (N, 1, 1)."""
    return values[:, None, None]


def per_image_colour(colours: torch.Tensor) -> torch.Tensor:
    """One colour per image (N, 3), broadcast over pixels (N, 3, 1, 1)."""
    return colours[:, :, None, None]


def paint_back_hair(canvas: Canvas, look: Look) -> None:
    """Hair behind the head: short (male) or down to the shoulders (female); a bald head keeps
    the sides."""
    male, bald = per_image(look.attribute["Male"]), per_image(look.attribute["Bald"])
    female = 1 - male
    x, y, where = canvas.coordinates((-1.02, 1.02, -1.26, 1.47))
    upper = ellipse(x, y, 0, -0.12 - 0.02 * female, 0.84 + 0.12 * female, 0.98 + 0.12 * female)
    lower = ellipse(x, y, 0, 0.7 - 0.82 * male, 1.0 - 0.16 * male, 1.0 - 0.02 * male)
    back = torch.maximum(torch.minimum(upper, lower), y - (1.45 - 1.33 * male))
    back = torch.maximum(back, torch.where(bald > 0, -0.1 - y, -9.0))
    strands = 1 + 0.07 * canvas.wave(where, 38, 4)
    canvas.paint(back, per_image_colour(look.hair * 0.82) * strands[:, None], where,
                 silhouette=True)


def paint_shoulders_and_neck(canvas: Canvas, look: Look) -> None:
    """Shoulders (upright: only the head tilts) and a neck, broader for men."""
    x, y, where = canvas.coordinates((-2.2, 2.2, 1.25, 3.4))
    upright_x, upright_y = canvas.upright(where)
    canvas.paint(ellipse(upright_x, upright_y, 0, 2.3, 1.8, 1.0), look.colours["clothes"],
                 where, silhouette=True)
    x, y, where = canvas.coordinates((-0.4, 0.4, 0.4, 1.6))
    shade = per_image_colour(look.skin) * (0.78 + 0.1 * torch.clamp(1.4 - y, 0, 1))[:, None]
    neck = box(x / per_image(0.88 + 0.22 * look.attribute["Male"]), y, -0.32, 0.32, 0.4, 1.6)
    canvas.paint(neck, shade, where, silhouette=True)


def paint_ears_and_head(canvas: Canvas, look: Look) -> None:
    """Ears, then the head (a jaw that narrows more for women), shaded towards its rim."""
    x, y, where = canvas.coordinates((-0.88, 0.88, -0.2, 0.24))
    side = x.abs()  # both ears at once: the face is symmetric in its own coordinates
    canvas.paint(ellipse(side, y, 0.74, 0.02, 0.12, 0.2), look.skin * 0.88, where,
                 silhouette=True)
    canvas.paint(ellipse(side, y, 0.76, 0.02, 0.055, 0.11), look.skin * 0.7, where)
    x, y, where = canvas.coordinates((-0.78, 0.78, -1.02, 1.02))
    taper = 1 - per_image(0.3 - 0.14 * look.attribute["Male"]) * torch.clamp(y, min=0) ** 2
    head = ellipse(x / taper, y, 0, 0, 0.74, 0.98)
    rim = torch.clamp((x / 0.74) ** 2 + (y / 0.98) ** 2, 0, 1)
    canvas.paint(head, per_image_colour(look.skin) * (1.04 - 0.16 * rim * rim)[:, None], where,
                 silhouette=True)


def paint_makeup_and_cheeks(canvas: Canvas, look: Look) -> None:
    """Make-up (eye shadow, blush) and the cheeks a smile raises, under the eyes."""
    makeup, colours = look.attribute["Heavy_Makeup"], look.colours
    x, y, where = canvas.coordinates((-0.6, 0.6, -0.25, 0.4))
    side = x.abs()  # both sides at once (they never overlap)
    canvas.paint(ellipse(side, y, 0.3, -0.13, 0.17, 0.08), colours["eyeshadow"], where,
                 opacity=0.6 * makeup, softness=2)
    canvas.paint(ellipse(side, y, 0.42, 0.26, 0.14, 0.09), colours["blush"], where,
                 opacity=0.5 * makeup, softness=3)
    canvas.paint(ellipse(side, y, 0.38, 0.2, 0.15, 0.1), torch.clamp(look.skin * 1.15, max=1),
                 where, opacity=0.7 * look.attribute["Smiling"], softness=3)


def paint_eyes(canvas: Canvas, look: Look) -> None:
    """Eyes: white, iris, pupil and an upper lid line that make-up thickens; narrow eyes are
    less than half as open."""
    height = per_image(0.078 - 0.045 * look.attribute["Narrow_Eyes"])
    liner = per_image(0.014 + 0.02 * look.attribute["Heavy_Makeup"])
    colours = look.colours
    x, y, where = canvas.coordinates((-0.46, 0.46, -0.2, 0.04))
    side = x.abs()  # both eyes at once
    eye = ellipse(side, y, 0.3, -0.08, 0.135, height)
    canvas.paint(eye, colours["eye_white"], where)
    for radius, colour in ((0.068, "iris"), (0.032, "pupil")):
        canvas.paint(torch.maximum(ellipse(side, y, 0.3, -0.08, radius, radius), eye),
                     colours[colour], where)
    canvas.paint(torch.maximum(eye.abs() - liner, y + 0.085), colours["line"], where)


def paint_eyebrows(canvas: Canvas, look: Look) -> None:
    """Eyebrows, thicker for men."""
    x, y, where = canvas.coordinates((-0.55, 0.55, -0.4, -0.15))
    thickness = per_image(0.026 + 0.02 * look.attribute["Male"])
    canvas.paint(band(x.abs(), y, 0.31, -0.27, 0.17, -0.045, thickness), look.brows, where)


def paint_nose(canvas: Canvas, look: Look) -> None:
    """Nose: a shaded side, a tip and two nostrils; Big_Nose makes it longer and wider."""
    x, y, where = canvas.coordinates((-0.25, 0.25, -0.2, 0.42))
    grow = per_image(1 + 0.6 * look.attribute["Big_Nose"])
    canvas.paint(band(y, x, 0.1, 0.07 * grow, 0.15 * grow, 0.0, 0.025 * grow), look.skin * 0.8,
                 where, softness=2)
    canvas.paint(ellipse(x, y, 0, 0.22 + 0.05 * (grow - 1), 0.075 * grow, 0.055 * grow),
                 look.skin * 0.86, where, softness=1.5)
    for side in (-1, 1):
        canvas.paint(ellipse(x, y, side * 0.055 * grow, 0.27 + 0.06 * (grow - 1),
                             0.03 * grow, 0.018 * grow), look.skin * 0.4, where)


def paint_mouth(canvas: Canvas, look: Look) -> None:
    """Lips around a centre line whose corners rise when smiling; an open mouth parts the
    lips around a dark inside with teeth; lipstick reddens the lips."""
    smiling, open_ = look.attribute["Smiling"], look.attribute["Mouth_Slightly_Open"]
    lipstick, colours = look.attribute["Wearing_Lipstick"], look.colours
    x, y, where = canvas.coordinates((-0.42, 0.42, 0.3, 0.75))
    half_width = per_image(0.2 + 0.07 * smiling)
    bend = per_image(0.11 * smiling - 0.01)
    centre = 0.52 + per_image(0.04 * smiling)
    opening = per_image(0.06 * open_)
    lips = mix(look.skin * colours["lip_tint"], colours["lipstick"], lipstick)
    upper = band(x, y, 0, centre - opening - 0.03, half_width, bend, 0.035)
    lower = band(x, y, 0, centre + opening + 0.035, half_width * 0.85, bend, 0.045)
    canvas.paint(torch.minimum(upper, lower), lips, where)
    inside = band(x, y, 0, centre, half_width * 0.92, bend, opening + 0.012)
    canvas.paint(inside, colours["mouth"], where)
    teeth = torch.maximum(band(x, y, 0, centre - opening * 0.45, half_width * 0.7, bend,
                               opening * 0.5), inside)
    canvas.paint(teeth, colours["eye_white"], where, opacity=open_)


def paint_mustache_and_goatee(canvas: Canvas, look: Look) -> None:
    """A mustache above the mouth and a goatee on the chin, in the eyebrows' colour."""
    x, y, where = canvas.coordinates((-0.32, 0.32, 0.3, 0.5))
    canvas.paint(band(x, y, 0, 0.42, 0.27, -0.04, 0.045), look.brows, where,
                 opacity=look.attribute["Mustache"])
    x, y, where = canvas.coordinates((-0.2, 0.2, 0.58, 1.0))
    goatee = torch.minimum(ellipse(x, y, 0, 0.84, 0.15, 0.13), box(x, y, -0.06, 0.06, 0.6, 0.8))
    canvas.paint(goatee, look.brows, where, opacity=look.attribute["Goatee"])


def paint_hair(canvas: Canvas, look: Look) -> None:
    """Hair over the forehead: a cap above the hairline (a lower, jagged one with bangs); bald
    heads keep only the fringe."""
    female = per_image(1 - look.attribute["Male"])
    bangs, bald = per_image(look.attribute["Bangs"]), per_image(look.attribute["Bald"])
    x, y, where = canvas.coordinates((-0.9, 0.9, -1.26, 0.0))
    outer = ellipse(x, y, 0, -0.12 - 0.04 * female, 0.8 + 0.04 * female, 1.0 + 0.06 * female)
    hairline = -0.6 + 0.5 * (x + 0.12 * female) ** 2
    fringe = -0.3 + 0.3 * x * x + 0.035 * canvas.wave(where, 22, 0).abs()
    cap = torch.maximum(outer, y - torch.where(bangs > 0, fringe, hairline))
    cap = torch.maximum(cap, torch.where(bald > 0, hairline + 0.1 - y, -9.0))
    strands = 1 + 0.08 * canvas.wave(where, 40, 6)
    canvas.paint(cap, per_image_colour(look.hair) * strands[:, None], where, silhouette=True)


def paint_hat(canvas: Canvas, look: Look) -> None:
    """A hat: a crown with a band over the top of the head, and a brim."""
    hat, colour = look.attribute["Wearing_Hat"], look.colours["hat"]
    x, y, where = canvas.coordinates((-1.2, 1.2, -1.36, -0.34))
    crown = torch.maximum(ellipse(x, y, 0, -0.62, 0.86, 0.72), y + 0.48)
    canvas.paint(crown, colour, where, opacity=hat, silhouette=True)
    canvas.paint(torch.maximum(crown, (y + 0.6).abs() - 0.05), colour * 0.55, where, opacity=hat)
    canvas.paint(ellipse(x, y, 0, -0.47, 1.18, 0.11), colour * 0.8, where, opacity=hat,
                 silhouette=True)


def paint_eyeglasses(canvas: Canvas, look: Look) -> None:
    """Eyeglasses: tinted lenses, frames, bridge and temples."""
    glasses, frame = look.attribute["Eyeglasses"], look.colours["frame"]
    x, y, where = canvas.coordinates((-0.78, 0.78, -0.24, 0.1))
    side = x.abs()  # both sides at once
    lens = ellipse(side, y, 0.3, -0.07, 0.2, 0.15)
    canvas.paint(lens, look.colours["lens"], where, opacity=0.25 * glasses)
    canvas.paint(lens.abs() - 0.025, frame, where, opacity=glasses)
    canvas.paint(box(side, y, 0.5, 0.76, -0.12, -0.08), frame, where, opacity=glasses)
    x, y, where = canvas.coordinates((-0.12, 0.12, -0.14, -0.06))
    canvas.paint(band(x, y, 0, -0.08, 0.11, 0.02, 0.022), frame, where, opacity=glasses)


#: The parts, back to front.
PAINTERS = (paint_back_hair, paint_shoulders_and_neck, paint_ears_and_head,
            paint_makeup_and_cheeks, paint_eyes, paint_eyebrows, paint_nose, paint_mouth,
            paint_mustache_and_goatee, paint_hair, paint_hat, paint_eyeglasses)


def render_face_tensors(attributes: torch.Tensor, nuisance: torch.Tensor) -> torch.Tensor:
    """Faces for attribute rows (N, 16; 0/1 in ``ATTRIBUTES`` order) and nuisance rows
    (N, 8; ``NUISANCES`` order) as float32 (N, 3, 64, 64) in [0, 1], on their device."""
    attributes = attributes.to(torch.float32)
    nuisance = nuisance.to(device=attributes.device, dtype=torch.float32)
    look = Look.of(attributes, nuisance)
    canvas = Canvas(look.nuisance, backdrop(look.nuisance["background_hue"]))
    for paint in PAINTERS:
        paint(canvas, look)
    return canvas.lit(look.nuisance["lighting"])


_one_thread_lock = threading.Lock()
_one_thread_users = {"inside": 0, "found": 1}   # threads inside; the count the first found


@contextlib.contextmanager
def one_cpu_thread():
    """Torch on one CPU thread while inside (the previous count is restored on leaving).

    The CPU render is a thousand small operations; splitting each over threads gains little,
    and on a busy machine every operation waits for a second thread to be scheduled: 64-face
    batches with 1 thread, 565 faces/s; with 2, 111 (2 cores, load 12). Several threads of
    ``disentangle.parallel`` render at once instead, each inside this: the count that new
    threads start with is shared, so the first thread in records it and the last one out
    restores it (each restoring what it found could leave 1 behind)."""
    with _one_thread_lock:
        if _one_thread_users["inside"] == 0:
            _one_thread_users["found"] = torch.get_num_threads()
        _one_thread_users["inside"] += 1
    torch.set_num_threads(1)   # also for this thread's OpenMP pool, which is its own
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_users["inside"] -= 1
            if _one_thread_users["inside"] == 0:
                torch.set_num_threads(_one_thread_users["found"])


def render_batched(attributes: torch.Tensor, nuisance: torch.Tensor) -> torch.Tensor:
    """``render_face_tensors`` in chunks of ``CPU_RENDER_BATCH`` faces on one CPU thread (the
    working set stays in cache) or of ``DEVICE_RENDER_BATCH`` on an accelerator (bounded
    memory)."""
    on_cpu = attributes.device.type == "cpu"
    if on_cpu:
        runtime.configure_allocator()  # large temporaries kept, not unmapped after every op
    chunk = CPU_RENDER_BATCH if on_cpu else DEVICE_RENDER_BATCH
    with torch.no_grad(), one_cpu_thread() if on_cpu else contextlib.nullcontext():
        if len(attributes) <= chunk:
            return render_face_tensors(attributes, nuisance)
        return torch.cat([render_face_tensors(attributes[start:start + chunk],
                                              nuisance[start:start + chunk])
                          for start in range(0, len(attributes), chunk)])


def render_faces(attributes: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    """Faces for numpy attribute and nuisance rows (see ``render_face_tensors``), rendered on
    the CPU: float32 (N, 3, 64, 64) in [0, 1]."""
    return render_batched(torch.as_tensor(np.asarray(attributes)),
                          torch.as_tensor(np.asarray(nuisance, dtype=np.float64))).numpy()


def attribute_examples() -> np.ndarray:
    """17 faces (float32 (17, 3, 64, 64)): one with every attribute off (at ``NUISANCE_FIXED``),
    then the same face with each of ``ATTRIBUTES`` on in turn, to see what each one draws."""
    rows = np.vstack([np.zeros(len(ATTRIBUTES), np.uint8), np.eye(len(ATTRIBUTES), dtype=np.uint8)])
    return render_faces(rows, fixed_nuisance(len(rows)))
