"""Periodic batch auctions: the rules of a series that matches in discrete
batches instead of continuously (Budish, Cramton and Shim 2015's frequent
batch auctions; the engine's matching mode ``batch_interval_ns``).

While the series trades (CONTINUOUS or SETTLEMENT_WINDOW) it is a call that
never stops collecting: orders rest unmatched (the book may cross), the
indicative uncross is published on every change (`IndicativeUncross`), and
at every batch boundary the book uncrosses at one price by the call
auction's rule (cfx/auction.py, the same code as the opening call; its
reference price is the last trade, else the prior settlement). Outside
trading hours the session is as for any series: the pre-open collects for
the opening call, which uncrosses at the open.

Boundaries. A batch boundary is every multiple of the interval in ns since
the simulation epoch (a midnight), so with an interval that divides an
hour the batches fall on round times. An order that arrives at exactly a
boundary joins the NEXT batch: the engine brings the series up to a
command's time before applying it, and the batch at a boundary is due at
that time. On a tie with a session trigger the batch goes first, in the
state before the trigger: the close's boundary uncrosses the last batch of
the day; the open's does not (the opening call does). Time priority within
a batch (arrival order) matters only for who fills at the marginal price,
so a batch's result is the same whether its orders come in one burst or
spread over the interval, as long as they come in the same order.

What is taken and what is refused (`RejectReason.NOT_IN_BATCH`), and why:

- limit orders (GTC, DAY): rest until filled or cancelled, across batches;
- market orders: join the next batch (market orders first in the
  allocation, as in a call); what does not fill is cancelled at that batch;
- IOC limit orders: join the next batch only; what does not fill is
  cancelled at that batch (``ioc_remainder``). This differs from a call,
  which refuses them: in a batch market "immediate" means "this batch",
  and it keeps the agents' and the clearing house's IOC close-out orders
  working unchanged. In the pre-open and in a halt they are refused as in
  any call;
- icebergs and post-only orders: taken as in a call (post-only has no
  effect: nothing matches on arrival; the batch's taker is the side with
  the surplus, buy when balanced, as for a call);
- refused: FOK (the uncross allocates in priority and cannot promise
  all-or-nothing), stop orders (triggered by a trade, they would need a
  batch of their own; resubmit as a limit order), GTD (its expiry is checked
  per command, so whether it is in a batch would depend on the timing of
  unrelated commands).
- cancel and modify work as in continuous trading (no freeze): a modified
  order is collected for the next batch (a price change or increase loses
  time priority, as always).

The velocity breaker does not apply inside a batch (one price per batch;
price bands still refuse limit prices outside them), and a kill switch
halts a batch series like any other: no batches while halted, a reopening
call, then batches again.

- `last_boundary(ts, interval)`: the latest boundary at or before ``ts``.
- `batch_refusal(order)`: the reject reason for an order type a batch series refuses, or None.
"""

from __future__ import annotations

from cfx.types import OrderKind, RejectReason, SubmitOrder, TimeInForce


def last_boundary(ts: int, interval: int) -> int:
    """The latest multiple of ``interval`` at or before ``ts``."""
    return ts // interval * interval


def batch_refusal(order: SubmitOrder) -> RejectReason | None:
    """`RejectReason.NOT_IN_BATCH` for FOK, stop and GTD orders (module docstring), else None."""
    if (
        order.tif is TimeInForce.FOK
        or order.tif is TimeInForce.GTD
        or order.kind is OrderKind.STOP_MARKET
        or order.kind is OrderKind.STOP_LIMIT
    ):
        return RejectReason.NOT_IN_BATCH
    return None
