"""Reading the user's files with a bound on time and memory; writing results atomically.

A preset, an image or a points file is named by the user, so it may be anything: a FIFO
that never sends end-of-file (a plain open would hang), /dev/zero (a plain read never
ends and fills memory), or a file far larger than anything the program could use. Every
file the core reads goes through `read_limited`: it opens without blocking, accepts
regular files only, and reads at most the limit, so a bad file is one error naming the key
within a second.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import OutputError, SpecError

MB = 1 << 20
PRESET_LIMIT = 1 * MB    # a preset is text; the largest mixture allowed fits in well under this
POINTS_LIMIT = 64 * MB   # a CSV or .npy of points (at most 1,000,000 rows are used)
IMAGE_LIMIT = 50 * MB    # a PNG or other image


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _size(n: int) -> str:
    return f"{n / MB:.3g} MB" if n >= MB else f"{n:,} bytes"


def _fail(key: str, path, problem: str):
    # A preset has no key of its own: the file is the "where" of the message.
    if key:
        return SpecError(key, f"{problem}: {path}")
    return SpecError("", problem, str(path))


def read_limited(path, key: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; SpecError on `key` otherwise."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO with no writer returns at once
    except FileNotFoundError:
        raise _fail(key, path, "no such file") from None
    except IsADirectoryError:
        raise _fail(key, path, "is a folder, not a file") from None
    except OSError as e:
        raise _fail(key, path, f"cannot open ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)  # of what was opened, so a file swapped after a check cannot slip by
        if not stat.S_ISREG(st.st_mode):
            raise _fail(key, path, f"not a regular file (it is {_kind(st.st_mode)})")
        if st.st_size > limit:
            raise _fail(key, path, f"larger than the {_size(limit)} allowed ({_size(st.st_size)})")
        os.set_blocking(fd, True)
        chunks, have = [], 0
        while have <= limit:
            b = os.read(fd, min(limit + 1 - have, 8 * MB))
            if not b:
                break
            chunks.append(b)
            have += len(b)
        if have > limit:  # the file grew while it was read
            raise _fail(key, path, f"larger than the {_size(limit)} allowed")
        return b"".join(chunks)
    except OSError as e:
        raise _fail(key, path, f"cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)


def new_file_mode() -> int:
    """The mode a file the user creates gets (0o666 less the umask): files written through
    a temporary name (mkstemp, safetensors) start 0600, and a rename keeps that. Linux
    reports the umask in /proc without changing it; elsewhere it is read by setting it and
    straight back (a moment in which another thread's new file would get the wrong mode)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, write) -> None:
    """`write(tmp)` to a temporary file beside `path`, then rename: a reader (or a crash)
    never sees half a file. The temporary file lies in a fresh private folder (mkdtemp: a new
    name, created with O_EXCL, mode 0700), so nothing planted in a shared output folder (a
    symlink named like the temporary file) is ever written through; the rename replaces a
    link at `path` itself, never the file it points to. The folder is removed in every case;
    an OSError is an OutputError naming `path` (a full disk: "no space left ... writing PATH").
    """
    path = Path(path)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    except OSError as e:
        raise OutputError(path, e) from None
    tmp = folder / path.name   # the final name's suffix: writers that add one (np.save) do not
    try:
        write(tmp)
        os.chmod(tmp, new_file_mode(), follow_symlinks=False)  # mkstemp, safetensors: 0600
        os.replace(tmp, path)
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(path, e) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def probe_writable(out: Path, key: str = "--out") -> None:
    """Fail before any work, not after it, when the folder `out` cannot take a file. The probe
    is a fresh mkstemp file (O_EXCL: a symlink planted in the folder is never followed)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".score-explorer-probe-", dir=out)
    except OSError as e:
        raise SpecError(key, f"cannot write in {out}: {e.strerror or e}") from None
    try:
        os.write(fd, b"probe")
    except OSError as e:
        raise SpecError(key, f"cannot write in {out}: {e.strerror or e}") from None
    finally:
        os.close(fd)
        try:
            os.unlink(name)
        except OSError:
            pass


def output_folder(out: Path, key: str = "--out") -> Path:
    """`out` created if needed and probed: a SpecError on `key` (exit 2, before any work) when
    it is a file, cannot be made, or cannot be written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(key, f"{out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpecError(key, f"cannot create {out}: {e.strerror or e}") from None
    probe_writable(out, key)
    return out

