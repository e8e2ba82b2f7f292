"""Load a script of ``benchmarks/calibration`` as a module (they are scripts, not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "benchmarks" / "calibration"


def load(name: str) -> ModuleType:
    """``benchmarks/calibration/<name>.py``, with its siblings importable while it loads."""
    sys.path.insert(0, str(HERE))
    try:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while building
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(HERE))
    return module
