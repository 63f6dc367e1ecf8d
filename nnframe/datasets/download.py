"""Fetch a file from a list of mirrors, verified before it is moved into place.

Each mirror is tried in turn. The body goes to a temporary file beside the destination;
only when ``verify`` accepts it is it renamed into place, so a failed, interrupted or corrupt
download never leaves a file that looks complete. On a terminal a rich progress bar shows
the transfer; a line on stderr says what is fetched from where.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from nnframe._version import __version__
from nnframe.atomic import temp_path_for
from nnframe.errors import DataError

CHUNK = 1 << 16
TIMEOUT_S = 30.0


def _stderr(message: str) -> None:
    print(f"nnframe: {message}", file=sys.stderr, flush=True)


def fetch(
    name: str,
    urls: Sequence[str],
    destination: Path,
    verify: Callable[[Path], None],
    *,
    timeout: float = TIMEOUT_S,
    report: Callable[[str], None] = _stderr,
) -> Path:
    """Download ``name`` from the first of ``urls`` that serves a file ``verify`` accepts.

    ``verify(path)`` raises `DataError` for a file that must not be used. Every failure is
    reported through ``report`` and the next mirror is tried; when none works, a `DataError`
    lists what each mirror did and how to place the file by hand.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {destination.parent} to download {name} into ({exc}); "
                        "set NNFRAME_DATA_DIR to a writable directory") from None
    failures = []
    for url in urls:
        try:
            _download_verified(url, destination, verify, timeout, report, name)
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


def _download_verified(url: str, destination: Path, verify: Callable[[Path], None],
                       timeout: float, report: Callable[[str], None], name: str) -> None:
    temporary = temp_path_for(destination)
    # 0o666: the umask decides the permissions, as for any new file (mkstemp would give 0o600)
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": f"nnframe/{__version__}"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                total = _content_length(response)
                report(f"downloading {name} from {url}")
                _copy(response, out, total, name)
        verify(temporary)
        os.replace(temporary, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _copy(source: IO[bytes], out: IO[bytes], total: int | None, label: str) -> None:
    if not sys.stderr.isatty():
        _copy_chunks(source, out, lambda n: None)
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
        _copy_chunks(source, out, lambda n: progress.advance(task, n))


def _copy_chunks(source: IO[bytes], out: IO[bytes], advance: Callable[[int], None]) -> None:
    while chunk := source.read(CHUNK):
        out.write(chunk)
        advance(len(chunk))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc)
