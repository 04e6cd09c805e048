"""The `holidays` package's Italy, loaded alone: its `holidays.countries` package imports every
one of its 250 countries to give one, a tenth of a second of each start. The settings check
the office's province against it, the business calendar reads its holidays."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import holidays

if TYPE_CHECKING:
    from holidays.countries.italy import Italy

MODULE = "holidays.countries.italy"


def italy() -> type[Italy]:
    """The class, as `holidays.Italy` gives it; the same class if all countries load later."""
    module = sys.modules.get(MODULE)
    if module is None:
        path = Path(holidays.__file__).with_name("countries") / "italy.py"
        spec = importlib.util.spec_from_file_location(MODULE, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[MODULE]
            raise
    return cast("type[Italy]", module.Italy)
