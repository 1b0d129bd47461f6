"""DVC-tracked data: ``data/<name>.csv.dvc`` is committed, the CSV itself lives in a DVC remote.

When the CSV is absent from the workspace, ``ensure_local`` pulls it with DVC's Python API.
The data version is the md5 that DVC recorded in the ``.dvc`` file, which is the MD5 of the file's
bytes that ``raw_data`` computes: Dagster and DVC name the same version of the data. DVC is
imported inside the methods: it is too heavy for the code location to load.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_assets.redaction import redact_url


class DvcDataError(RuntimeError):
    """A DVC-tracked file could not be made available; the message names the file, the remote and
    the command to run."""


@dataclass(frozen=True)
class DvcPointer:
    """What a ``.dvc`` file records about the data file next to it."""

    dvc_file: Path
    md5: str
    hash_name: str  # "md5"; DVC 2 files (no `hash:` key) are "md5-dos2unix", stored elsewhere


@dataclass(frozen=True)
class DataSource:
    """Where the data file came from: git (no ``.dvc`` file) or DVC, pulled now or already there."""

    pointer: DvcPointer | None = None
    pulled_from: str | None = None  # the remote's name when this run pulled the file

    def describe(self) -> str:
        if self.pointer is None:
            return "git"
        if self.pulled_from:
            return f"DVC, pulled from remote '{self.pulled_from}'"
        return "DVC, workspace copy"


def dvc_file_for(path: Path) -> Path:
    """``data/x.csv`` -> ``data/x.csv.dvc``: where ``dvc add data/x.csv`` records the file."""
    return path.with_name(path.name + ".dvc")


def read_dvc_file(dvc_file: Path) -> DvcPointer:
    """The md5 (and its hash kind) that ``dvc_file`` records for the data file it tracks."""
    try:
        text = dvc_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise _not_a_dvc_file(dvc_file, exc) from None
    return parse_dvc_file(text, dvc_file)


def parse_dvc_file(text: str, dvc_file: Path) -> DvcPointer:
    """``read_dvc_file`` for a ``.dvc`` file's text (say, as committed at another revision)."""
    try:
        content = yaml.safe_load(text)
        [out] = [o for o in content["outs"] if o["path"] == dvc_file.name.removesuffix(".dvc")]
        md5 = str(out["md5"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise _not_a_dvc_file(dvc_file, exc) from None
    if md5.endswith(".dir"):
        raise DvcDataError(f"{dvc_file}: tracks a directory; raw_data needs a single CSV file")
    return DvcPointer(dvc_file=dvc_file, md5=md5, hash_name=out.get("hash", "md5-dos2unix"))


def _not_a_dvc_file(dvc_file: Path, exc: Exception) -> DvcDataError:
    return DvcDataError(
        f"{dvc_file}: not a DVC file with one 'outs' entry for "
        f"'{dvc_file.name.removesuffix('.dvc')}' and its md5 ({type(exc).__name__}: {exc}); "
        f"recreate it with `dvc add {dvc_file.with_suffix('')}`"
    )


def ensure_local(path: Path, remote: str = "") -> DataSource:
    """Where ``path`` comes from, pulling it first when only its ``.dvc`` file exists.

    The remote is ``remote``, else the repository's default remote (``dvc remote add -d``).
    Credentials stay in DVC's config (``--local``), never here.
    """
    dvc_file = dvc_file_for(path)
    if not dvc_file.is_file():
        return DataSource()
    pointer = read_dvc_file(dvc_file)
    if path.exists():
        return DataSource(pointer)
    return DataSource(pointer, pulled_from=_pull(pointer, remote))


def _pull(pointer: DvcPointer, remote: str) -> str:
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    dvc_file = pointer.dvc_file
    try:
        root = Repo.find_root(str(dvc_file.parent))
    except NotDvcRepoError:
        raise DvcDataError(
            f"{dvc_file}: the data file is missing and no DVC repository (.dvc/) contains it; "
            "run `dvc init` at the root of the repository"
        ) from None
    target = os.path.relpath(dvc_file, root)
    with Repo(root) as repo:
        name = remote or repo.config["core"].get("remote")
        remotes = repo.config["remote"]
        if not name:
            raise DvcDataError(
                f"{dvc_file.with_suffix('')} is DVC-tracked but absent, and the repository at "
                f"{root} has no default DVC remote: run `dvc remote add -d <name> <url>`, "
                f"then `dvc pull {target}`"
            )
        if name not in remotes:
            raise DvcDataError(
                f"{dvc_file.with_suffix('')}: DVC remote '{name}' is not configured in {root} "
                f"(configured: {', '.join(remotes) or 'none'}); run `dvc remote list`"
            )
        url = redact_url(str(remotes[name].get("url", "")))
        try:
            repo.pull(targets=[str(dvc_file)], remote=name)  # absolute: DVC resolves from cwd
        except DvcException as exc:
            problem = _diagnose(repo, name, pointer) or f"`dvc pull` failed: {exc}"
            raise DvcDataError(
                f"{dvc_file.with_suffix('')} (md5 {pointer.md5}) could not be pulled from DVC "
                f"remote '{name}' ({url}): {problem}. "
                f"When that is fixed, run `dvc pull {target} -r {name}` in {root}"
            ) from None
    return name


def _diagnose(repo, remote: str, pointer: DvcPointer) -> str | None:
    """Why the remote did not deliver the file: unreachable, credentials refused, or missing."""
    from dvc.exceptions import DvcException

    try:
        odb = repo.cloud.get_remote_odb(remote, hash_name=pointer.hash_name)
    except DvcException:  # e.g. a cloud-versioned remote: DVC's own message says more
        return None
    try:
        odb.fs.info(odb.oid_to_path(pointer.md5))
    except FileNotFoundError as exc:
        status = getattr(exc.__cause__, "status", None)
        if status in (401, 403):
            return (
                f"the remote refused the credentials (HTTP {status}); set them with "
                f"`dvc remote modify --local {remote} user <user>` and "
                f"`dvc remote modify --local {remote} password <token>`"
            )
        if exc.__cause__ is not None and status != 404:
            return f"the remote is unreachable ({type(exc.__cause__).__name__}: {exc.__cause__})"
        root = repo.cloud.get_remote(remote).path
        if odb.fs.protocol == "local" and not odb.fs.isdir(root):
            return f"the remote is unreachable (directory {root} does not exist)"
        return (
            "the file is missing from the remote; push it from a checkout that has it with "
            f"`dvc push {os.path.relpath(pointer.dvc_file, repo.root_dir)} -r {remote}`"
        )
    except Exception as exc:  # noqa: BLE001 - any other failure of the remote is the diagnosis
        return f"the remote is unreachable ({type(exc).__name__}: {exc})"
    return None
