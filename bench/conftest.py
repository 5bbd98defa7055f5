"""`pytest bench` as one trial: the isobench plugin's options, hooks and `trial` fixture."""

from harness.measure.plugin import (  # noqa: F401  (the plugin's hooks and the `trial` fixture)
    pytest_addoption,
    pytest_configure,
    pytest_sessionfinish,
    pytest_sessionstart,
    trial,
)
