"""The queue depths of a throughput run as a PNG (matplotlib, Agg: no display needed)."""

from collections.abc import Mapping, Sequence
from pathlib import Path


def plot_queues(
    series: Sequence[tuple[float, Mapping[str, float]]],
    stages: Sequence[str],
    path: Path,
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    times = [t for t, _ in series]
    for stage in stages:
        axes.plot(times, [sample.get(stage, 0.0) for _, sample in series], label=stage)
    axes.set_xlabel("seconds since the first article was submitted")
    axes.set_ylabel("messages waiting")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(title="stage")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
