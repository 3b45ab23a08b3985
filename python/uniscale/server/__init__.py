"""The OpenAI-compatible router server behind ``uniscale serve`` (FastAPI + uvicorn).

``create_app(pipeline, ServeConfig(...))`` builds the app; FastAPI is imported only then, so this
package imports without the ``server`` extra installed.
"""

from __future__ import annotations

from uniscale.server.app import ARM_HEADER, DECISION_HEADER, ServeConfig, create_app

__all__ = ["ARM_HEADER", "DECISION_HEADER", "ServeConfig", "create_app"]
