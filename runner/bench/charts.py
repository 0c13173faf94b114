"""The report as a chart (matplotlib, the bench extra): one group of bars per benchmark, a bar per
runtime, time per operation on a log scale with the 95% confidence interval as error bars. `.png`
writes the picture; `.html` a self-contained page with the chart (inline SVG) and the table."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .tables import duration, headers, markdown, reference_note, rows

COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def _figure(report: dict[str, Any]) -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--chart needs matplotlib: pip install 'modrun[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runtimes = [r["name"] for r in report["runtimes"]]
    keys = list(dict.fromkeys(r["benchmark"] for r in report["results"]))
    by = {(r["benchmark"], r["runtime"]): r for r in report["results"]}
    bar = 0.8 / max(1, len(runtimes))
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.22 * len(keys) * len(runtimes) + 0.3 * len(keys)), dpi=110)
    for j, runtime in enumerate(runtimes):
        ys, widths, lows, highs, labels = [], [], [], [], []
        for i, key in enumerate(keys):
            result = by.get((key, runtime))
            if not result or not result["stats"]:
                continue
            stats = result["stats"]
            lo, hi = stats["ci95_ns"]
            ys.append(i + (j - (len(runtimes) - 1) / 2) * bar)
            widths.append(stats["median_ns"])
            lows.append(stats["median_ns"] - lo)
            highs.append(hi - stats["median_ns"])
            labels.append(duration(stats["median_ns"]))
        color = COLORS[j % len(COLORS)]
        ax.barh(ys, widths, height=bar * 0.9, color=color, label=runtime,
                xerr=[lows, highs], error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": "#222222"})
        for y, width, high, label in zip(ys, widths, highs, labels, strict=True):
            ax.text((width + high) * 1.08, y, label, va="center", fontsize=7, color="#333333")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: duration(value)))
    ax.set_yticks(range(len(keys)), [_wrap(k) for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median time per operation (log scale); error bars: 95% confidence interval of the median")
    ax.grid(axis="x", which="both", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    left, right = ax.get_xlim()
    ax.set_xlim(left, right * 4)  # room for the labels
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.set_title(f"modrun bench · {report['machine']['cpus']} CPUs · {report['created']}", fontsize=10)
    fig.tight_layout()
    return fig


def _wrap(key: str, width: int = 44) -> str:
    if len(key) <= width:
        return key
    cut = key.rfind(" › ", 0, width)
    return key if cut <= 0 else key[:cut] + "\n  " + key[cut + 3:]


def write_png(report: dict[str, Any], path: Path) -> None:
    fig = _figure(report)
    fig.savefig(path, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)


def write_html(report: dict[str, Any], path: Path) -> None:
    fig = _figure(report)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    import matplotlib.pyplot as plt

    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prologue: the SVG is inline
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers(report))
    body = []
    for cells, result in rows(report):
        klass = ' class="error"' if result["stats"] is None else ""
        body.append(f"<tr{klass}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    machine = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>modrun bench {html.escape(report['created'])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
th, td {{ padding: 2px 10px; border-bottom: 1px solid #e4e4e4; }}
td:nth-child(n+3) {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.error td {{ color: #b00020; }}
svg {{ max-width: 100%; height: auto; }}
.meta {{ color: #555; }}
</style></head><body>
<h1>modrun bench</h1>
<p class="meta">{html.escape(report['created'])} · {machine['cpus']} CPUs · {html.escape(machine['cpu'] or '')} ·
{html.escape(versions)} · backend: {html.escape(report['backend'])}</p>
{svg}
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<p class="meta">Median time per operation and the 95% confidence interval of the median;
{html.escape(reference_note(report))}.</p>
<details><summary>Markdown</summary><pre>{html.escape(markdown(report))}</pre></details>
</body></html>
"""
    path.write_text(page)


def write_chart(report: dict[str, Any], target: str) -> Path:
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix == ".png":
        write_png(report, path)
    elif suffix in (".html", ".htm"):
        write_html(report, path)
    else:
        raise UsageError(f"--chart {target}: the file must end in .png or .html")
    return path
