#!/usr/bin/env python3
"""Prints the version of one workspace member, read from its Cargo.toml.

    python3 scripts/crate_version.py order-service            -> 0.1.0
    python3 scripts/crate_version.py order-service --check-tag order-service-v0.1.0

The image pipeline tags images with this version and, on a release tag, refuses to publish
when the tag `<service>-v<version>` does not equal the version committed in Cargo.toml.
A member that inherits `version.workspace = true` gets [workspace.package].version.
Needs only Python 3.11+ (tomllib), so the publish job needs no Rust toolchain.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# SemVer 2.0.0, as Cargo accepts it.
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def crate_version(package: str, root: Path = ROOT) -> str:
    """The version of the workspace member in folder `package` (folder name = package name)."""
    manifest = root / package / "Cargo.toml"
    if not manifest.is_file():
        raise SystemExit(f"error: {manifest} does not exist")
    data = tomllib.loads(manifest.read_text())
    pkg = data.get("package") or {}
    if pkg.get("name") != package:
        raise SystemExit(f"error: {manifest} names package {pkg.get('name')!r}, not {package!r}")
    version = pkg.get("version")
    if isinstance(version, dict) and version.get("workspace") is True:
        root_manifest = tomllib.loads((root / "Cargo.toml").read_text())
        version = root_manifest.get("workspace", {}).get("package", {}).get("version")
    if not isinstance(version, str) or not SEMVER.fullmatch(version):
        raise SystemExit(f"error: {manifest} has no valid SemVer version (found {version!r})")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="workspace member, e.g. order-service")
    parser.add_argument(
        "--check-tag",
        metavar="TAG",
        help="fail unless TAG equals <package>-v<version>",
    )
    args = parser.parse_args(argv)
    version = crate_version(args.package)
    if args.check_tag is not None:
        expected = f"{args.package}-v{version}"
        if args.check_tag != expected:
            print(
                f"error: tag {args.check_tag!r} does not match {args.package}/Cargo.toml "
                f"(version {version}); expected tag {expected!r}",
                file=sys.stderr,
            )
            return 1
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
