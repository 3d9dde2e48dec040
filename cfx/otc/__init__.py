"""The OTC layer: SKU forwards written bilaterally between principals and
dealers through requests for quote, cash-settled against their own
SKU/region index outside the clearing house.

- `forward`: `Forward`, its settlement price and daily mark;
- `rfq`: `Rfq`, `DealerQuote`, the rules of taking a quote, `CreditLine`;
- `ledger`: a dealer's P&L split (client spread, hedge, basis, fees,
  margin cost) and its in-run hedge effectiveness.

The simulation's side (messages with latency, booking, settlement, marks,
outputs) is `cfx.sim.otc_desk`.
"""

from cfx.otc.forward import Forward, expected_price, index_name, settlement_price, unfixed_fraction
from cfx.otc.ledger import DealerLedger
from cfx.otc.rfq import CreditLine, DealerQuote, Outcome, QuoteStatus, Rfq, best_quote

__all__ = [
    "CreditLine",
    "DealerLedger",
    "DealerQuote",
    "Forward",
    "Outcome",
    "QuoteStatus",
    "Rfq",
    "best_quote",
    "expected_price",
    "index_name",
    "settlement_price",
    "unfixed_fraction",
]
