"""Analytics: process mining and advanced analytics over pandas, Qt-free."""
