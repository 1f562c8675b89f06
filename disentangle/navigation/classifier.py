"""The attribute classifier that scores faces, real or decoded.

A small CNN (four stride-2 convs, 32-32-64-64 channels, batch norm, one logit per attribute)
trained with binary cross-entropy on labelled 64x64 RGB faces, half of each batch blurred so
that it also recognises attributes in the (blurrier) decoded faces. It judges every edit of the
study, so it is validated on held-out images (``validation``: per attribute accuracy and ROC
AUC, each with its interval, and whether it is clearly better than chance) and the validation
is reported beside every verdict that rests on it.

A checkpoint (``save_classifier`` / ``load_classifier``, read with ``weights_only=True``)
records the ``identity`` of the data it was trained on (dataset name, attribute names,
preprocessing): ``load_classifier(path, identity)`` refuses a classifier of other data, so the
Smiling of one dataset is never scored by a network that learnt another's.
``classifier_for(data)`` trains one on first use and caches it under
``cache_dir()/classifiers/``, keyed by the data's identity and how it was trained (steps,
image counts, seed, folder).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from disentangle.data import cache_dir as default_cache_dir
from disentangle.errors import UserError
from disentangle.models import load_state
from disentangle.models.checkpoint import load_weights_only, write_checkpoint
from disentangle.navigation.settings import CLASSIFIER_STEPS as DEFAULT_STEPS
from disentangle.navigation.validation import describe, recognised, validate
from disentangle.runtime import default_device

CLASSIFIER_FORMAT = "vae-study-attribute-classifier"
CLASSIFIER_VERSION = 3  # 2: trained on half-blurred batches; 3: AUC intervals, image counts
DEFAULT_BATCH_SIZE = 64


class AttributeClassifier(nn.Module):
    """Images (N, C, 64, 64) in [0, 1] -> one logit per attribute (N, K)."""

    def __init__(self, num_attributes: int, num_channels: int = 3, width: int = 32):
        super().__init__()
        self.num_attributes, self.num_channels, self.width = num_attributes, num_channels, width
        layers, channels = [], num_channels
        for out in (width, width, 2 * width, 2 * width):
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(channels * 16, 256), nn.ReLU(),
                                  nn.Linear(256, num_attributes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def probabilities(self, images, batch_size: int = 512) -> np.ndarray:
        """P(attribute) (N, K) of numpy or torch images, in eval mode, in batches."""
        self.eval()
        images = torch.as_tensor(np.asarray(images, dtype=np.float32))
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                out.append(torch.sigmoid(self(images[start:start + batch_size])).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.num_attributes), np.float32)


@dataclass
class Classifier:
    """A trained network with the identity of its data and its held-out validation."""

    network: AttributeClassifier
    identity: dict
    validation: dict  # attribute -> {"accuracy", "auc", "positives", "count"}; and "source"
    path: Path | None = None

    @property
    def attribute_names(self) -> list[str]:
        return list(self.identity["attributes"])

    def probabilities(self, images) -> np.ndarray:
        return self.network.probabilities(images)

    def accuracy(self, attribute: str) -> float:
        return float(self.validation["attributes"][attribute]["accuracy"])

    def auc(self, attribute: str) -> float:
        return float(self.validation["attributes"][attribute]["auc"])

    def recognised(self, attribute: str) -> bool:
        """Clearly better than chance on held-out images (see the module docstring)."""
        return recognised(self.validation["attributes"][attribute])

    def describe(self, attribute: str) -> str:
        return describe(self.validation["attributes"][attribute])


def blur_half(images: torch.Tensor, random_state: np.random.RandomState) -> torch.Tensor:
    """The batch with its second half Gaussian-blurred (sigma uniform in 0.5 .. 2.5 pixels):
    the classifier judges decoded faces, which are blurrier than the data, and must recognise
    the attributes there too."""
    from torchvision.transforms.functional import gaussian_blur

    half = len(images) // 2
    sigma = float(random_state.uniform(0.5, 2.5))
    blurred = gaussian_blur(images[half:], kernel_size=9, sigma=sigma)
    return torch.cat([images[:half], blurred])


def train_classifier(train, held_out, steps: int = DEFAULT_STEPS,
                     batch_size: int = DEFAULT_BATCH_SIZE, lr: float = 1e-3, seed: int = 0,
                     device=None, progress: bool = False) -> Classifier:
    """Train on the ``LabelledImages`` ``train`` (minibatches drawn with replacement, Adam
    with a cosine schedule) on ``device`` (default: a GPU if there is one), then validate on
    ``held_out`` (images the network never saw) on the CPU."""
    if train.identity != held_out.identity:
        raise ValueError("train and held-out images must come from the same data")
    device = torch.device(device) if device is not None else default_device()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = AttributeClassifier(len(train.attribute_names), train.observation_shape[0])
    network.to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    random_state = np.random.RandomState(seed)
    labels = torch.from_numpy(train.labels.astype(np.float32))
    network.train()
    start = time.monotonic()
    for step in range(1, steps + 1):
        indices = train.sample_indices(batch_size, random_state)
        images = blur_half(torch.from_numpy(train.images(indices)).to(device), random_state)
        logits = network(images)
        loss = nn.functional.binary_cross_entropy_with_logits(logits,
                                                              labels[indices].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress and (step % 500 == 0 or step == steps):
            print(f"  classifier step {step}/{steps}: loss {loss.item():.3f} "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
    network.cpu().eval()
    if "split" in held_out.details:
        source = (f"{len(held_out)} held-out images ({held_out.details['split']} split of "
                  f"{held_out.source}), labels from the dataset")
    else:
        source = (f"{len(held_out)} held-out synthetic faces (seed "
                  f"{held_out.details.get('seed')}, {held_out.details.get('distribution')} "
                  f"attributes), labels from the generator")
    validation = validate(network, held_out.images(np.arange(len(held_out))), held_out.labels,
                          train.attribute_names, source)
    validation.update(train_images=len(train), steps=steps, batch_size=batch_size)
    return Classifier(network, train.identity, validation)


def save_classifier(classifier: Classifier, path: str | Path) -> Path:
    """Write the classifier atomically (weights, identity, validation) with torch.save."""
    network = classifier.network
    checkpoint = {"format": CLASSIFIER_FORMAT, "version": CLASSIFIER_VERSION,
                  "identity": classifier.identity,
                  "validation": json.dumps(classifier.validation),
                  "build": {"num_attributes": network.num_attributes,
                            "num_channels": network.num_channels, "width": network.width},
                  "model": network.state_dict()}
    classifier.path = write_checkpoint(checkpoint, path)
    return classifier.path


def describe_identity(identity: dict) -> str:
    return (f"{identity.get('name')} ({len(identity.get('attributes', []))} attributes, "
            f"{identity.get('preprocessing')})")


def load_classifier(path: str | Path, identity: dict | None = None) -> Classifier:
    """Read a classifier file; with ``identity``, refuse one trained on other data."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no classifier file at {path}: give a file written by `vae-study "
                        f"navigate` (under <cache>/classifiers/), or none to train one")
    checkpoint = load_weights_only(path, lambda reason: (
        f"{path} is not a classifier file (torch.load failed: {reason[:100]})"))
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CLASSIFIER_FORMAT:
        raise UserError(f"{path} is not an attribute classifier of vae-study (a model "
                        f"checkpoint is a model to study, not a classifier)")
    if checkpoint.get("version") != CLASSIFIER_VERSION:
        raise UserError(f"{path} is an attribute classifier of an older vae-study (format "
                        f"{checkpoint.get('version')}, now {CLASSIFIER_VERSION}) whose validation "
                        f"lacks the AUC intervals the verdicts need: train a new one")
    if identity is not None and checkpoint["identity"] != identity:
        raise UserError(f"{path} was trained on {describe_identity(checkpoint['identity'])}, "
                        f"not on {describe_identity(identity)}: give a classifier of this "
                        f"dataset, or none to train one")
    network = AttributeClassifier(**checkpoint["build"])
    load_state(network, checkpoint["model"], str(path))
    network.eval()
    return Classifier(network, checkpoint["identity"], json.loads(checkpoint["validation"]),
                      path)


def cache_path(identity: dict, training: dict, cache_dir: str | Path | None = None) -> Path:
    """Where ``classifier_for`` keeps the classifier of data with ``identity`` trained as
    ``training`` says (steps, image counts, seed, folder: anything that changes it)."""
    key = json.dumps([identity, training, CLASSIFIER_VERSION], sort_keys=True, default=str)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / "classifiers" / f"{identity['name']}-{digest}.pt"


def classifier_for(identity: dict, make_sets, steps: int = DEFAULT_STEPS,
                   path: str | Path | None = None, cache_dir: str | Path | None = None,
                   progress: bool = False, training: dict | None = None) -> Classifier:
    """The classifier of the data with ``identity``: read from ``path`` (checked against the
    identity), else from the cache (keyed by ``identity``, ``steps`` and ``training``: what
    else decides the training data), else trained now on ``make_sets()`` -> (train, held-out
    ``LabelledImages``) and cached."""
    if path is not None:
        return load_classifier(path, identity)
    cached = cache_path(identity, {**(training or {}), "steps": steps}, cache_dir)
    if cached.is_file():
        return load_classifier(cached, identity)
    if progress:
        print(f"training the attribute classifier of {describe_identity(identity)} "
              f"({steps} steps; cached in {cached})", flush=True)
    train, held_out = make_sets()
    classifier = train_classifier(train, held_out, steps=steps, progress=progress)
    save_classifier(classifier, cached)
    return classifier
