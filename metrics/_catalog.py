"""The built-in metrics: names, declared ranges, options and the dotted path of each factory.

Plain data only (see ``metrics._registry`` for why). Each factory lives in a module that imports
torch and is imported only when the metric is created. The LPIPS options are declared in
``metrics.lpips.options`` (torch-free), which the LPIPS model validates against too.
"""

from __future__ import annotations

from metrics._registry import MetricInfo, OptionInfo, register_metric
from metrics.lpips.options import LPIPS_OPTIONS

# ``differentiable``: MAD synthesis may follow the metric's autograd gradient. Every built-in
# metric is made of torch ops with exact gradients almost everywhere (tests/metrics/
# test_duels_pool.py checks each True flag against float64 central differences). FSIM, FSIMc and
# VSI are flagged False by design: FSIM's phase congruency thresholds its energy by a sorted median
# noise estimate (clamp at a data-dependent level), VSI normalises saliency by its maximum and
# raises the chroma term to the power 0.02 (an unbounded derivative near 0); at the scale of a
# synthesis step their first-order model fails most often of all (docs/duels.md has the figures).
UNIT = (0.0, 1.0)
SYMMETRIC = (-1.0, 1.0)

_QUANTIZE = OptionInfo(
    "quantize",
    False,
    "8-bit levels first: True or 'official' exactly as the official LPIPS baselines compute them "
    "(their float32 round trip lowers 63 of the 256 levels by one), 'floor' for the clean "
    "floor(255·x)/255, False to score the images as given",
    (False, True, "official", "floor"),
)

for _net, _desc in (
    ("alex", "AlexNet"),
    ("vgg", "VGG16"),
    ("squeeze", "SqueezeNet 1.1"),
):
    register_metric(
        MetricInfo(
            name=f"lpips-{_net}",
            input_range=SYMMETRIC,
            lower_is_more_similar=True,
            options=LPIPS_OPTIONS,
            summary=f"LPIPS distance with the {_desc} trunk (Zhang et al. 2018), RGB in [-1, 1]",
            differentiable=True,
            factory=f"metrics.lpips.model:build_{_net}",
        )
    )

register_metric(
    MetricInfo(
        name="l2",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="mean((x0−x1)²) over RGB in [0, 1] (the official RGB 'L2' baseline is 4× this, "
        "on [-1, 1] tensors; same ranking)",
        differentiable=True,
        factory="metrics.pixel:build_l2",
    )
)
register_metric(
    MetricInfo(
        name="l2-lab",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(_QUANTIZE,),
        summary="0.5·mean(((Lab0−Lab1)/100)²): the official LPIPS 'L2' baseline in Lab, its "
        "default colour space",
        differentiable=True,
        factory="metrics.pixel:build_l2_lab",
    )
)
register_metric(
    MetricInfo(
        name="psnr",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="−PSNR in dB (peak 1, RGB in [0, 1]); identical images give −inf",
        differentiable=True,
        factory="metrics.pixel:build_psnr",
    )
)
register_metric(
    MetricInfo(
        name="ssim",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(
            OptionInfo(
                "preset",
                "wang2004",
                "'wang2004': Gaussian 11×11 σ=1.5, population covariance (distance 1−SSIM); "
                "'skimage-default': 7×7 uniform, sample covariance (1−SSIM); 'lpips-baseline': "
                "the official LPIPS DSSIM baseline, skimage defaults on Lab, (1−SSIM)/2",
                ("wang2004", "skimage-default", "lpips-baseline"),
            ),
            OptionInfo(
                "colorspace",
                None,
                "None: the preset's own ('lab' for lpips-baseline, else 'rgb'); 'lab' uses data "
                "range 100 as the official baseline does",
                (None, "rgb", "lab"),
            ),
            _QUANTIZE,
        ),
        summary="1−SSIM (mean over channels of the valid-region SSIM map); presets name the variant",
        differentiable=True,
        factory="metrics.ssim:build_ssim",
    )
)
register_metric(
    MetricInfo(
        name="ms-ssim",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(
            OptionInfo("levels", 5, "number of scales of the standard definition", (1, 2, 3, 4, 5)),
            OptionInfo(
                "small_inputs",
                "reduce",
                "inputs too small for `levels` scales: 'reduce' uses the most scales that fit "
                "(3 at 64×64) with their weights renormalised to sum 1; 'error' raises",
                ("reduce", "error"),
            ),
        ),
        summary="1−MS-SSIM (Wang et al. 2003; Gaussian 11/1.5, 5 scales) with a small-input policy",
        differentiable=True,
        factory="metrics.msssim:build_ms_ssim",
    )
)
register_metric(
    MetricInfo(
        name="fsim",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1−FSIM (Zhang et al. 2011) on the luma channel",
        differentiable=False,
        factory="metrics.fsim:build_fsim",
    )
)
register_metric(
    MetricInfo(
        name="fsimc",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1−FSIMc (Zhang et al. 2011): FSIM with the I and Q chromatic terms",
        differentiable=False,
        factory="metrics.fsim:build_fsimc",
    )
)

# The full-reference "zoo" (issue #16 item 2): each module's docstring gives the definition, the
# colour handling and the small-input policy; docs/metrics.md has the table.
register_metric(
    MetricInfo(
        name="gmsd",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="GMSD (Xue et al. 2014), a distance: std of the gradient-similarity map of the "
        "luma, after a 2×2 mean",
        differentiable=True,
        factory="metrics.gmsd:build_gmsd",
    )
)
register_metric(
    MetricInfo(
        name="ms-gmsd",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(
            OptionInfo(
                "chromatic",
                False,
                "True: MS-GMSDc, blending in the YIQ chroma RMSE at the coarsest scale",
                (False, True),
            ),
        ),
        summary="MS-GMSD (Zhang et al. 2017), a distance: GMSD with masking at 4 scales, "
        "√(Σ w·GMSD²); at least 17×17",
        differentiable=True,
        factory="metrics.gmsd:build_ms_gmsd",
    )
)
register_metric(
    MetricInfo(
        name="vifp",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1 − VIFp (Sheikh & Bovik 2006, pixel domain, 4 scales) on the luma; x0 is the "
        "reference; at least 41×41",
        differentiable=True,
        factory="metrics.vif:build_vifp",
    )
)
register_metric(
    MetricInfo(
        name="haarpsi",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1 − HaarPSI (Reisenhofer et al. 2018, colour version, 2×2 subsampling); at "
        "least 16×16",
        differentiable=True,
        factory="metrics.haarpsi:build_haarpsi",
    )
)
register_metric(
    MetricInfo(
        name="mdsi",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="MDSI (Nafchi et al. 2016), a distance: deviation pooling of gradient and LHM "
        "chroma similarity; x0 is the reference",
        differentiable=True,
        factory="metrics.mdsi:build_mdsi",
    )
)
register_metric(
    MetricInfo(
        name="srsim",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1 − SR-SIM (Zhang & Li 2012): spectral-residual saliency and gradient "
        "similarity of the luma; at least 40×40",
        differentiable=True,
        factory="metrics.srsim:build_srsim",
    )
)
register_metric(
    MetricInfo(
        name="dss",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1 − DSS (Balanov et al. 2015): 8×8 block-DCT subband similarity of the luma; "
        "at least 8×8",
        differentiable=True,
        factory="metrics.dss:build_dss",
    )
)
register_metric(
    MetricInfo(
        name="vsi",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(),
        summary="1 − VSI (Zhang et al. 2014): SDSP saliency, gradient and LMN chroma "
        "similarity, saliency-weighted",
        differentiable=False,
        factory="metrics.vsi:build_vsi",
    )
)
register_metric(
    MetricInfo(
        name="iw-ssim",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(
            OptionInfo("levels", 5, "number of scales of the standard definition", (2, 3, 4, 5)),
            OptionInfo(
                "small_inputs",
                "reduce",
                "inputs too small for `levels` scales: 'reduce' uses the most scales that fit "
                "(3 at 64×64) with their exponents renormalised to sum 1; 'error' raises",
                ("reduce", "error"),
            ),
        ),
        summary="1 − IW-SSIM (Wang & Li 2011): Laplacian-pyramid SSIM pooled with information "
        "content weights of the luma; x0 is the reference; at least 21×21",
        differentiable=True,
        factory="metrics.iwssim:build_iw_ssim",
    )
)
register_metric(
    MetricInfo(
        name="dists",
        input_range=UNIT,
        lower_is_more_similar=True,
        options=(
            OptionInfo(
                "weights",
                None,
                "required: path to the official DISTS α/β file (weights.pt of DISTS_pytorch, or "
                "piq's dists_weights.pt: a dict with 'alpha' and 'beta', 1×1475×1×1), or such a "
                "dict; not shipped",
            ),
            OptionInfo(
                "trunk_weights",
                "imagenet",
                "VGG16 trunk as for lpips-vgg: 'imagenet' (the torch hub cache, then "
                "torchvision's download), a checkpoint path, or None for a seeded random trunk",
            ),
            OptionInfo("seed", 0, "seed of the random trunk when trunk_weights is None"),
            OptionInfo(
                "download",
                True,
                "allow torchvision's download when the ImageNet checkpoint is not in the cache",
                (False, True),
            ),
        ),
        summary="DISTS (Ding et al. 2020), a distance: VGG16 with L2 pooling, texture and "
        "structure terms weighted by the learned α/β (a file: weights=); at least 17×17",
        differentiable=True,
        factory="metrics.dists:build_dists",
    )
)

# ---- deep-<arch>: any torchvision classifier as an LPIPS-style metric (issue #16 item 3) ------
# Kept in its own block. The zoo and its options are declared torch-free in metrics.deep.
from metrics.deep.archs import ARCHS as _ZOO  # noqa: E402
from metrics.deep.options import DEEP_OPTIONS  # noqa: E402

for _spec in _ZOO.values():
    register_metric(
        MetricInfo(
            name=_spec.net,
            input_range=SYMMETRIC,
            lower_is_more_similar=True,
            options=DEEP_OPTIONS,
            summary=f"LPIPS-style distance on torchvision {_spec.arch} features ({_spec.family} "
            f"taps: {', '.join(_spec.taps)}; input {_spec.input_policy}), RGB in [-1, 1]",
            differentiable=True,
            factory=f"metrics.deep.model:build_{_spec.arch}",
        )
    )
