"""Fetch a file from a list of mirrors, bounded in size and time, verified before it is used.

Each mirror is tried in turn. The body goes to a temporary file beside the destination;
only when ``verify`` accepts it is it renamed into place, so a failed, interrupted or corrupt
download never leaves a file that looks complete. A mirror may not send more than
``max_bytes`` (a mirror streaming zeros cannot fill the disk) nor take longer than
``deadline`` seconds in all (one trickling a byte every few seconds cannot hang nnframe);
either is one failure of that mirror, and the next is tried. On a terminal a rich progress
bar shows the transfer; a line on stderr says what is fetched from where.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from nnframe._version import __version__
from nnframe.errors import DataError
from nnframe.modelfile.atomic import remove_stale_temps, replaceable_target, temp_path_for

CHUNK = 1 << 16
#: Seconds one read (or the connection) may stall before the mirror counts as failed.
TIMEOUT_S = 30.0
#: Seconds a whole file may take from one mirror, unless ``$NNFRAME_DOWNLOAD_DEADLINE`` says.
DEADLINE_S = 600.0
DEADLINE_ENV = "NNFRAME_DOWNLOAD_DEADLINE"


def _stderr(message: str) -> None:
    print(f"nnframe: {message}", file=sys.stderr, flush=True)


def default_deadline() -> float:
    """Seconds allowed per file and mirror: ``$NNFRAME_DOWNLOAD_DEADLINE``, else `DEADLINE_S`."""
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if not text:
        return DEADLINE_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise DataError(f"{DEADLINE_ENV}={text!r} is not a number of seconds > 0")
    return value


def fetch(
    name: str,
    urls: Sequence[str],
    destination: Path,
    verify: Callable[[Path], None],
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
    timeout: float = TIMEOUT_S,
    report: Callable[[str], None] = _stderr,
) -> Path:
    """Download ``name`` from the first of ``urls`` that serves a file ``verify`` accepts.

    ``verify(path)`` raises `DataError` for a file that must not be used. A mirror that
    sends more than ``max_bytes`` or takes more than ``deadline`` seconds (default:
    `default_deadline`) fails, as does one that stalls for ``timeout`` seconds. Every
    failure is reported through ``report`` as one line naming the mirror, and the next one
    is tried; when none works, a `DataError` lists what each did and how to place the
    file by hand.
    """
    destination = Path(destination)
    deadline = default_deadline() if deadline is None else deadline
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {destination.parent} to download {name} into ({exc}); "
                        "set NNFRAME_DATA_DIR to a writable directory") from None
    remove_stale_temps(destination.parent)  # what downloads killed midway left behind
    failures = []
    for url in urls:
        limits = _Limits(max_bytes, time.monotonic() + deadline, deadline, timeout)
        try:
            _download_verified(url, destination, verify, limits, report, name)
            return destination
        except (OSError, http.client.HTTPException, DataError, ValueError) as exc:
            reason = _reason(exc)
            failures.append(f"{url}: {reason}")
            if len(failures) < len(urls):
                report(f"warning: {url} failed ({reason}); trying the next mirror")
    tried = "; ".join(failures) or "no mirror configured"
    raise DataError(
        f"could not download {name} ({tried}); check the network or NNFRAME_MNIST_MIRROR, "
        f"or put the file into {destination.parent} by hand"
    )


class _Limits:
    """What one mirror may send and for how long."""

    def __init__(self, max_bytes: int | None, ends_at: float, deadline: float,
                 timeout: float) -> None:
        self.max_bytes = max_bytes
        self.ends_at = ends_at
        self.deadline = deadline
        # Each blocking read waits at most this long, so that the deadline is checked.
        self.read_timeout = min(timeout, deadline)

    def check_size(self, size: int, announced: bool = False) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            said = "announced" if announced else "sent more than"
            raise DataError(f"{said} {size:,} bytes; the file is at most "
                            f"{self.max_bytes:,}")

    def check_time(self) -> None:
        if time.monotonic() > self.ends_at:
            raise DataError(f"took longer than {self.deadline:g} s, the most allowed per file "
                            f"(set {DEADLINE_ENV} to allow more)")


def _download_verified(url: str, destination: Path, verify: Callable[[Path], None],
                       limits: _Limits, report: Callable[[str], None], name: str) -> None:
    destination = replaceable_target(destination)  # never a device or FIFO in its place
    temporary = temp_path_for(destination)
    # 0o666: the umask decides the permissions, as for any new file (mkstemp would give 0o600)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": f"nnframe/{__version__}"})
            with urllib.request.urlopen(request, timeout=limits.read_timeout) as response:
                total = _content_length(response)
                if total is not None:
                    limits.check_size(total, announced=True)
                report(f"downloading {name} from {url}")
                _copy(response, out, total, name, limits)
        limits.check_time()
        verify(temporary)
        os.replace(temporary, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _copy(source: IO[bytes], out: IO[bytes], total: int | None, label: str,
          limits: _Limits) -> None:
    if not sys.stderr.isatty():
        _copy_chunks(source, out, lambda n: None, limits)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn(label), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("download", total=total)
        _copy_chunks(source, out, lambda n: progress.advance(task, n), limits)


def _copy_chunks(source: Any, out: IO[bytes], advance: Callable[[int], None],
                 limits: _Limits) -> None:
    """Copy what arrives as it arrives (``read1``: a trickle cannot hold a read open past
    the deadline), within the size and time limits."""
    received = 0
    while True:
        limits.check_time()
        chunk = source.read1(CHUNK)
        if not chunk:
            return
        received += len(chunk)
        limits.check_size(received)
        out.write(chunk)
        advance(len(chunk))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, TimeoutError):
        return "timed out waiting for data"
    return str(exc)
