"""Prompt-injection heuristics on the seeded corpus: detections per attack family, false
positives per benign family, the quoted-attack family on its own, time per prompt, and the
prompts kept out of tuning (``data/injection_heldout.yaml``, ``data/injection_blind.yaml``)
on their own.

    .venv/bin/python benchmarks/injection_accuracy.py [--benign 3000] [--attacks 1500]
        [--seed 11] [--show N]   # N misses and false positives, with their reasons
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml

from annexa.guard import detect_injection
from injection_corpus import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--benign", type=int, default=3000)
    parser.add_argument("--attacks", type=int, default=1500)
    parser.add_argument("--quoted", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args()
    samples = generate(args.benign, args.attacks, args.quoted, seed=args.seed)
    detect_injection("warm-up")  # the rules compile on first use: not a prompt's time
    flagged: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    times: list[float] = []
    shown = 0
    for sample in samples:
        t0 = time.perf_counter()
        report = detect_injection(sample.text)
        times.append(time.perf_counter() - t0)
        cell = flagged[(sample.kind, sample.family)]
        cell[0] += report.suspicious
        cell[1] += 1
        wrong = report.suspicious != (sample.kind == "attack")
        if wrong and sample.kind != "quoted" and shown < args.show:
            shown += 1
            label = "MISSED" if sample.kind == "attack" else "FALSE POSITIVE"
            print(
                f"{label} [{sample.family}] score {report.score} {report.reasons}\n"
                f"  {sample.text!r}"
            )
    print(f"{len(samples)} samples (seed {args.seed})")
    for kind, heading in (
        ("attack", "attacks: detected"),
        ("benign", "benign: flagged (false positives)"),
        ("quoted", "quoted attacks: flagged"),
    ):
        cells = {fam: c for (k, fam), c in flagged.items() if k == kind}
        if not cells:
            continue
        hit = sum(c[0] for c in cells.values())
        total = sum(c[1] for c in cells.values())
        print(f"\n{heading}: {hit}/{total} = {hit / total:.1%}")
        for family, (h, t) in sorted(cells.items()):
            print(f"  {family:<22} {h:>5}/{t:<5} {h / t:7.1%}")
    times.sort()
    size = statistics.mean(len(s.text) for s in samples)
    print(
        f"\ntime per prompt (mean {size:.0f} characters): "
        f"p50 {statistics.median(times) * 1e6:.0f} us,"
        f" p99 {times[int(len(times) * 0.99)] * 1e6:.0f} us"
    )
    _held_out(args.show)
    big = "Please review this text. " * 160  # 4 KB of ordinary prose
    best = min(_timed(big) for _ in range(50))
    print(f"4 KB of ordinary prose: {best * 1e6:.0f} us")


def _held_out(show: int) -> None:
    """The prompts kept out of the generated corpus: ``injection_heldout.yaml`` and the
    blind sets, each written before its first run (their headers give that run's figures
    and whether the rules changed after it; the last one's did not)."""
    folder = Path(__file__).parent / "data"
    blind = sorted(path.name for path in folder.glob("injection_blind*.yaml"))  # 1, 2, ...
    for name in ("injection_heldout.yaml", *blind):
        data = yaml.safe_load((folder / name).read_text())
        print(f"\n{name}:")
        for kind, heading in (("attack", "attacks detected"), ("benign", "benign flagged")):
            texts = data[kind]
            reports = [detect_injection(text) for text in texts]
            hit = sum(r.suspicious for r in reports)
            print(f"  {heading:<17} {hit:>3}/{len(texts):<3} {hit / len(texts):7.1%}")
            if show:
                for text, report in zip(texts, reports, strict=True):
                    if report.suspicious != (kind == "attack"):
                        print(f"    {report.score} {report.reasons} {text!r}")


def _timed(text: str) -> float:
    t0 = time.perf_counter()
    detect_injection(text)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
