"""Size of the Lambda dependencies layer and of the function code asset (prints figures; not a test).

Builds the layer first if it is missing (``layers/build.py``, no Docker), then reports the
unzipped size (what counts against Lambda's 250 MB limit for function + layers) and the zipped
size (what is uploaded), with and without the precompiled ``.pyc`` files, plus the largest
packages.

    uv run python bench/layer_size.py                # arm64
    uv run python bench/layer_size.py --arch x86_64
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
CODE_EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_build", ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(root: Path, keep: Callable[[Path], bool] = lambda _: True) -> Iterable[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file() and keep(p))


def sizes(root: Path, keep: Callable[[Path], bool] = lambda _: True) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of the files under ``root`` that ``keep`` accepts.

    Zipped with deflate level 9, as the CDK packs directory assets.
    """
    unzipped = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(root, keep):
            unzipped += path.stat().st_size
            archive.write(path, path.relative_to(root).as_posix())
    return unzipped, len(buffer.getvalue())


def largest_packages(site: Path, count: int = 10) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for path in _files(site):
        top = path.relative_to(site).parts[0]
        if top.endswith(".dist-info"):
            continue
        totals[top] = totals.get(top, 0) + path.stat().st_size
    return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Dependencies layer and code asset sizes.")
    parser.add_argument("--arch", choices=["arm64", "x86_64"], default="arm64")
    args = parser.parse_args(argv)
    build = _load_build()
    layer = build.build(args.arch)  # no-op when the stamp shows an up-to-date build
    unzipped, zipped = sizes(layer)
    src_unzipped, src_zipped = sizes(layer, lambda p: p.suffix != ".pyc")
    code_unzipped, code_zipped = sizes(
        ROOT / "functions", lambda p: p.suffix != ".pyc" and not CODE_EXCLUDED_PARTS & set(p.parts)
    )
    print(f"dependencies layer ({args.arch}, python3.13): {layer.relative_to(ROOT)}")
    print(f"  unzipped {unzipped / MB:.1f} MB, zipped {zipped / MB:.1f} MB (with precompiled .pyc)")
    print(f"  unzipped {src_unzipped / MB:.1f} MB, zipped {src_zipped / MB:.1f} MB (sources only)")
    print(
        f"function code asset (functions/): unzipped {code_unzipped / MB:.2f} MB, "
        f"zipped {code_zipped / MB:.2f} MB"
    )
    print(
        "Lambda limit: 250 MB unzipped for function + layers; "
        f"headroom {(250 * MB - unzipped - code_unzipped) / MB:.0f} MB"
    )
    print(
        "largest packages (unzipped): "
        + ", ".join(f"{n} {b / MB:.1f}" for n, b in largest_packages(layer / "python"))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
