"""The progress bar of ``send`` on a terminal: counts always, total / percent / ETA for a file.

For a regular file the bar follows the bytes read against the file's size, so it has a total,
a percentage and an ETA before the events are counted. The counts come first after the bar and
``failed`` leads them, so an 80-column terminal that cuts the line still shows it.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, Any

from tqdm import tqdm

WITH_TOTAL = "{percentage:3.0f}%|{bar:10}| ETA {remaining} | {desc}"
WITHOUT_TOTAL = "{elapsed} | {desc}"


class Progress:
    """A bar on ``stream`` when it is a terminal; else nothing is drawn."""

    def __init__(self, stream: IO[str], total_bytes: int | None) -> None:
        self._bar: tqdm[Any] = tqdm(
            desc=self._counts(Counter(), 0, 0),
            total=total_bytes,
            file=stream,
            disable=not stream.isatty(),
            leave=False,
            bar_format=WITH_TOTAL if total_bytes else WITHOUT_TOTAL,
            dynamic_ncols=True,
            mininterval=0.2,
        )
        self._position = 0

    def show(self, position: int, counts: Counter[str], read: int, passed: int = 0) -> None:
        """``position``: bytes read so far; ``counts``: outcomes by status; ``read``: events
        read to send; ``passed``: lines passed over (``--resume``: an earlier run finished them;
        their bytes are in ``position`` too, so the count says why the bar moved)."""
        if self._bar.disable:
            return
        self._bar.set_description_str(self._counts(counts, read, passed), refresh=False)
        self._bar.update(position - self._position)
        self._position = position

    @staticmethod
    def _counts(counts: Counter[str], read: int, passed: int) -> str:
        shown = (
            f"failed {counts['failed']:,} · rejected {counts['rejected']:,} · "
            f"delivered {counts['delivered']:,} · read {read:,}"
        )
        return f"{shown} · passed over {passed:,}" if passed else shown

    def close(self) -> None:
        self._bar.close()
