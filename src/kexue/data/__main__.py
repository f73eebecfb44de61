"""``python -m kexue.data list | fetch NAME… | fetch all | table``."""

from __future__ import annotations

import argparse
import sys

from ._fetch import SOURCES, archive_path, fetch, is_cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kexue.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every source with its size and whether it is cached")
    f = sub.add_parser("fetch", help="download sources into the cache ('all' for every one)")
    f.add_argument("names", nargs="+", metavar="NAME", choices=[*SOURCES, "all"])
    sub.add_parser("table", help="print the Markdown page book/data.md (loads every data set)")
    args = parser.parse_args(argv)
    if args.command == "list":
        width = max(map(len, SOURCES))
        for name, src in SOURCES.items():
            state = "cached" if is_cached(name) else "-"
            print(f"{name:<{width}}  {src.spec:<34} {src.size / 1e6:7.1f} MB  {state:<6}  {src.description}")
        return 0
    if args.command == "fetch":
        names = list(SOURCES) if "all" in args.names else args.names
        for name in names:
            print(f"{name}: {fetch(name)}")
        return 0
    from ._table import data_page
    sys.stdout.write(data_page())
    return 0


if __name__ == "__main__":
    sys.exit(main())
