# ruff: noqa: E501
"""Guard speed on two corpora, side by side with Presidio's regex-only analyzer.

* dense: the labelled accuracy corpus (every ~100 characters a value or a hard negative);
* sparse: ordinary prose, code and logs with one entity every 1-2 KB (real prompts).

Texts are built from fresh samples (no sample repeats across texts), so per-value caches
cannot flatter the numbers. Prints MB/s, p50/p99 per 1 KB / 4 KB prompt and per 1 MB
document, peak Python memory, RSS over a long run, the matching gate (the re2.Set fallback vs
the engine's Hyperscan gate) and, when ``presidio-analyzer`` is installed (the ``bench`` extra), the same
for Presidio with the ``no_op``-style NLP engine, and the ratios: with the same entity set
(annexa limited to the entity types Presidio also has, as the comparison asks) and with
every annexa detector on.

The ratios are measured on the same texts, each engine warm and in one block, the blocks
back to back (Presidio's right after annexa's passes over them), so that a machine whose
load drifts between the sections slows all alike. Each block starts with untimed texts of
the same corpus and size but another seed: a 1 MB block times a single document, and
without a 1 MB warm-up it timed that engine's first pass over a long text (RE2's lazy DFA
states and the phone metadata a 4 KB text never reaches), not its throughput.

    .venv/bin/python benchmarks/guard_speed.py [--quick] [--flat-mb N] [--no-presidio]
    .venv/bin/python benchmarks/guard_speed.py --gigabyte   # only: RSS while scanning 1 GB
    .venv/bin/python benchmarks/guard_speed.py --profile [dense|sparse]   # only: cProfile
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from annexa.guard import COMPILED, Guard, Policy
from guard_corpus import generate, sparse_text


def _dense(size: int, count: int, seed: int) -> list[str]:
    """``count`` texts of ``size`` characters from a pool of distinct samples."""
    pool = [s.text for s in generate(max(64, size * count // 90), seed=seed, core_only=True)]
    out, i = [], 0
    for _ in range(count):
        parts: list[str] = []
        n = 0
        while n < size and i < len(pool):
            parts.append(pool[i])
            n += len(pool[i]) + 1
            i += 1
        out.append("\n".join(parts)[:size])
    return out


def _sparse(size: int, count: int, seed: int) -> list[str]:
    return [sparse_text(size, seed * 100003 + k)[0][:size] for k in range(count)]


def _latency(fn, texts: list[str]) -> tuple[float, float, float]:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        fn(t)
        times.append(time.perf_counter() - t0)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    mbps = sum(len(t.encode()) for t in texts) / sum(times) / 1e6
    return p50 * 1e3, p99 * 1e3, mbps


def _report(name: str, fn, sets: dict[str, list[str]]) -> dict[str, float]:
    res = {}
    for label, texts in sets.items():
        p50, p99, mbps = _latency(fn, texts)
        res[label] = mbps
        print(
            f"{name:<20} {label:<11} p50 {p50:9.3f} ms  p99 {p99:9.3f} ms  {mbps:8.2f} MB/s"
            f"  ({len(texts)} texts)"
        )
    return res


def _blocks(engines, texts: list[str], warm: list[str]) -> list[list[float]]:  # type: ignore[no-untyped-def]
    """Per-text times of each engine on the same texts, one engine's block after the other,
    back to back (interleaving text by text would have each evict the other's caches).
    Each block starts with a few untimed ``warm`` texts: the block before it, the other
    engine's, has just evicted this one's code and data from the CPU caches."""
    times: list[list[float]] = []
    for fn in engines:
        for text in warm:
            fn(text)
        out: list[float] = []
        for text in texts:
            t0 = time.perf_counter()
            fn(text)
            out.append(time.perf_counter() - t0)
        times.append(out)
    return times


def _summary(times: list[float], texts: list[str]) -> tuple[float, float, float]:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1e3, p99 * 1e3, sum(len(t.encode()) for t in texts) / sum(times) / 1e6


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak is all there is
        return _rss_mb()


def _gigabyte(guard: Guard, total_mb: int = 1024, every_mb: int = 64) -> None:
    """Scan ``total_mb`` MB, half dense and half sparse, as 4 KB prompts and 1 MB documents
    drawn in turn from a 16 MB pool of distinct texts, printing the current and the peak RSS
    every ``every_mb`` MB: memory that stays flat shows nothing accumulates per scan."""
    t0 = time.perf_counter()
    pool: list[str] = []
    for seed in range(4):
        pool += _dense(4096, 256, 100 + seed) + _sparse(4096, 256, 100 + seed)
        pool += _dense(1 << 20, 1, 200 + seed) + _sparse(1 << 20, 1, 200 + seed)
    sizes = [len(t.encode()) for t in pool]
    print(
        f"1 GB run: pool of {len(pool)} texts, {sum(sizes) / 2**20:.1f} MB, built in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    for text in pool[:64]:
        guard.scan(text)
    print(f"{'scanned MB':>10} {'RSS MB':>8} {'peak RSS MB':>12} {'elapsed s':>10} {'MB/s':>6}")
    print(f"{0:>10} {_current_rss_mb():>8.1f} {_rss_mb():>12.1f} {0:>10.1f} {'':>6}")
    scanned = 0
    mark = every_mb << 20
    t0 = time.perf_counter()
    k = 0
    while scanned < total_mb << 20:
        text = pool[k % len(pool)]
        result = guard.scan(text)
        if result.status != "ok":
            raise SystemExit(f"scan failed: {result.errors}")
        scanned += sizes[k % len(pool)]
        k += 1
        if scanned >= mark:
            elapsed = time.perf_counter() - t0
            print(
                f"{scanned / 2**20:>10.0f} {_current_rss_mb():>8.1f} {_rss_mb():>12.1f}"
                f" {elapsed:>10.1f} {scanned / elapsed / 1e6:>6.2f}",
                flush=True,
            )
            mark += every_mb << 20


def _flat_memory(guard: Guard, docs: list[str], total_mb: int) -> None:
    """Scan ``total_mb`` MB (cycling over the documents) and print the peak RSS as it goes."""
    scanned = 0
    step = max(1, total_mb // 4)
    mark = step
    t0 = time.perf_counter()
    start_rss = _rss_mb()
    print(f"memory over {total_mb} MB scanned: start max RSS {start_rss:.0f} MB", end="")
    while scanned < total_mb << 20:
        for doc in docs:
            guard.scan(doc)
            scanned += len(doc.encode())
            if scanned >= mark << 20:
                print(f", {mark} MB: {_rss_mb():.0f} MB", end="", flush=True)
                mark += step
            if scanned >= total_mb << 20:
                break
    elapsed = time.perf_counter() - t0
    print(f"  ({scanned / elapsed / 1e6:.1f} MB/s)")


def _core_comparison(guard: Guard, doc: str) -> None:
    """Which detectors match anywhere (the gate before per-detector spans), on text the
    matcher has not seen: the re2.Set fallback versus the engine's Hyperscan gate."""
    data = doc.encode()
    compiled = guard._compiled
    t0 = time.perf_counter()
    re2_hits = sorted(compiled.set.Match(data) or [])
    re2_s = time.perf_counter() - t0
    print(
        f"gate re2.Set     fresh 1 MB: {re2_s * 1e3:7.2f} ms  {len(data) / re2_s / 1e6:8.1f} MB/s"
    )
    if compiled.hs is None:
        print("gate hyperscan: not installed (the engine uses the re2.Set gate)")
        return
    t0 = time.perf_counter()
    hits = sorted(set(compiled.hs.match(data)))
    hs_s = time.perf_counter() - t0
    names = [det.name for det in compiled.detectors]
    print(
        f"gate hyperscan   fresh 1 MB: {hs_s * 1e3:7.2f} ms  {len(data) / hs_s / 1e6:8.1f} MB/s"
        f"  (missed vs re2.Set: {sorted(names[i] for i in set(re2_hits) - set(hits))}; "
        f"over-reported: {sorted(names[i] for i in set(hits) - set(re2_hits))})"
    )


def _presidio(entities: list[str]):  # type: ignore[no-untyped-def]
    # offline, tldextract logs a traceback and falls back to its bundled suffix list
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpArtifacts
    except ImportError:
        return None

    class _NoOpNlp:
        def process_text(self, text, language):  # type: ignore[no-untyped-def]
            return NlpArtifacts([], [], [], [], None, language)

        def process_batch(self, texts, language, **kwargs):  # type: ignore[no-untyped-def]
            for t in texts:
                yield t, self.process_text(t, language)

        def is_loaded(self):  # type: ignore[no-untyped-def]
            return True

        def get_supported_languages(self):  # type: ignore[no-untyped-def]
            return ["en"]

        def is_stopword(self, word, language):  # type: ignore[no-untyped-def]
            return False

        def is_punct(self, word, language):  # type: ignore[no-untyped-def]
            return False

        def get_supported_entities(self):  # type: ignore[no-untyped-def]
            return []

        def load(self):  # type: ignore[no-untyped-def]
            return None

    engine = AnalyzerEngine(nlp_engine=_NoOpNlp(), supported_languages=["en"])
    supported = set(engine.get_supported_entities("en"))
    ents = [e for e in entities if e in supported]
    print(f"presidio entities compared: {', '.join(sorted(ents))}")
    return (lambda text: engine.analyze(text, language="en", entities=ents)), ents


def _profile(corpus: str) -> None:
    """cProfile of a warm guard scanning 300 fresh 4 KB texts of a corpus (where the time
    goes, not how fast: the profiler slows Python code down unevenly)."""
    import cProfile
    import pstats

    guard = Guard()
    for text in _dense(4096, 50, 99) + _sparse(4096, 50, 99):
        guard.scan(text)
    texts = (_dense if corpus == "dense" else _sparse)(4096, 300, 2)
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        guard.scan(text)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--flat-mb", type=int, default=None, help="MB to scan for RSS")
    parser.add_argument("--no-presidio", action="store_true")
    parser.add_argument(
        "--gigabyte", action="store_true", help="only scan 1 GB and print RSS as it goes"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="dense",
        choices=["dense", "sparse"],
        help="only profile 4 KB scans of a corpus (cProfile)",
    )
    args = parser.parse_args()
    if args.gigabyte:
        _gigabyte(Guard())
        return
    if args.profile:
        _profile(args.profile)
        return
    n_small = 300 if args.quick else 2000
    n_big = 2 if args.quick else 5
    flat_mb = args.flat_mb if args.flat_mb is not None else (32 if args.quick else 1024)
    t0 = time.perf_counter()
    corpora = {
        "dense": {
            "1KB": _dense(1024, n_small, 1),
            "4KB": _dense(4096, n_small, 2),
            "1MB": _dense(1 << 20, n_big, 3),
        },
        "sparse": {
            "1KB": _sparse(1024, n_small, 1),
            "4KB": _sparse(4096, n_small, 2),
            "1MB": _sparse(1 << 20, n_big, 3),
        },
    }
    print(f"corpora built in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    guard = Guard()
    print(
        f"Guard() build: {(time.perf_counter() - t0) * 1e3:.1f} ms, {len(guard.detectors)} detectors"
    )
    build = (
        "compiled by mypyc" if COMPILED else "plain Python (ANNEXA_PURE_PYTHON=1 or no compiler)"
    )
    print(f"scanning modules: {build}")
    warm = _dense(4096, 50, 99) + _sparse(4096, 50, 99)
    t0 = time.perf_counter()
    guard.scan(warm[0])
    print(f"first scan of 4 KB (cold DFA): {(time.perf_counter() - t0) * 1e3:.2f} ms")
    for text in warm:  # the lazy DFA builds its states on first sight; steady state after
        guard.scan(text)
    ours: dict[str, dict[str, float]] = {}
    for corpus, sets in corpora.items():
        ours[corpus] = _report(
            "annexa guard scan", guard.scan, {f"{corpus} {k}": v for k, v in sets.items()}
        )
    for corpus in corpora:
        tracemalloc.start()
        guard.scan(corpora[corpus]["1MB"][0])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python memory scanning 1 MB {corpus}: {peak / 1e6:.1f} MB")
    if flat_mb:
        _flat_memory(guard, corpora["sparse"]["1MB"] + corpora["dense"]["1MB"], flat_mb)
    _core_comparison(guard, _dense(1 << 20, 1, 77)[0])
    _core_comparison(guard, _sparse(1 << 20, 1, 77)[0])
    if args.no_presidio:
        return
    ours_entities = sorted({d.entity_type for d in guard.detectors})
    found = _presidio(ours_entities)
    if found is None:
        print("presidio-analyzer not installed: skipped (pip install presidio-analyzer)")
        return
    presidio, shared = found
    # The comparison: both engines looking for the same entity types. The guard
    # with every detector on (Presidio has none for keys, tokens and most national ids)
    # is timed on the same texts too.
    same = Guard(Policy(disabled=[e for e in ours_entities if e not in shared]))
    for text in warm:
        same.scan(text)
    for text in warm[:5]:
        presidio(text)
    print(
        f"same entity set: annexa with {len(same.detectors)} detectors for the "
        f"{len(shared)} entity types both engines have; all: every annexa detector "
        f"({len(guard.detectors)}, {len(ours_entities)} entity types)"
    )
    n = 100 if args.quick else 300
    make = {"dense": _dense, "sparse": _sparse}
    sizes = {"1KB": 1024, "4KB": 4096, "1MB": 1 << 20}
    for corpus, sets in corpora.items():
        small = {k: (v[:n] if k != "1MB" else v[:1]) for k, v in sets.items()}
        ratios = []
        for size, texts in small.items():
            label = f"{corpus} {size}"
            # another seed than every timed corpus: untimed texts of this size and kind
            warm_up = make[corpus](sizes[size], 1 if size == "1MB" else 3, 555)
            matched, mine, theirs = _blocks((same.scan, guard.scan, presidio), texts, warm_up)
            p50, p99, mbps = _summary(theirs, texts)
            print(
                f"{'presidio regex-only':<20} {label:<11} p50 {p50:9.3f} ms  p99 {p99:9.3f} ms"
                f"  {mbps:8.2f} MB/s  ({len(texts)} texts)"
            )
            m50, m99, m_mbps = _summary(matched, texts)
            ratios.append(
                f"throughput ratio {label}: same entity set {sum(theirs) / sum(matched):.0f}x"
                f" (annexa {m_mbps:.2f} MB/s, p50 {m50:.3f} ms, p99 {m99:.3f} ms);"
                f" all detectors {sum(theirs) / sum(mine):.0f}x"
                f" (annexa {_summary(mine, texts)[2]:.2f} MB/s)"
            )
        print("\n".join(ratios))


if __name__ == "__main__":
    main()
