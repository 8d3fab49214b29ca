"""Precision, recall and F1 per entity on the seeded labelled corpus (exact span match).

.venv/bin/python benchmarks/guard_accuracy.py [--n 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from annexa.guard import Guard
from guard_corpus import generate, tally


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--show", type=int, default=0, help="print this many errors")
    args = parser.parse_args()
    samples = generate(args.n)
    tp, fp, fn = tally(Guard(), samples, args.show)
    print(f"{len(samples)} samples, {sum(len(s.spans) for s in samples)} labelled values")
    print(f"{'entity':<18} {'prec':>6} {'recall':>6} {'F1':>6}  tp/fp/fn")
    for entity in sorted(set(tp) | set(fp) | set(fn)):
        p = tp[entity] / (tp[entity] + fp[entity]) if tp[entity] + fp[entity] else 0.0
        r = tp[entity] / (tp[entity] + fn[entity]) if tp[entity] + fn[entity] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{entity:<18} {p:6.3f} {r:6.3f} {f1:6.3f}  {tp[entity]}/{fp[entity]}/{fn[entity]}")


if __name__ == "__main__":
    main()
