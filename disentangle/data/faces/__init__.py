"""Synthetic faces: an offline stand-in for CelebA, with known ground truth.

A procedural renderer draws 64x64 RGB faces (hair, head, ears, eyebrows, eyes, nose, mouth,
neck and shoulders), framed like CelebA's aligned images, from 16 binary attributes named as
in CelebA and 8 continuous nuisance factors. Every part is an anti-aliased signed-distance
shape evaluated with torch on a whole batch at once, on the device that asks for it: the CPU
for files and metrics, the GPU a model trains on for training batches.

Attributes (CelebA names, in CelebA's column order) and what each one draws:

    Bald                 no hair on the crown (hair stays at the sides and back)
    Bangs                a fringe over the forehead
    Big_Nose             a longer, wider nose
    Black_Hair           black hair (with Blond_Hair as well: dark blond)
    Blond_Hair           blond hair
    Eyeglasses           dark frames, bridge, temples and tinted lenses
    Goatee               a beard patch on the chin
    Heavy_Makeup         eye shadow, thick eyeliner and blush
    Male                 short hair (else down to the shoulders), broader jaw and neck, thicker
                         eyebrows
    Mouth_Slightly_Open  parted lips showing the mouth and teeth
    Mustache             hair above the upper lip
    Narrow_Eyes          eyes less than half as open
    Pale_Skin            a pale, desaturated skin tone
    Smiling              a wider mouth with its corners up, raised cheeks
    Wearing_Hat          a hat with a brim covering the crown
    Wearing_Lipstick     red lips

Nuisance factors, continuous (the ground-truth dataset uses the grid in ``NUISANCE_GRID``):

    position_x, position_y   head position, up to +-4 and +-3 pixels   (range [-1, 1])
    size                     head size, +-10 %                           (range [-1, 1])
    rotation                 in-plane head rotation, up to +-12 degrees  (range [-1, 1])
    skin_tone                light to dark skin                          (range [0, 1])
    hair_tone                light brown, auburn, chestnut, dark brown   (range [0, 1])
    background_hue           hue of the backdrop                         (range [0, 1))
    lighting                 light from the left (-1) to the right (+1)  (range [-1, 1])

Every attribute changes every face, whatever the other factors (the tests check it), so no
factor of the ground-truth dataset is ever invisible.

Modules: ``factors`` (the factors, the ground-truth grid and the written set's CelebA-like joint
distribution), ``canvas`` (the shapes and the compositing), ``render`` (the painter, part by
part), ``dataset`` (``FacesDataset``: the ground-truth dataset, ``get_dataset("faces")``),
``cuda_graphs`` (a GPU render replayed as one CUDA graph) and ``writer`` (``write_faces``: files
in CelebA's layout).
"""

from disentangle.data.faces.canvas import IMAGE_SIZE
from disentangle.data.faces.dataset import FacesDataset, load_faces
from disentangle.data.faces.factors import (
    ATTRIBUTES,
    JOINT_DISTRIBUTION,
    NUISANCE_FIXED,
    NUISANCE_GRID,
    NUISANCE_RANGES,
    NUISANCES,
    attribute_marginals,
    sample_attributes,
    sample_nuisance,
)
from disentangle.data.faces.render import attribute_examples, render_face_tensors, render_faces
from disentangle.data.faces.writer import (
    CELEBA_ATTRIBUTES,
    FORMAT_VERSION,
    celeba_attribute_rows,
    default_faces_root,
    image_names,
    write_faces,
)

__all__ = [
    "ATTRIBUTES", "CELEBA_ATTRIBUTES", "FORMAT_VERSION", "IMAGE_SIZE", "JOINT_DISTRIBUTION",
    "NUISANCES", "NUISANCE_FIXED", "NUISANCE_GRID", "NUISANCE_RANGES", "FacesDataset",
    "attribute_examples", "attribute_marginals", "celeba_attribute_rows", "default_faces_root",
    "image_names", "load_faces", "render_face_tensors", "render_faces", "sample_attributes",
    "sample_nuisance", "write_faces",
]
