"""The pages the district's people look at, served by the gateway under /app/: server-rendered HTML
(Jinja2) whose data comes from the services' REST APIs with the signed-in person's token, charts
drawn by Chart.js served from /app/static/ (no CDN), tables that need no JavaScript."""

from services.gateway.pages.router import install_pages

__all__ = ["install_pages"]
