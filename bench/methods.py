"""The method registry.

Each method module registers its class with `@METHODS.register(name)`;
`load_methods` imports every module listed here so the registry is complete.
"""

from __future__ import annotations

import importlib

from bench.protocol import Method
from bench.registry import Registry

METHODS: Registry[type[Method]] = Registry("method")

# One module per method; add a new method's module here.
METHOD_MODULES: tuple[str, ...] = (
    "baselines.finetune",
    "baselines.maml",
    "baselines.protonet",
    "baselines.logreg",
    "baselines.setfit_adapter",
    "bench.meta.method",
)

_loaded = False


def load_methods() -> Registry[type[Method]]:
    global _loaded
    if not _loaded:
        for module in METHOD_MODULES:
            importlib.import_module(module)
        _loaded = True
    return METHODS


def build_method(name: str, overrides: dict | None = None) -> Method:
    """Instantiate a registered method with its defaults updated by `overrides`."""
    cls = load_methods().get(name)
    params = dict(getattr(cls, "defaults", {}))
    unknown = set(overrides or {}) - set(params)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {sorted(unknown)} for method {name!r}; "
            f"valid ones are {sorted(params)}"
        )
    for key, value in (overrides or {}).items():
        default = params[key]
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"invalid value {value!r} for {name}.{key}: expected a number like {default!r}")
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"invalid value {value!r} for {name}.{key}: expected true or false")
    params.update(overrides or {})
    return cls(**params)
