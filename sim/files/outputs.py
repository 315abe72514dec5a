"""Output folders: what a command may write, replace and remove, and how, so nothing is lost.

The promises (README, "What the tool reads and writes"):

* A command replaces or removes only files it wrote. Each output folder holds a
  ledger, ``.gpsim-output.json``, listing every file the tool wrote there with its
  SHA-256; a file that is not listed, or was changed since, is the user's and is
  never replaced, moved or removed.
* A command writes into a folder that already holds other files only when told
  (``--force``), and even then leaves those files as they are. It never writes into
  the file-system root, a home folder or a folder that holds a git repository.
* A command never writes over one of its inputs (:mod:`sim.files.seen`).
* One command at a time writes into a folder (a lock); a second is refused.
* Files are written into a staging folder first, so a command that fails or is
  stopped before the end changes nothing. They are then moved into place one by
  one, between the ledger saying ``writing`` and ``complete``: a folder whose
  move was interrupted says so (:func:`check_complete`), and the next command
  replaces it whole.

Two kinds of output:

* a **folder** (``run``, ``compare``, ``sweep``, ``network``): after a command the
  tool's files in it are exactly what that command wrote. Folders that grow while a
  command runs (a sweep's ``runs/``, a network's ``practices/``) are named as
  *bulk*: owned whole, written folder by folder with :func:`replace_dir`, and kept
  from one command to the next.
* **named files** (``indices``, ``calibrate``, ``export-appointments``, ``schema``):
  the command writes those names into a folder that may hold anything else; a file
  of the same name that the tool did not write is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .seen import inputs_so_far

#: The ledger of the files the tool wrote in a folder.
LEDGER = ".gpsim-output.json"
#: Staging folders (hidden, beside what they will replace), named with host and process.
STAGING_PREFIX = ".gpsim-staging-"
LEDGER_VERSION = 1
#: At most this many names are listed in a message.
SHOWN = 5
#: Errors that mean the output folder cannot take the files (said in words, not a traceback).
_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT,
                errno.EFBIG, errno.EIO}

try:
    import fcntl
except ImportError:  # Windows: no lock (the rest holds)
    fcntl = None


class OutputRefused(Exception):
    """An output that cannot be written safely; each argument is one problem, in words."""

    @property
    def problems(self) -> list[str]:
        """One line per problem."""
        return [str(a) for a in self.args]


# ------------------------------------------------------------------ small helpers


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _names(items: Iterable[str]) -> str:
    items = sorted(items)
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _host() -> str:
    return "".join(ch for ch in socket.gethostname() if ch.isalnum())[:20] or "host"


def _staging_name(what: str = "") -> str:
    return f"{STAGING_PREFIX}{_host()}-{os.getpid()}-{what}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(folder: Path) -> None:
    """Remove staging folders in ``folder`` left by a dead process of this machine.

    A folder set aside by a process killed in the middle of :func:`replace_dir`
    (``...-old-NAME``) is put back if NAME is missing. Staging folders of other
    machines (a cluster on a shared disk) are left alone: their process cannot be
    checked from here.
    """
    if not folder.is_dir():
        return
    mine = f"{STAGING_PREFIX}{_host()}-"
    for p in folder.glob(mine + "*"):
        rest = p.name[len(mine):]
        try:
            pid = int(rest.split("-")[0])
        except ValueError:
            continue
        if _pid_alive(pid):
            continue
        _, sep, name = rest.partition("-old-")
        if sep and name and not (folder / name).exists():
            os.replace(p, folder / name)
        elif p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def write_text_atomically(path: Path, text: str) -> None:
    """Write a text file so that a reader sees the old file or the new one, never half.

    The file gets the usual permissions (the process's umask), as any other output.
    """
    tmp = path.parent / (_staging_name("file-") + os.urandom(6).hex())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where not available."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def replace_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``path`` whole, in one step.

    For folders that are wholly the tool's, inside an output folder it has claimed
    (a sweep's run, a network's practice). The staging folder sits beside
    ``path``; on Linux the two are swapped with one ``renameat2`` call, elsewhere
    the old folder is renamed aside first (and put back by
    :func:`clean_stale_staging` if the process dies in between). On failure
    ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(path.parent)
    staging = Path(tempfile.mkdtemp(prefix=_staging_name(), dir=path.parent))
    try:
        yield staging
        if not path.exists():
            try:
                os.rename(staging, path)
                return
            except OSError as e:  # made meanwhile by another writer: swap instead
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        if _exchange(staging, path):
            return  # staging now holds the old folder, removed below
        aside = path.parent / (_staging_name("old-") + path.name)
        os.replace(path, aside)
        os.replace(staging, path)
        shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------ the ledger


def _read_ledger(folder: Path) -> dict | None:
    """The folder's ledger, or None if it has none; a broken one raises OutputRefused."""
    path = folder / LEDGER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict) or not all(isinstance(v, list) for v in files.values()):
            raise ValueError
        data.setdefault("bulk", [])
        return data
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputRefused(f"{path}: not a ledger gpsim can read; if the folder is gpsim's "
                            "output, delete this file and the outputs you no longer need, "
                            "then run the command again") from None


def check_complete(folder: str | os.PathLike) -> str | None:
    """Why ``folder``'s outputs cannot be trusted as one run's (None: they can).

    A folder whose ledger says ``writing`` was interrupted while its files were
    moved into place: it may hold files of two runs.
    """
    folder = Path(folder)
    try:
        ledger = _read_ledger(folder)
    except OutputRefused as e:
        return e.problems[0]
    if ledger is not None and ledger.get("state") != "complete":
        return (f"{folder}: its command was stopped while moving its files into place, so "
                "they may come from two runs; run that command again to write it whole")
    return None


def _is_legacy(folder: Path) -> bool:
    """A folder written by a version of the tool before ledgers (its provenance file)."""
    metas = [folder / "metadata.json", folder / "comparison.json"]
    runs = folder / "runs"
    if runs.is_dir():
        metas += list(runs.glob("*/metadata.json"))[:1]
    for meta in metas:
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and ("code_version" in data or "key" in data):
            return True
    return False


def _files_under(folder: Path) -> dict[str, Path]:
    """Every file under ``folder`` (recursively), by its path relative to it, POSIX style."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(root) / name
            out[p.relative_to(folder).as_posix()] = p
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


# ------------------------------------------------------------------ claiming a folder


class OutputFolder:
    """A claimed output folder: checked, locked, ready to have files committed into it.

    Made by :func:`claim_output`; write with :meth:`writing`.
    """

    def __init__(self, path: Path, command: str, *, files: tuple[str, ...] | None,
                 bulk: tuple[str, ...], force: bool, inputs: Iterable[Path]):
        self.path = path
        self.command = command
        self.files = files
        self.bulk = set(bulk)
        self.force = force
        self.inputs = {Path(os.path.realpath(p)) for p in inputs}
        self.owned: dict[str, list[str]] = {}
        self.legacy = False
        self.created = False
        self._lock_fd: int | None = None

    # -- checks

    def _check(self) -> list[str]:
        """Every reason the folder cannot be written (empty: it can); takes the lock."""
        path = self.path
        if path.exists() and not path.is_dir():
            return [f"{path}: exists and is not a folder; choose another --out"]
        resolved = path.resolve()
        if self.files is None:
            if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
                return [f"{path}: the file system's root or a home folder cannot be an output "
                        "folder; choose a folder of its own, e.g. results/mine"]
            if (resolved / ".git").exists():
                return [f"{path}: holds a git repository; gpsim writes its results into a "
                        "folder of their own, e.g. results/mine"]
        if not path.exists():
            try:
                path.mkdir(parents=True)
                self.created = True
            except OSError as e:
                return [f"{path}: cannot make the output folder ({e.strerror}); nothing was "
                        "run or written"]
        try:
            fd, probe = tempfile.mkstemp(prefix=_staging_name("probe-"), dir=path)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            return [f"{path}: cannot write into the output folder ({e.strerror}); nothing was "
                    "run or written"]
        busy = self._lock()
        if busy:
            return [busy]
        clean_stale_staging(path)
        ledger = _read_ledger(path)
        if ledger is not None:
            self.owned = {k: list(v) for k, v in ledger["files"].items()}
            self.bulk |= set(ledger["bulk"])
        elif not self.created:
            self.legacy = _is_legacy(path)
        return self._ownership_problems() + self._input_problems(self._at_risk())

    def _lock(self) -> str | None:
        if fcntl is None:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return (f"{self.path}: another gpsim command is writing into this folder; wait "
                    "for it to finish, or choose another --out")
        except OSError:  # a file system without locks (some network disks): go on without
            os.close(fd)
            return None
        self._lock_fd = fd
        return None

    def release(self) -> None:
        """Release the lock; remove the folder if this command made it and left it empty."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only if empty

    def _changed(self) -> set[str]:
        """Owned files that are no longer as the tool wrote them (edited by the user)."""
        changed = set()
        for rel, hashes in self.owned.items():
            p = self.path / rel
            if p.is_file() and sha256_of(p) not in hashes:
                changed.add(rel)
        return changed

    def _ownership_problems(self) -> list[str]:
        changed = self._changed()
        for rel in changed:
            del self.owned[rel]
        if self.files is not None:  # named files: only those names matter
            theirs = [n for n in self.files if (self.path / n).exists() and not self.legacy
                      and n not in self.owned and n not in changed]
            out = []
            if theirs:
                out.append(f"{self.path}: {_names(theirs)} already exist(s) and gpsim did not "
                           "write them; move them away or choose another --out")
            if changed & set(self.files):
                out.append(f"{self.path}: {_names(changed & set(self.files))} were changed "
                           "since gpsim wrote them; move them away (or delete them) to write "
                           "new ones, or choose another --out")
            return out
        owned_top = {rel.split("/")[0] for rel in self.owned} | self.bulk | {LEDGER}
        foreign = []
        for p in self.path.iterdir():
            if p.name.startswith(STAGING_PREFIX) or p.name in owned_top:
                continue
            foreign.append(p.name)
        if self.legacy or (self.created and not foreign):
            return []
        out = []
        if changed:
            out.append(f"{self.path}: {_names(changed)} were changed since gpsim wrote them, "
                       "and a new run would write them again; move them away (or delete "
                       "them), or choose another --out")
        if foreign and not self.force:
            out.append(f"{self.path}: the folder holds files gpsim did not write "
                       f"({_names(foreign)}); gpsim replaces only its own files, so choose an "
                       "empty or new folder, or say --force to write there and leave those "
                       "files as they are")
        return out

    def _at_risk(self) -> set[str]:
        """Files this command may replace or remove, relative to the folder (known now)."""
        if self.files is not None:
            return set(self.files)
        return set(self.owned)

    def _input_problems(self, rels: Iterable[str]) -> list[str]:
        inputs = self.inputs | inputs_so_far()
        if not inputs:
            return []
        bad = []
        for rel in rels:
            target = self.path / rel
            if target.exists() and any(_same_file(target, i) for i in inputs):
                bad.append(rel)
        for name in self.bulk:
            folder = (self.path / name).resolve()
            bad += [str(i) for i in inputs if folder in i.parents]
        if not bad:
            return []
        return [f"{self.path}: {_names(bad)} is an input of this command, and writing the "
                "results here could replace it; choose another --out"]

    # -- writing

    @contextlib.contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a staging folder inside the output folder; on success commit its files.

        If anything fails or the command is stopped before the commit, the staging
        folder is removed and nothing in the output folder changes. A failure to
        write (a full or read-only disk) becomes :class:`OutputRefused`.
        """
        staging = Path(tempfile.mkdtemp(prefix=_staging_name(), dir=self.path))
        try:
            try:
                yield staging
            except OSError as e:
                if e.errno not in _DISK_ERRORS:
                    raise
                raise OutputRefused(f"{self.path}: could not write the results ({e.strerror});"
                                    " nothing in the folder was changed") from None
            self._commit(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, staging: Path) -> None:
        new = _files_under(staging)
        hashes = {rel: sha256_of(p) for rel, p in new.items()}
        replaceable = set(self.owned)
        clash = [rel for rel in new if (self.path / rel).exists() and rel not in replaceable
                 and not self.legacy]
        if clash:
            raise OutputRefused(f"{self.path}: {_names(clash)} already exist(s) and gpsim did "
                                "not write them (or they were changed since); move them away "
                                "or choose another --out; nothing was written")
        exact = self.files is None
        stale = {rel for rel in self.owned if rel not in new} if exact else set()
        problems = self._input_problems(set(new) | stale)
        if problems:
            raise OutputRefused(*problems)
        during = {**self.owned}
        for rel, h in hashes.items():
            during[rel] = sorted(set(during.get(rel, [])) | {h})
        self._write_ledger("writing", during)
        order = sorted(new, key=lambda rel: (rel.split("/")[-1] == "metadata.json", rel))
        for rel in order:
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new[rel], target)
        for rel in sorted(stale):
            with contextlib.suppress(FileNotFoundError):
                (self.path / rel).unlink()
            self._remove_empty_parents(self.path / rel)
        final = {rel: [h] for rel, h in hashes.items()}
        if not exact:
            final = {**{k: v for k, v in self.owned.items() if k not in final}, **final}
        self.owned = final
        self._write_ledger("complete", final)

    def _remove_empty_parents(self, path: Path) -> None:
        parent = path.parent
        while parent != self.path and self.path in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent

    def _write_ledger(self, state: str, files: dict[str, list[str]]) -> None:
        data = {
            "written_by": "gpsim",
            "version": LEDGER_VERSION,
            "command": self.command,
            "state": state,
            "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "bulk": sorted(self.bulk),
            "files": {k: files[k] for k in sorted(files)},
        }
        write_text_atomically(self.path / LEDGER, json.dumps(data, indent=1) + "\n")

    def mark_bulk(self) -> None:
        """Record the bulk folders in the ledger now, before the command starts filling them.

        A sweep or network stopped half-way then leaves a folder that the next
        command recognises as its own (and a sweep resumes).
        """
        ledger = _read_ledger(self.path) or {}
        if self.bulk - set(ledger.get("bulk", [])):
            self._write_ledger(ledger.get("state", "complete"), self.owned)


@contextlib.contextmanager
def claim_output(path: str | os.PathLike, *, command: str, force: bool = False,
                 files: Iterable[str] | None = None, bulk: Iterable[str] = (),
                 inputs: Iterable[str | os.PathLike] = ()) -> Iterator[OutputFolder]:
    """Check and lock an output folder for one command, before it runs anything.

    Args:
        path: the output folder (made if missing; removed again if the command
            writes nothing into it).
        command: the command's name, recorded in the ledger.
        force: write into a folder that holds files the tool did not write (they
            are left as they are).
        files: for a command that writes named files into a folder that is not
            its own (``indices``, ``calibrate``, ...): their paths relative to
            ``path``. None: ``path`` is the command's output folder.
        bulk: folders the command fills while it runs (a sweep's ``runs``).
        inputs: the command's input files, beside those noted while reading
            (:mod:`sim.files.seen`).

    Raises:
        OutputRefused: every reason the folder cannot be written; nothing was
            written.
    """
    folder = OutputFolder(Path(path), command, files=None if files is None else tuple(files),
                          bulk=tuple(bulk), force=force, inputs=[Path(p) for p in inputs])
    try:
        problems = folder._check()
        if problems:
            raise OutputRefused(*problems)
        yield folder
    finally:
        folder.release()
