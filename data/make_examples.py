"""Writes the example data files shipped in data/: example_sales.csv and decay.csv.

Deterministic (fixed seeds), so running it again reproduces the files byte for byte:

    python data/make_examples.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def example_sales(seed: int = 20240101, weeks: int = 60) -> list[list]:
    """Weekly price and units sold: units ≈ 5200·price^−1.3 + 150 + noise; ads is spend in dollars."""
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(2.0, 12.0, weeks), 2)
    units = 5200.0 * price ** -1.3 + 150.0 + rng.normal(0.0, 20.0, weeks)
    ads = np.round(rng.uniform(0.0, 500.0, weeks), -1)
    return [[week + 1, f"{p:.2f}", int(round(u)), int(a)] for week, (p, u, a) in enumerate(zip(price, units, ads))]


def decay(seed: int = 7, n: int = 40) -> list[list]:
    """y = 3.2·exp(−0.45·x) + 0.8 + noise at evenly spaced x in [0, 10]."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, n)
    y = 3.2 * np.exp(-0.45 * x) + 0.8 + rng.normal(0.0, 0.03, n)
    return [[f"{xi:.4f}", f"{yi:.4f}"] for xi, yi in zip(x, y)]


def main() -> None:
    write(HERE / "example_sales.csv", ["week", "price", "units", "ads"], example_sales())
    write(HERE / "decay.csv", ["x", "y"], decay())


if __name__ == "__main__":
    main()
