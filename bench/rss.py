"""Peak resident memory of a block of code, sampled (``ru_maxrss`` would include import-time peaks)."""

from __future__ import annotations

import threading


class PeakRss:
    """Samples this process's RSS every few milliseconds (ru_maxrss would include import-time peaks)."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.baseline = self.peak = self._process.memory_info().rss
        self.interval_peak = self.baseline
        self.interval_peaks: list[int] = []  # the peak between consecutive marks (``mark``)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            rss = self._process.memory_info().rss
            self.peak = max(self.peak, rss)
            self.interval_peak = max(self.interval_peak, rss)

    def mark(self) -> None:
        """Close an interval (e.g. one chunk): its peak goes to ``interval_peaks``."""
        self.interval_peaks.append(self.interval_peak)
        self.interval_peak = self._process.memory_info().rss

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
