"""Registration uses the market's fixtures: an operator, public entries with data and
an operation licence."""

from __future__ import annotations

from ..market.conftest import PRODUCT, approved_product, market, product_data  # noqa: F401, TID252
