"""`history`: every headline figure over the runs in a folder, ordered by
commit, with its 95% CI band and step changes flagged; writes a PNG and a
markdown summary."""

from __future__ import annotations

import json

from harness.commands.output import output_folder
from harness.errors import EXIT_OK, UsageError

def register(subparsers) -> None:
    parser = subparsers.add_parser("history", help="plot each headline figure over commits; flag step changes")
    parser.add_argument("folder", help="folder of results files and history files (searched recursively)")
    parser.add_argument("--out", default="report/history", help="folder for history.png and history.md (default: %(default)s)")
    parser.add_argument("--threshold", default="5%", help="smallest step change flagged (default: %(default)s)")
    parser.add_argument("--format", choices=("md", "json"), default="md", help="what to print")
    parser.set_defaults(handler=run)


def plot(history) -> bytes:
    """The history as a PNG: one panel per metric, a line per backend."""
    import io

    import matplotlib

    from harness.results import vocabulary

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics: dict[str, list] = {}
    for name, entry in history.series.items():
        metrics.setdefault(entry.metric, []).append((name, entry))
    labels = [run.label for run in history.runs]
    columns = 2 if len(metrics) > 3 else 1
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7 * columns, 2.8 * rows), sharex=True, squeeze=False)
    for ax, (metric, entries) in zip(axes.flat, metrics.items()):
        values = []
        for name, entry in entries:
            xs = [p.run for p in entry.points]
            ys = [p.value for p in entry.points]
            values += ys
            colour = vocabulary.colour(entry.family, entry.family_index)
            ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=entry.backend)
            band = [(p.run, p.ci95) for p in entry.points if p.ci95]
            if band:
                ax.fill_between([x for x, _ in band], [c[0] for _, c in band], [c[1] for _, c in band],
                                color=colour, alpha=0.2, linewidth=0)
            for step in entry.steps:
                ax.axvline(step.after_run - 0.5, color=colour, linestyle="--", linewidth=1)
                ax.annotate(f"{step.change.change:.2f}x", (step.after_run, step.change.after), color=colour,
                            fontsize=8, xytext=(3, 3), textcoords="offset points")
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 20:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{metric}\n({entries[0][1].unit})", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax in axes[-1, :]:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle("isobench history: median per run (x: commit, oldest first; band: 95% CI; "
                 "dashed line: step change)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def run(args) -> int:
    from harness.commands.compare import parse_threshold
    from harness.findings.history import build_history, find_runs, to_json, to_markdown
    from harness.results.store import ResultsError, write_atomic

    threshold = parse_threshold(args.threshold)
    try:
        found, skipped = find_runs(args.folder)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    if not found:
        raise UsageError(f"no isobench results or history files in {args.folder}")
    history = build_history(found, threshold)
    history.skipped = skipped
    out = output_folder(args.out)
    write_atomic(out / "history.png", plot(history))
    markdown = to_markdown(history)
    write_atomic(out / "history.md", f"# isobench history\n\n![history](history.png)\n\n{markdown}")
    if args.format == "json":
        print(json.dumps(to_json(history), indent=2))
    else:
        print(markdown, end="")
        print(f"\nwrote {out / 'history.png'} and {out / 'history.md'}")
    return EXIT_OK
