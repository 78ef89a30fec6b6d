"""``cpts-geo app``: compose a CPTS territory on a map with every check live (local web app).

:func:`~cpts_geo.app.server.create_app` builds the Starlette application; the CLI serves it with
uvicorn on 127.0.0.1. See docs/app.md.
"""

from cpts_geo.app.server import create_app

__all__ = ["create_app"]
