"""Sample tables for analytics and model monitoring: half a year of repair orders with
revenue (to pivot and chart), and sales leads as a lead-scoring model sees them (to watch
for drift). Seeded numpy generators, so every machine gets the same numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

LEAD_FEATURES = {
    "vehicle_price": "numeric",
    "lead_source": "categorical",
    "days_to_contact": "numeric",
    "credit_tier": "categorical",
    "trade_in_value": "numeric",
}


def repair_orders_table(rows: int = 6000, seed: int = 11) -> pd.DataFrame:
    """Repair orders of the first half of 2024: department, advisor, hours and revenue."""
    r = np.random.default_rng(seed)
    dept = r.choice(["Service", "Body shop", "Quick lane"], size=rows, p=[0.55, 0.15, 0.3])
    base = {"Service": 2.4, "Body shop": 7.5, "Quick lane": 0.8}
    hours = np.round([r.gamma(2.0, base[d] / 2) + 0.2 for d in dept], 1)
    opened = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 182, size=rows), "D")
    return pd.DataFrame(
        {
            "ro_number": [f"RO-{24000 + i}" for i in range(rows)],
            "opened": opened.strftime("%Y-%m-%d"),
            "month": opened.strftime("%Y-%m"),
            "department": dept,
            "advisor": r.choice(["Ana Ruiz", "Ben Cole", "Chloe Park", "Dev Patel"], size=rows),
            "labor_hours": hours,
            "labor_revenue": np.round(hours * 145.0, 2),
            "parts_revenue": np.round(r.gamma(1.6, 120.0, size=rows), 2),
            "comeback": r.random(size=rows) < 0.04,
        }
    )


def leads_table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Sales leads with the model's score and prediction and whether they bought; a
    ``shift`` above zero moves prices up and the lead sources towards the web (drift)."""
    r = np.random.default_rng(seed)
    sources = ["walk-in", "phone", "web", "referral"]
    mix = [0.35, 0.25, 0.25, 0.15] if shift == 0 else [0.15, 0.15, 0.6, 0.1]
    tiers = [0.3, 0.35, 0.25, 0.1] if shift == 0 else [0.2, 0.3, 0.3, 0.2]
    price = r.normal(31_000 * (1 + shift), 6_000, size=rows).round(-2)
    frame = pd.DataFrame(
        {
            "vehicle_price": price,
            "lead_source": r.choice(sources, size=rows, p=mix),
            "days_to_contact": r.gamma(1.5, 1.2 * (1 + 3 * shift), size=rows).round(1),
            "credit_tier": r.choice(["A", "B", "C", "D"], size=rows, p=tiers),
            "trade_in_value": r.gamma(3.0, 3_000, size=rows).round(-2),
        }
    )
    odds: Any = 1.2 - frame["days_to_contact"] * 0.5 + (frame["credit_tier"] == "A") * 0.8
    frame["score"] = (1 / (1 + np.exp(-odds + r.normal(0, 0.8, size=rows)))).round(3)
    frame["predicted"] = (frame["score"] >= 0.5).astype(int)
    frame["bought"] = (r.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return frame
