"""The data market: listings, tradability, orders, contracts, delivery, disputes, credit."""
