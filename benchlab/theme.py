"""The benchlab chart theme and the provenance encoding every chart shares.

Importing this module registers an Altair theme called ``"benchlab"`` (altair 6
API, :func:`altair.theme.register`); :func:`enable` switches to it and
:mod:`benchlab.charts` calls it on import so every chart looks the same.

The house rule is that every number says whether it was *measured*,
*simulated* or *predicted*.  Charts therefore never rely on colour alone for
provenance (colour is for the series): the three provenances get a fixed
shape, fill and line dash, with one legend that names them:

===========  ==================  ========  ==========================
provenance   point               line      bar / cell (no shape)
===========  ==================  ========  ==========================
measured     filled circle       solid     opaque, solid outline
simulated    hollow circle       dashed    lighter, dashed outline
predicted    hollow diamond      dotted    faint, dotted outline
===========  ==================  ========  ==========================

The helpers below return encodings with a *fixed* scale domain (all three
provenances), so the mapping is identical in every chart and the legend always
spells out what each mark means, even when a chart holds only one kind.
"""

from __future__ import annotations

from typing import Any

import altair as alt

__all__ = [
    "THEME_NAME",
    "PROVENANCE_DOMAIN",
    "PROVENANCE_SHAPES",
    "PROVENANCE_OPACITY",
    "PROVENANCE_DASHES",
    "SERIES_SCHEME",
    "BETTER",
    "WORSE",
    "NEUTRAL",
    "CHANGE_COLORS",
    "COMPAT_COLORS",
    "enable",
    "config",
    "provenance_shape",
    "provenance_opacity",
    "provenance_dash",
]

THEME_NAME = "benchlab"

PROVENANCE_DOMAIN = ["measured", "simulated", "predicted"]
#: Vega symbol shapes.  Simulated and predicted are *rings* drawn as SVG paths (an
#: outer outline and a reversed inner one, so the non-zero fill rule leaves a
#: hole): they look hollow in the plot *and* in the legend, which a fill-opacity
#: encoding cannot do (Vega-Lite draws no legend for fillOpacity).
RING = "M-1,0A1,1 0 1,0 1,0A1,1 0 1,0 -1,0ZM-0.55,0A0.55,0.55 0 1,1 0.55,0A0.55,0.55 0 1,1 -0.55,0Z"
DIAMOND_RING = "M0,-1.25L1.25,0L0,1.25L-1.25,0ZM0,-0.6L-0.6,0L0,0.6L0.6,0Z"
PROVENANCE_SHAPES = ["circle", RING, DIAMOND_RING]
#: bar/cell opacity by provenance (for marks that have no shape)
PROVENANCE_OPACITY = [0.95, 0.55, 0.3]
PROVENANCE_DASHES = [[1, 0], [6, 3], [2, 2]]
PROVENANCE_TITLE = "provenance"

#: categorical palette for series (colour-blind friendly)
SERIES_SCHEME = "tableau10"
#: comparison colours: better / worse / within noise (blue–orange is colour-blind safe)
BETTER = "#2b6cb0"
WORSE = "#dd6b20"
NEUTRAL = "#a0aec0"

#: colour of a detected change's rule: by kind while untriaged, then by triage status
CHANGE_COLORS = {
    "regression": WORSE,
    "improvement": BETTER,
    "acknowledged": "#b7791f",
    "expected": "#2f855a",
    "false_alarm": "#a0aec0",
    "fixed": "#6b46c1",
}
COMPAT_COLORS = {
    "full": "#2f855a",
    "limited": "#d69e2e",
    "experimental": "#dd6b20",
    "unsupported": "#c53030",
}

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def config() -> alt.theme.ThemeConfig:
    """The theme as a Vega-Lite config dictionary."""
    grid = "#e2e8f0"
    text = "#2d3748"
    return {
        "width": 560,
        "height": 280,
        "config": {
            "font": _FONT,
            "background": "white",
            "view": {"stroke": None},
            "title": {
                "fontSize": 15,
                "fontWeight": 600,
                "anchor": "start",
                "color": text,
                "subtitleColor": "#4a5568",
                "subtitleFontSize": 12,
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": 500,
                "labelColor": text,
                "titleColor": text,
                "gridColor": grid,
                "domainColor": "#a0aec0",
                "tickColor": "#a0aec0",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "right", "symbolStrokeWidth": 1.5},
            "range": {"category": {"scheme": SERIES_SCHEME}},
            "point": {"size": 48, "strokeWidth": 1.5},
            "line": {"strokeWidth": 1.8},
            "rule": {"color": "#718096"},
            "text": {"fontSize": 11, "color": text},
        },
    }


@alt.theme.register(THEME_NAME, enable=False)
def _benchlab_theme() -> alt.theme.ThemeConfig:
    return config()


def enable() -> None:
    """Make ``"benchlab"`` the active Altair theme."""
    alt.theme.enable(THEME_NAME)


def _scale(range_: list[Any]) -> alt.Scale:
    # "ordinal", not the default "point" scale: a point scale would interpolate the numeric ranges
    return alt.Scale(type="ordinal", domain=PROVENANCE_DOMAIN, range=range_)


def _legend(show: bool) -> alt.Legend | None:
    return alt.Legend(title=PROVENANCE_TITLE, symbolFillColor="#4a5568", symbolStrokeColor="#4a5568") if show else None


def provenance_shape(field: str = "provenance", *, legend: bool = True) -> alt.Shape:
    """Shape by provenance: filled circle, hollow circle, hollow diamond (use with ``mark_point(filled=True)``)."""
    return alt.Shape(f"{field}:N", scale=_scale(PROVENANCE_SHAPES), legend=_legend(legend), title=PROVENANCE_TITLE)


def provenance_opacity(field: str = "provenance", *, legend: bool = True) -> alt.Opacity:
    """Opacity by provenance (opaque, lighter, faint) for bars and cells, which have no shape."""
    return alt.Opacity(f"{field}:N", scale=_scale(PROVENANCE_OPACITY), legend=_legend(legend), title=PROVENANCE_TITLE)


def provenance_dash(field: str = "provenance", *, legend: bool = False) -> alt.StrokeDash:
    """Line dash by provenance: solid, dashed, dotted.

    Without a legend by default: the point shapes on the same chart carry the
    provenance legend.  Vega-Lite merges legends whose scales have identical
    explicit domains, and a hidden dash legend would then hide the shape legend
    too; listing the same mapping in reverse order keeps the two apart.
    """
    if legend:
        return alt.StrokeDash(
            f"{field}:N", scale=_scale(PROVENANCE_DASHES), legend=_legend(True), title=PROVENANCE_TITLE
        )
    scale = alt.Scale(type="ordinal", domain=PROVENANCE_DOMAIN[::-1], range=PROVENANCE_DASHES[::-1])
    return alt.StrokeDash(f"{field}:N", scale=scale, legend=None)
