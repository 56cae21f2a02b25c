"""The web layer's framework: the unit of work per request, rendering and the open
API's rate limit. No capability lives here; the app factory and the home page are in
``gongshu.app`` above them all."""
