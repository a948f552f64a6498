"""Median and p90 of file length and function length over api/ workers/ shared/.

`python -m bench.code_shape [ROOT]`: file length is lines, function length is the AST span of each
(async) function including its docstring. Reported in issue notes as the shape of the code against
the house targets (conventions.md: median file ~76 lines, p90 ~422; median function ~10, p90 ~45).
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path


def _pct(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def measure(root: Path) -> tuple[list[int], list[int]]:
    files: list[int] = []
    functions: list[int] = []
    for package in ("api", "workers", "shared"):
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text()
            if not text.strip():
                continue
            files.append(text.count("\n"))
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                    functions.append(node.end_lineno - node.lineno + 1)
    return files, functions


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    files, functions = measure(root)
    print(f"files={len(files)} median={statistics.median(files)} p90={_pct(files, 90)} max={max(files)}")
    print(f"functions={len(functions)} median={statistics.median(functions)} p90={_pct(functions, 90)} "
          f"max={max(functions)}")


if __name__ == "__main__":
    main()
