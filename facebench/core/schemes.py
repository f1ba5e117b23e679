"""Landmark schemes: point names, attention regions, flip pairs and normalising pairs.

Sides are the *image's* left and right as seen in a frontal view (iBUG convention): ``eye_left``
holds iBUG points 36-41 and brow 17-21, which is the subject's right eye.

``ibug68`` is the 68-point iBUG / 300-W markup, 0-based. ``studio89`` is the same 68 points with
the same meaning plus 21 detail points that lie inside the four attention regions and are visible
from every camera of a frontal arc rig (see docs/landmarks.md for the labelled figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from facebench.core.errors import FacebenchError

REGION_NAMES: tuple[str, ...] = ("eye_left", "eye_right", "nose", "mouth")


@dataclass(frozen=True)
class Scheme:
    name: str
    num_points: int
    names: tuple[str, ...]                       # one per point, index = landmark id
    regions: Mapping[str, tuple[int, ...]]       # REGION_NAMES -> point ids (sorted)
    ocular_pair: tuple[int, int]                 # outer eye corners, the default NME normaliser
    eye_points: tuple[tuple[int, ...], tuple[int, ...]]  # each eye's six contour points (inter-pupil)
    flip_pairs: tuple[tuple[int, int], ...]
    groups: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # anatomical groups, for plots

    @property
    def regional(self) -> tuple[int, ...]:
        """Ids of every point refined by an attention region, sorted."""
        return tuple(sorted(i for r in self.regions.values() for i in r))

    @property
    def global_only(self) -> tuple[int, ...]:
        """Ids of the points left to the global stage (the jaw line), sorted."""
        inside = set(self.regional)
        return tuple(i for i in range(self.num_points) if i not in inside)

    def flip_permutation(self) -> tuple[int, ...]:
        """Index permutation that relabels points after a horizontal image flip."""
        perm = list(range(self.num_points))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)


def _r(a: int, b: int) -> tuple[int, ...]:
    """Inclusive id range."""
    return tuple(range(a, b + 1))


_IBUG_NAMES = (
    tuple(f"jaw_{i:02d}" for i in range(17))
    + tuple(f"brow_left_{i}" for i in range(5))
    + tuple(f"brow_right_{i}" for i in range(5))
    + tuple(f"nose_bridge_{i}" for i in range(4))
    + tuple(f"nose_base_{i}" for i in range(5))
    + ("eye_left_outer", "eye_left_upper_outer", "eye_left_upper_inner", "eye_left_inner",
       "eye_left_lower_inner", "eye_left_lower_outer",
       "eye_right_inner", "eye_right_upper_inner", "eye_right_upper_outer", "eye_right_outer",
       "eye_right_lower_outer", "eye_right_lower_inner")
    + tuple(f"lip_outer_{i:02d}" for i in range(12))
    + tuple(f"lip_inner_{i}" for i in range(8))
)

_IBUG_FLIP = (
    tuple((i, 16 - i) for i in range(8))
    + tuple((17 + i, 26 - i) for i in range(5))
    + ((31, 35), (32, 34))
    + ((36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46))
    + ((48, 54), (49, 53), (50, 52), (59, 55), (58, 56), (60, 64), (61, 63), (67, 65))
)

_IBUG_GROUPS = {
    "jaw": _r(0, 16), "brows": _r(17, 26), "nose": _r(27, 35), "eyes": _r(36, 47),
    "mouth": _r(48, 67),
}

IBUG68 = Scheme(
    name="ibug68",
    num_points=68,
    names=_IBUG_NAMES,
    regions=MappingProxyType({
        "eye_left": _r(17, 21) + _r(36, 41),
        "eye_right": _r(22, 26) + _r(42, 47),
        "nose": _r(27, 35),
        "mouth": _r(48, 67),
    }),
    ocular_pair=(36, 45),
    eye_points=(_r(36, 41), _r(42, 47)),
    flip_pairs=_IBUG_FLIP,
    groups=MappingProxyType(_IBUG_GROUPS),
)

# The 21 studio detail points, ids 68-88 (see docs/landmarks.md for where each one lies).
_STUDIO_DETAIL = (
    "eye_left_pupil",             # 68 centre of the pupil
    "eye_left_iris_left",         # 69 iris edge, image-left side, at the pupil's height
    "eye_left_iris_right",        # 70 iris edge, image-right side
    "eye_left_crease_outer",      # 71 upper-lid crease above point 37
    "eye_left_crease_inner",      # 72 upper-lid crease above point 38
    "eye_right_pupil",            # 73
    "eye_right_iris_left",        # 74
    "eye_right_iris_right",       # 75
    "eye_right_crease_inner",     # 76 upper-lid crease above point 43
    "eye_right_crease_outer",     # 77 upper-lid crease above point 44
    "nostril_left",               # 78 centre of the nostril opening
    "nostril_right",              # 79
    "alar_crease_left",           # 80 where the ala meets the cheek
    "alar_crease_right",          # 81
    "columella",                  # 82 underside of the nose, between tip and subnasale
    "philtrum_left",              # 83 left philtral ridge, halfway from subnasale to the lip
    "philtrum_right",             # 84
    "philtrum_groove",            # 85 philtral groove, halfway from subnasale to the lip
    "commissure_left",            # 86 crease just outside the left mouth corner
    "commissure_right",           # 87
    "mentolabial_fold",           # 88 deepest point of the fold between lower lip and chin
)

STUDIO89 = Scheme(
    name="studio89",
    num_points=89,
    names=_IBUG_NAMES + _STUDIO_DETAIL,
    regions=MappingProxyType({
        "eye_left": _r(17, 21) + _r(36, 41) + _r(68, 72),
        "eye_right": _r(22, 26) + _r(42, 47) + _r(73, 77),
        "nose": _r(27, 35) + _r(78, 82),
        "mouth": _r(48, 67) + _r(83, 88),
    }),
    ocular_pair=(36, 45),
    eye_points=(_r(36, 41), _r(42, 47)),
    flip_pairs=_IBUG_FLIP + ((68, 73), (69, 75), (70, 74), (71, 77), (72, 76), (78, 79),
                             (80, 81), (83, 84), (86, 87)),
    groups=MappingProxyType({**_IBUG_GROUPS, "detail": _r(68, 88)}),
)

SCHEMES: Mapping[str, Scheme] = MappingProxyType({s.name: s for s in (IBUG68, STUDIO89)})


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name``; a clear error for an unknown one."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise FacebenchError(f"unknown landmark scheme {name!r} (known: {', '.join(SCHEMES)})") from None


def scheme_for_count(num_points: int) -> Scheme:
    """The scheme with ``num_points`` points (68 -> ibug68, 89 -> studio89)."""
    for s in SCHEMES.values():
        if s.num_points == num_points:
            return s
    known = ", ".join(f"{s.num_points} ({s.name})" for s in SCHEMES.values())
    raise FacebenchError(f"no landmark scheme has {num_points} points (known: {known})")


# (prefix, whole): the prefix scheme's points are the whole scheme's first points, with the same meaning
_PREFIXES = frozenset({("ibug68", "studio89")})


def is_prefix(prefix: Scheme, whole: Scheme) -> bool:
    """True when ``whole``'s first ``prefix.num_points`` points are ``prefix``'s points (studio89
    data can be read as ibug68, and a 68-point model scored on studio89 data's first 68 points)."""
    return (prefix.name, whole.name) in _PREFIXES


def prefix_points(points, prefix: Scheme):
    """The ``prefix`` scheme's points (..., prefix.num_points, 2) of landmarks (..., N, 2) in any
    scheme that holds them as its first points (studio89 -> ibug68: its first 68); a clear error
    for a scheme that does not."""
    n = points.shape[-2]
    whole = scheme_for_count(n)
    if whole.name != prefix.name and not is_prefix(prefix, whole):
        raise FacebenchError(f"{whole.name} landmarks ({n} points) do not contain the {prefix.name} points")
    return points[..., :prefix.num_points, :]
