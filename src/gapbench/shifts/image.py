"""Image shift families: the 19 ImageNet-C corruptions and the seed's "dirty data" families.

ImageNet-C: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
and Perturbations" (ICLR 2019), constants as in ``imagecorruptions`` 1.1.2, re-implemented
vectorised (the package no longer imports on numpy 2). Two entry points:

* :func:`corrupt` is a drop-in for ``imagecorruptions.corrupt``: uint8 in (H x W, H x W x 1 or
  H x W x 3), uint8 H x W x 3 out, the float result truncated (not rounded) as the reference does.
* :data:`IMAGE_FAMILIES` holds a :class:`ShiftFamily` per name, whose ``fn`` keeps the input's
  layout and value type: a grey H x W (or H x W x 1) input comes back grey, by corrupting the grey
  plane itself for families that act per channel, or by converting the RGB result with the
  reference's own grey weights (0.2989, 0.5870, 0.1140) for colour ones (saturate, frost, snow,
  spatter, jpeg). uint8 stays uint8 (truncated); float inputs stay float (unquantised), on their
  own white level: 1.0 if the image's maximum is <= 1, 16.0 if <= 16 (scikit-learn's 8x8 digits),
  else 255. Parameters a caller leaves out take their severity-3 value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapbench.errors import InputError
from gapbench.shifts import image_blur as blur
from gapbench.shifts import image_digital as digital
from gapbench.shifts import image_noise as noise
from gapbench.shifts import image_weather as weather
from gapbench.shifts.base import SEVERITIES, Param, ShiftFamily
from gapbench.shifts.image_common import RGB_TO_GREY, as_image, finish_image
from gapbench.shifts.image_geometry import boxes_by_sampling, move_reference

REFERENCE_MIN_SIZE = 32  # imagecorruptions refuses smaller images; families that need context keep it

IMAGENET_C_MAIN: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
IMAGENET_C_EXTRA: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
IMAGENET_C: tuple[str, ...] = IMAGENET_C_MAIN + IMAGENET_C_EXTRA
_SUBSETS: dict[str, tuple[str, ...]] = {
    "common": IMAGENET_C_MAIN,
    "validation": IMAGENET_C_EXTRA,
    "all": IMAGENET_C,
    "noise": IMAGENET_C[0:3],
    "blur": IMAGENET_C[3:7],
    "weather": IMAGENET_C[7:11],
    "digital": IMAGENET_C[11:15],
}


def get_corruption_names(subset: str = "common") -> list[str]:
    """ImageNet-C names of a subset, in the reference's order (common, validation, all, noise, ...)."""
    if subset not in _SUBSETS:
        raise InputError(None, "corruption subset", f"one of {', '.join(_SUBSETS)}", subset)
    return list(_SUBSETS[subset])


Core = Callable[..., Any]


@dataclass(frozen=True)
class _Spec:
    core: Core
    params: tuple[Param, ...]
    ladder: tuple[tuple[Any, ...], ...]  # per severity, values in the order of ``params``
    description: str
    per_channel: bool = True  # False: needs RGB (grey inputs go through RGB and back)
    min_size: int | None = REFERENCE_MIN_SIZE
    geometric: bool = False


def _p(name: str, doc: str, kind: type = float, low: float | None = None, high: float | None = None) -> Param:
    return Param(name, doc, kind, low, high)


_SPECS: dict[str, _Spec] = {
    "gaussian_noise": _Spec(
        noise.gaussian_noise,
        (_p("sigma", "noise std, fraction of full scale", float, 0, 10),),
        tuple((v,) for v in noise.GAUSSIAN_SIGMA),
        "additive Gaussian noise",
        min_size=None,
    ),
    "shot_noise": _Spec(
        noise.shot_noise,
        (_p("photons", "mean photons at full scale", float, 1e-3, 1e6),),
        tuple((v,) for v in noise.SHOT_PHOTONS),
        "Poisson photon noise",
        min_size=None,
    ),
    "impulse_noise": _Spec(
        noise.impulse_noise,
        (_p("amount", "fraction of values set to 0 or full scale", float, 0, 1),),
        tuple((v,) for v in noise.IMPULSE_AMOUNT),
        "salt-and-pepper noise",
        min_size=None,
    ),
    "speckle_noise": _Spec(
        noise.speckle_noise,
        (_p("sigma", "multiplicative noise std", float, 0, 10),),
        tuple((v,) for v in noise.SPECKLE_SIGMA),
        "multiplicative noise",
        min_size=None,
    ),
    "defocus_blur": _Spec(
        blur.defocus_blur,
        (
            _p("radius", "disk radius, pixels", float, 0, 100),
            _p("alias_blur", "Gaussian sigma smoothing the disk", float, 1e-3, 10),
        ),
        blur.DEFOCUS,
        "out-of-focus lens (disk kernel)",
    ),
    "glass_blur": _Spec(
        blur.glass_blur,
        (
            _p("sigma", "Gaussian blur sigma, pixels", float, 1e-3, 50),
            _p("delta", "largest pixel move, pixels", int, 1, 50),
            _p("iterations", "passes of local pixel moves", int, 0, 10),
        ),
        blur.GLASS,
        "frosted glass (blur, local pixel moves, blur)",
    ),
    "motion_blur": _Spec(
        blur.motion_blur_shift,
        (
            _p("radius", "streak length, pixels", int, 0, 200),
            _p("sigma", "streak decay, pixels", float, 1e-3, 200),
            _p("angle", "streak angle, degrees (default: random in [-45, 45])", float, -360, 360),
        ),
        blur.MOTION,
        "camera shake",
    ),
    "zoom_blur": _Spec(
        blur.zoom_blur,
        (
            _p("max_zoom", "zoom factors run from 1 up to (not incl.) this", float, 1, 4),
            _p("step", "zoom step", float, 1e-3, 1),
        ),
        blur.ZOOM_MAX,
        "moving towards the scene during the exposure",
    ),
    "gaussian_blur": _Spec(
        blur.gaussian_blur,
        (_p("sigma", "Gaussian blur sigma, pixels", float, 1e-3, 100),),
        tuple((v,) for v in blur.GAUSSIAN_BLUR_SIGMA),
        "Gaussian low-pass",
        min_size=None,
    ),
    "snow": _Spec(
        weather.snow,
        (
            _p("mean", "flake noise mean"),
            _p("std", "flake noise std", float, 0),
            _p("zoom", "flake zoom", float, 1, 20),
            _p("threshold", "flake threshold"),
            _p("blur_radius", "streak length", int, 0, 200),
            _p("blur_sigma", "streak decay", float, 1e-3, 200),
            _p("image_weight", "weight of the original image", float, 0, 1),
        ),
        weather.SNOW,
        "falling snow",
        per_channel=False,
    ),
    "frost": _Spec(
        weather.frost,
        (
            _p("image_weight", "weight of the image", float, 0, 2),
            _p("frost_weight", "weight of the frost photograph", float, 0, 2),
            _p("picture", "frost photograph 0..4 (default: random)", int, 0, 4),
        ),
        weather.FROST,
        "frost on the lens",
        per_channel=False,
    ),
    "fog": _Spec(
        weather.fog,
        (
            _p("strength", "cloud layer amplitude", float, 0, 100),
            _p("decay", "plasma roughness decay", float, 1e-3, 100),
        ),
        weather.FOG,
        "fog (diamond-square cloud)",
    ),
    "spatter": _Spec(
        weather.spatter,
        (
            _p("mean", "liquid noise mean"),
            _p("std", "liquid noise std", float, 0),
            _p("sigma", "liquid blur sigma", float, 1e-3, 100),
            _p("threshold", "liquid threshold"),
            _p("intensity", "water intensity, or mud blur sigma", float, 1e-3, 100),
            _p("mud", "1: mud splashes, 0: water drops", int, 0, 1),
        ),
        weather.SPATTER,
        "water or mud on the lens",
        per_channel=False,
    ),
    "brightness": _Spec(
        digital.brightness,
        (_p("delta", "added to the HSV value", float, -1, 1),),
        tuple((v,) for v in digital.BRIGHTNESS),
        "brighter exposure",
        min_size=None,
    ),
    "contrast": _Spec(
        digital.contrast,
        (_p("factor", "deviation-from-mean scale", float, 0, 10),),
        tuple((v,) for v in digital.CONTRAST),
        "lower contrast",
        min_size=None,
    ),
    "saturate": _Spec(
        digital.saturate,
        (_p("scale", "saturation scale", float, 0, 100), _p("shift", "saturation shift", float, -1, 1)),
        digital.SATURATE,
        "saturation change",
        per_channel=False,
        min_size=None,
    ),
    "jpeg_compression": _Spec(
        digital.jpeg_compression,
        (_p("quality", "JPEG quality", int, 1, 100),),
        tuple((v,) for v in digital.JPEG_QUALITY),
        "JPEG artefacts",
        per_channel=False,
        min_size=None,
    ),
    "pixelate": _Spec(
        digital.pixelate,
        (_p("factor", "downsampling factor", float, 0.01, 1),),
        tuple((v,) for v in digital.PIXELATE),
        "low resolution, upsampled",
        min_size=None,
    ),
    "elastic_transform": _Spec(
        digital.elastic_transform,
        (_p("alpha", "displacement gain", float, 0, 1000),),
        tuple((v,) for v in digital.ELASTIC_ALPHA),
        "local elastic warp",
        geometric=True,
    ),
}


def _check_size(img: np.ndarray, family: str, min_size: int | None) -> None:
    h, w = img.shape[:2]
    if min_size and (h < min_size or w < min_size):
        raise InputError(
            None, f"shift {family!r} input", f"an image of at least {min_size}x{min_size}", f"{h}x{w}"
        )


def _run(spec: _Spec, img: np.ndarray, rng: np.random.Generator, params: Mapping[str, Any]) -> Any:
    return spec.core(img, rng, **params)


def _full_params(name: str, spec: _Spec, params: Mapping[str, Any]) -> dict[str, Any]:
    names = [p.name for p in spec.params]
    out = {k: v for k, v in zip(names, spec.ladder[2])}
    for k, v in params.items():
        if k not in names:
            raise InputError(None, f"shift {name!r} parameter {k!r}", f"one of {', '.join(names)}")
        out[k] = v
    return out


def _elastic_reference(reference: Any, fields: tuple[np.ndarray, np.ndarray], name: str) -> Any:
    dy, dx = fields
    h, w = dy.shape
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")

    forward = boxes_by_sampling(gy + dy, gx + dx)

    def sample(mask: np.ndarray) -> np.ndarray:
        return digital.remap_nearest(mask, gy + dy, gx + dx)

    return move_reference(reference, forward, sample, (h, w), name)


def _make_fn(
    name: str, spec: _Spec
) -> Callable[[Any, Any, Mapping[str, Any], np.random.Generator], tuple[Any, Any]]:
    def fn(
        input: Any, reference: Any, params: Mapping[str, Any], rng: np.random.Generator
    ) -> tuple[Any, Any]:  # noqa: A002
        img, white, is_u8 = as_image(input, name)
        _check_size(img, name, spec.min_size)
        full = _full_params(name, spec, params)
        rgb = not spec.per_channel and img.shape[2] == 1
        out = _run(spec, np.repeat(img, 3, axis=2) if rgb else img, rng, full)
        out, fields = out if isinstance(out, tuple) else (out, None)
        if rgb:
            out = np.trunc(np.clip(out, 0, 255)) @ RGB_TO_GREY if is_u8 else out @ RGB_TO_GREY
        if fields is not None:
            reference = _elastic_reference(reference, fields, name)
        return finish_image(out, np.asarray(input), white, is_u8), reference

    fn.__name__ = name
    fn.__doc__ = spec.core.__doc__
    return fn


def _family(name: str, spec: _Spec) -> ShiftFamily:
    ladder = {s: {p.name: v for p, v in zip(spec.params, vals)} for s, vals in zip(SEVERITIES, spec.ladder)}
    return ShiftFamily(
        name=name,
        modality="image",
        description=f"ImageNet-C {name}: {spec.description}",
        fn=_make_fn(name, spec),
        params=spec.params,
        ladder=ladder,
        geometric=spec.geometric,
        min_size=spec.min_size,
    )


def _all_families() -> dict[str, ShiftFamily]:
    from gapbench.shifts.image_dirty import DIRTY_FAMILIES

    fams = {name: _family(name, _SPECS[name]) for name in IMAGENET_C}
    fams.update(DIRTY_FAMILIES)
    return fams


IMAGE_FAMILIES: dict[str, ShiftFamily] = _all_families()


def corrupt(
    image: np.ndarray,
    severity: int = 1,
    corruption_name: str | None = None,
    corruption_number: int = -1,
    seed: int | None = None,
) -> np.ndarray:
    """``imagecorruptions.corrupt``: uint8 H x W x 3 out (truncated), grey inputs stacked to RGB.

    ``seed`` seeds this call's own generator (the reference used numpy's global stream).
    """
    if corruption_name is None:
        if not 0 <= corruption_number < len(IMAGENET_C):
            raise InputError(
                None, "corrupt", "a corruption_name or a corruption_number in [0, 18]", corruption_number
            )
        corruption_name = IMAGENET_C[corruption_number]
    if corruption_name not in _SPECS:
        raise InputError(None, "corrupt", f"a corruption in {', '.join(IMAGENET_C)}", corruption_name)
    if severity not in SEVERITIES:
        raise InputError(None, "corrupt", "a severity in [1, 5]", severity)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise InputError(None, "corrupt", "a uint8 image", str(arr.dtype))
    img, _, _ = as_image(arr, corruption_name)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    spec = _SPECS[corruption_name]
    _check_size(img, corruption_name, spec.min_size)
    out = _run(
        spec,
        img,
        np.random.default_rng(seed),
        _full_params(corruption_name, spec, IMAGE_FAMILIES[corruption_name].ladder[severity]),
    )
    out = out[0] if isinstance(out, tuple) else out
    return np.clip(out, 0, 255).astype(np.uint8)
