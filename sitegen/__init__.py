"""sitegen: the static-site and newsletter generator of Center for Borgerdialog."""

from __future__ import annotations

__version__ = "0.1.0"
