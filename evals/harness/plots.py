"""Small shared matplotlib helpers for the benchmarks' PNGs (Agg backend, no display)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BarPanel:
    title: str
    bars: dict[str, float]
    color: str = "tab:blue"
    markers: dict[str, float] = field(default_factory=dict)  # e.g. p95 dots over p50 bars
    marker_label: str = ""


def bar_panels(path: Path, panels: list[BarPanel], suptitle: str, width: float = 10.0) -> None:
    """One row of bar charts written to path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(width, 3.9))
    for ax, panel in zip(list(axes) if len(panels) > 1 else [axes], panels, strict=True):
        names = list(panel.bars)
        ax.bar(names, [panel.bars[n] for n in names], color=panel.color)
        if panel.markers:
            ax.scatter(names, [panel.markers[n] for n in names], color="k", zorder=3,
                       label=panel.marker_label)  # fmt: skip
            ax.legend()
        ax.set_title(panel.title, fontsize=10)
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_result(
    out_dir: Path,
    name: str,
    result: dict[str, Any],
    plot: Callable[[dict[str, Any], Path], None],
    headline: tuple[str, ...],
) -> None:
    """NAME.json and NAME.png in out_dir; prints the headline keys and where both went."""
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out_dir / f"{name}.png")
    print(json.dumps({key: result[key] for key in headline}))
    print(f"wrote {out_dir / name}.json and {out_dir / name}.png")
