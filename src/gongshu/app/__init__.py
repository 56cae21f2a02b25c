"""The top of the platform: the app factory (``factory``), the home page (``home``) and
serving an instance (``server``). It reads the capability registry
(``gongshu.capabilities``); nothing below imports it."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="app",
    label="工作台",
    routers=("gongshu.app.home:pages", "gongshu.app.me:pages", "gongshu.app.styleguide:pages"),
)
