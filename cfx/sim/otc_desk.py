"""The OTC market inside a simulation: requests for quote between
principals and dealers delivered through the event loop with latency,
forwards booked bilaterally, marked daily and cash-settled against their
own SKU/region index — all outside the venue and its clearing house (so
the journal and the run hash are the exchange's alone).

Who is who, by the hooks an agent defines:

- a **dealer** defines ``on_rfq(ctx, rfq)`` (answer with
  ``ctx.otc.respond``), ``on_rfq_result(ctx, rfq_id, forward | None)`` and
  ``on_otc_trade(ctx, forward)``; its ``funding_rate`` (annual, float)
  prices its margin cost;
- a **principal** defines ``on_rfq_closed(ctx, rfq, quotes) -> DealerQuote
  | None`` (called at the response deadline with the quotes that reached
  it; the quote it returns is taken) and ``on_otc_trade``.

Timing: a message sent at t reaches its counterparty at t + the sender's
order-entry delay + the receiver's market-data delay (each with its own
jitter). A quote that reaches the principal after the deadline is late and
cannot be taken. A taken quote is firm: the forward is booked when the
acceptance reaches the dealer.

Each evening, after the exchange's settlement run (`end_day`): every live
forward is marked to its index (`cfx.otc.forward.expected_price` on the
official fixings published so far), those whose delivery month ends today
settle in cash at the monthly average (`cfx.otc.forward.settlement_price`),
and each dealer's `DealerLedger` closes the day with its variation margin,
fees and margin financing from clearing.

Outputs (`write`): ``otc_rfqs.parquet``, ``otc_trades.parquet``,
``otc_positions.parquet`` (a mark per live forward per day),
``otc_settlements.parquet`` (one row per party per settled forward).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfx.otc.forward import Forward, expected_price, index_name, settlement_price, unfixed_fraction
from cfx.otc.ledger import DealerLedger
from cfx.otc.rfq import DealerQuote, Rfq, eligible, outcome
from cfx.products import format_symbol, next_business_day
from cfx.types import Side
from cfx.units import NEVER_NS

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation
    from cfx.sim.participant import Participant
    from cfx.types import Trade


class OtcDesk:
    """The OTC side of one `Simulation` (see the module docstring)."""

    def __init__(self, sim: "Simulation") -> None:
        self.sim = sim
        self.dealers = [p for p in sim.participants if hasattr(p.agent, "on_rfq")]
        self.principals = [p for p in sim.participants if hasattr(p.agent, "on_rfq_closed")]
        self.rfqs: dict[int, Rfq] = {}
        self.quotes: dict[int, list[DealerQuote]] = {}
        self.live: list[Forward] = []
        self.forwards: list[Forward] = []
        self.ledgers = {p.account: DealerLedger(p.account) for p in self.dealers}
        self.hedgers = frozenset(self.ledgers)  # accounts whose exchange fills are a hedge (`hedge_fill`)
        self._tick_value = sim.tick_micro * sim.sc.products.contract_unit  # micro-$ per tick per contract
        self._settlement_error: dict[int, dict[str, int]] = {}  # dealer -> series -> position x (settle - expected)
        self._funding_seen = 0  # clearing's funding payments already put in the ledgers
        self.chosen: dict[int, DealerQuote | None] = {}  # closed RFQs -> the quote taken
        self.position_rows: list[dict] = []
        self.settlement_rows: list[dict] = []
        self._rfq_id = 0
        self._forward_id = 0
        self._futures_ref: dict[int, str] = {}  # forward id -> the future whose price the curve part uses
        self._futures_at_trade: dict[int, int | None] = {}  # forward id -> that future's price when traded
        self.published_through = sim.sc.calendar.start - dt.timedelta(days=1)  # the last fixing day published

    # ------------------------------------------------------------------ what agents see

    def fixing(self, name: str) -> int | None:
        """The latest official fixing of an index (micro-$/GPU-h), or None."""
        return self.sim.published.get(name)

    def futures_micro(self, basket_root: str, year: int, month: int) -> int | None:
        """The latest daily settlement of that month's future in micro-$/GPU-h,
        else its basket's latest fixing (a series not yet settled), else None."""
        sim = self.sim
        symbol = format_symbol(basket_root, year, month)
        ticks = sim.settlements.get(symbol)
        if ticks is not None:
            return ticks * sim.tick_micro
        s = sim.series.get(symbol)
        return sim.published.get(s.basket) if s is not None else None

    def latest(self, name: str) -> int | None:
        """The index's latest published value: during the trading day its
        latest indicative value where the index layer publishes one, else
        (and once the day's fixings are out) its latest official fixing."""
        info = getattr(self.sim, "information", None)
        if info is not None and self.published_through < self.sim.today:
            value = info.seen(name, 0)
            if value is not None:
                return value
        return self.sim.published.get(name)

    def mark(self, sku: str, region: str, year: int, month: int) -> int | None:
        """The desk's mark of a forward price now (`expected_price`: the
        official fixings published so far, the index's `latest` value for
        the days still to fix), or None without fixings."""
        name = index_name(sku, region)
        latest = self.latest(name)
        if latest is None:
            return None
        return expected_price(self.sim.fixings.get(name, {}), year, month, self.published_through, latest)

    # ------------------------------------------------------------------ messages

    def _deliver(self, sender: "Participant", receiver: "Participant", action) -> None:
        ts = self.sim.now + sender.delay(sender.entry_ns) + receiver.delay(receiver.md_ns)
        self.sim.at(ts, action)

    def request(
        self,
        p: "Participant",
        *,
        sku: str,
        region: str,
        year: int,
        month: int,
        gpu_hours: int,
        side: Side,
        response_ns: int,
        dealers: list[int],
        reservation_micro: int,
    ) -> int:
        """Send an RFQ to ``dealers`` (accounts); the answer is due within ``response_ns``."""
        self._rfq_id += 1
        sim = self.sim
        rfq = Rfq(
            id=self._rfq_id,
            client=p.account,
            ts=sim.now,
            date=sim.today,
            sku=sku,
            region=region,
            year=year,
            month=month,
            gpu_hours=int(gpu_hours),
            side=side,
            deadline_ns=min(sim.now + max(1, int(response_ns)), NEVER_NS),  # a far one: never
            dealers=tuple(dealers),
            reservation_micro=int(reservation_micro),
        )
        self.rfqs[rfq.id] = rfq
        self.quotes[rfq.id] = []
        for account in rfq.dealers:
            d = sim.by_account[account]
            self._deliver(p, d, partial(self._rfq_arrives, d.account, rfq.id))
        sim.at(rfq.deadline_ns, partial(self._close, rfq.id))
        return rfq.id

    def respond(
        self,
        d: "Participant",
        rfq_id: int,
        price_micro: int | None,
        reason: str = "",
        *,
        fair_micro: int | None = None,
        futures_micro: int | None = None,
    ) -> None:
        """A dealer's answer: a firm price, or None to decline (``reason``);
        ``fair_micro``/``futures_micro``: its fair value and the futures price
        under it (the spread and curve parts of its P&L split)."""
        rfq = self.rfqs[rfq_id]
        client = self.sim.by_account[rfq.client]
        self._deliver(
            d,
            client,
            partial(
                self._quote_arrives,
                rfq_id,
                d.account,
                None if price_micro is None else int(price_micro),
                reason,
                None if fair_micro is None else int(fair_micro),
                None if futures_micro is None else int(futures_micro),
            ),
        )

    # The scheduled steps are bound methods with plain arguments (partials,
    # not closures), so the event heap pickles for day-boundary checkpoints.

    def _rfq_arrives(self, dealer: int, rfq_id: int) -> None:
        d = self.sim.by_account[dealer]
        if d.active:
            d.agent.on_rfq(d.context(), self.rfqs[rfq_id])

    def _quote_arrives(
        self,
        rfq_id: int,
        dealer: int,
        price_micro: int | None,
        reason: str,
        fair_micro: int | None,
        futures_micro: int | None,
    ) -> None:
        self.quotes[rfq_id].append(
            DealerQuote(
                rfq_id=rfq_id,
                dealer=dealer,
                ts=self.sim.now,
                price_micro=price_micro,
                reason=reason,
                fair_micro=fair_micro,
                futures_micro=futures_micro,
            )
        )

    def _result_arrives(self, dealer: int, rfq_id: int) -> None:
        d = self.sim.by_account[dealer]
        if d.active:
            d.agent.on_rfq_result(d.context(), rfq_id, None)

    def _trade_arrives(self, account: int, f: Forward) -> None:
        p = self.sim.by_account[account]
        hook = getattr(p.agent, "on_otc_trade", None)
        if hook is not None and p.active:
            hook(p.context(), f)

    def _close(self, rfq_id: int) -> None:
        """The deadline: the principal chooses among the quotes it has."""
        rfq = self.rfqs[rfq_id]
        client = self.sim.by_account[rfq.client]
        received = eligible(rfq, self.quotes[rfq.id])
        chosen = client.agent.on_rfq_closed(client.context(), rfq, received) if client.active else None
        if chosen is not None and chosen not in received:
            chosen = None
        self.chosen[rfq.id] = chosen
        for account in rfq.dealers:
            d = self.sim.by_account[account]
            won = chosen is not None and chosen.dealer == account
            if won:
                self._deliver(client, d, partial(self._book, rfq.id, chosen, d.account))
            else:
                self._deliver(client, d, partial(self._result_arrives, d.account, rfq.id))

    def _book(self, rfq_id: int, quote: DealerQuote, dealer: int) -> None:
        sim = self.sim
        rfq = self.rfqs[rfq_id]
        d = sim.by_account[dealer]
        client = sim.by_account[rfq.client]
        self._forward_id += 1
        fair = self.mark(rfq.sku, rfq.region, rfq.year, rfq.month)
        if fair is None:
            fair = quote.price_micro
        buyer, seller = (client.account, d.account) if rfq.side is Side.BUY else (d.account, client.account)
        f = Forward(
            id=self._forward_id,
            rfq_id=rfq.id,
            ts=sim.now,
            date=sim.today,
            sku=rfq.sku,
            region=rfq.region,
            year=rfq.year,
            month=rfq.month,
            gpu_hours=rfq.gpu_hours,
            price_micro=quote.price_micro,
            buyer=buyer,
            seller=seller,
            dealer=d.account,
            fair_micro=fair,
            dealer_fair_micro=quote.fair_micro if quote.fair_micro is not None else fair,
        )
        root = getattr(d.agent, "hedge_root", None) or ""
        fut = quote.futures_micro
        if fut is None and root:
            fut = self.futures_micro(root, f.year, f.month)
        self._futures_ref[f.id] = root
        self._futures_at_trade[f.id] = fut
        self.ledgers[d.account].trade(f, fut)
        self.live.append(f)
        self.forwards.append(f)
        if d.active:
            d.agent.on_rfq_result(d.context(), rfq.id, f)
            d.agent.on_otc_trade(d.context(), f)
        sim.at(sim.now + client.delay(client.md_ns), partial(self._trade_arrives, client.account, f))

    @property
    def rfq_rows(self) -> list[dict]:
        """One row per closed RFQ, with every answer (late ones included)."""
        return [self._rfq_row(self.rfqs[i], c) for i, c in self.chosen.items()]

    def _rfq_row(self, rfq: Rfq, chosen: DealerQuote | None) -> dict:
        all_quotes = sorted(self.quotes[rfq.id], key=lambda q: (q.ts, q.dealer))
        return {
            "rfq_id": rfq.id,
            "ts": rfq.ts,
            "date": rfq.date,
            "client": rfq.client,
            "client_type": _tag(self.sim.by_account[rfq.client]),
            "sku": rfq.sku,
            "region": rfq.region,
            "index": index_name(rfq.sku, rfq.region),
            "delivery": f"{rfq.year}-{rfq.month:02d}",
            "gpu_hours": rfq.gpu_hours,
            "side": str(rfq.side),
            "deadline_ns": rfq.deadline_ns,
            "reservation_micro": rfq.reservation_micro,
            "dealers_asked": list(rfq.dealers),
            "quotes": [
                {
                    "dealer": q.dealer,
                    "ts": q.ts,
                    "price_micro": q.price_micro,
                    "status": ("late" if q.ts > rfq.deadline_ns else str(q.status)),
                    "reason": q.reason,
                }
                for q in all_quotes
            ],
            "outcome": str(outcome(rfq, all_quotes, chosen)),
            "dealer": chosen.dealer if chosen is not None else None,
            "price_micro": chosen.price_micro if chosen is not None else None,
        }

    def hedge_fill(self, e: "Trade") -> None:
        """A fill of a dealer's on the exchange (the loop calls it for
        `hedgers`): its spread against the book's mid just before it (the
        published levels as of one nanosecond earlier) and its notional."""
        book = self.sim.books.get(e.series)
        mid = None
        if book is not None:
            depth = book.depth(1, e.ts - 1)
            if depth.bids and depth.asks:
                mid = depth.bids[0][0] + depth.asks[0][0]
        buyer = e.taker_account if e.aggressor is Side.BUY else e.maker_account
        for account in {e.maker_account, e.taker_account} & self.hedgers:
            side = 1 if account == buyer else -1
            self.ledgers[account].hedge_fill(e.qty, side, e.price, mid, self._tick_value)

    # ------------------------------------------------------------------ the evening

    def end_day(self, day: dt.date) -> None:
        """Marks, settlements and the dealers' ledgers (after the exchange's settlement run)."""
        self.published_through = day
        sim = self.sim
        still = []
        for f in self.live:
            name = f.index
            fix = sim.fixings.get(name, {})
            latest = sim.published.get(name, f.fair_micro)
            settles = f.last_day <= day
            price = (
                settlement_price(fix, f.year, f.month) if settles else expected_price(fix, f.year, f.month, day, latest)
            )
            root = self._futures_ref.get(f.id, "")
            fut = self.futures_micro(root, f.year, f.month) if root else None
            ledger = self.ledgers.get(f.dealer)
            if ledger is not None:
                ledger.mark(f, price, fut)
            self.position_rows.append(
                {
                    "date": day,
                    "forward_id": f.id,
                    "index": name,
                    "delivery": f"{f.year}-{f.month:02d}",
                    "buyer": f.buyer,
                    "seller": f.seller,
                    "dealer": f.dealer,
                    "gpu_hours": f.gpu_hours,
                    "price_micro": f.price_micro,
                    "mark_micro": price,
                    "buyer_value_micro": f.buyer_value(price),
                    "unfixed": float(unfixed_fraction(f.year, f.month, day)),
                    "futures_micro": fut,
                    "settled": settles,
                }
            )
            if settles:
                cash = f.buyer_value(price)
                for account, role, amount in ((f.buyer, "buyer", cash), (f.seller, "seller", -cash)):
                    self.settlement_rows.append(
                        {
                            "forward_id": f.id,
                            "date": day,
                            "account": account,
                            "role": role,
                            "settlement_micro": price,
                            "cash_micro": amount,
                        }
                    )
                if ledger is not None:
                    ledger.settle(f, cash if f.buyer == f.dealer else -cash)
                d = sim.by_account[f.dealer]
                hook = getattr(d.agent, "on_forward_settled", None)
                if hook is not None and d.active:
                    hook(d.context(), f, price)
            else:
                still.append(f)
        self.live = still
        self._close_ledgers(day)

    def _close_ledgers(self, day: dt.date) -> None:
        sim = self.sim
        today = {}
        statements = sim.venue.clearing.statements
        i = len(statements) - 1
        while i >= 0 and statements[i].date == day:
            today[statements[i].account] = statements[i]
            i -= 1
        days = (next_business_day(day) - day).days
        paid = sim.venue.clearing.funding
        funding: dict[int, int] = {}  # a perpetual hedge's funding of the day: part of the hedge's P&L
        for f in paid[self._funding_seen :]:
            funding[f.account] = funding.get(f.account, 0) + f.amount
        self._funding_seen = len(paid)
        errors = self._settlement_errors(day)
        for p in self.dealers:
            st = today.get(p.account)
            if st is None:
                continue
            rate = Fraction(repr(float(getattr(p.agent, "funding_rate", 0.0))))
            cost = st.initial_margin * rate * days / 365
            paid = funding.get(p.account, 0)
            self.ledgers[p.account].end_day(
                day,
                st.variation_margin + paid,
                st.fees_total,
                -(-cost.numerator // cost.denominator),
                errors.get(p.account, 0),
                paid,
            )

    def _settlement_errors(self, day: dt.date) -> dict[int, int]:
        """Per dealer, the day's change of Σ position x (settlement - expected
        final settlement) over its series, micro-$: the part of its
        variation margin that is the settlements' error (`DealerLedger`). A
        series settling finally has none (its final is its rule's price)."""
        sim = self.sim
        rows = sim.venue.clearing.positions
        now: dict[int, dict[str, int]] = {a: {} for a in self.hedgers}
        i = len(rows) - 1
        while i >= 0 and rows[i].date == day:
            r = rows[i]
            i -= 1
            expected = sim.expected_by_date.get((day, r.series))
            if r.account in now and r.position and expected is not None:
                now[r.account][r.series] = r.position * (r.settlement_price - expected) * self._tick_value
        out = {}
        for account, terms in now.items():
            before = self._settlement_error.get(account, {})
            out[account] = sum(terms.values()) - sum(before.values())
        self._settlement_error = now
        return out

    # ------------------------------------------------------------------ results

    def summary(self) -> dict:
        """The OTC figures of summary.json."""
        sim = self.sim
        volume_two_sided = 2 * sum(sim.volume.values())
        by = sim.volume_by_account
        kind = {p.account: _tag(p) for p in sim.participants}
        principal_lots = sum(by.get(p.account, 0) for p in self.principals)
        dealer_lots = sum(by.get(p.account, 0) for p in self.dealers)
        mm_lots = sum(q for a, q in by.items() if kind.get(a) == "market_maker")
        non_mm = volume_two_sided - mm_lots
        rows = self.rfq_rows
        traded = [r for r in rows if r["outcome"] == "traded"]
        dealers = {}
        for p in self.dealers:
            led = self.ledgers[p.account]
            mine = [f for f in self.forwards if f.dealer == p.account]
            quoted = [q for r in rows for q in r["quotes"] if q["dealer"] == p.account and q["price_micro"] is not None]
            quoted_bps = [
                abs(f.price_micro - f.dealer_fair_micro) / f.dealer_fair_micro * 1e4
                for f in mine
                if f.dealer_fair_micro
            ]
            marked_bps = [
                f.side_of(p.account) * (f.fair_micro - f.price_micro) / f.fair_micro * 1e4 for f in mine if f.fair_micro
            ]
            dealers[str(p.account)] = {
                "agent_index": p.agent.index,
                "forwards": len(mine),
                "gpu_hours": sum(f.gpu_hours for f in mine),
                "quotes": len(quoted),
                "hit_ratio": round(len(mine) / len(quoted), 4) if quoted else None,
                "mean_quoted_spread_bps": round(sum(quoted_bps) / len(quoted_bps), 2) if quoted_bps else None,
                "mean_spread_to_mark_bps": round(sum(marked_bps) / len(marked_bps), 2) if marked_bps else None,
                "exchange_lots": by.get(p.account, 0),
                **led.summary(),
            }
        weight = sum(d["gpu_hours"] for d in dealers.values() if d["hedge_effectiveness"] is not None)
        notional = sum(d["hedge_notional_micro"] for d in dealers.values())

        def mean(key: str) -> float | None:
            got = [(d[key], d["gpu_hours"]) for d in dealers.values() if d[key] is not None]
            w = sum(h for _, h in got)
            return round(sum(v * h for v, h in got) / w, 4) if w else None

        return {
            "hedge_effectiveness": mean("hedge_effectiveness") if weight else None,
            "hedge_effectiveness_index": mean("hedge_effectiveness_index"),
            "hedge_cost_usd": round(sum(d["hedge_cost_micro"] for d in dealers.values()) / 1e6, 2),
            "hedge_spread_paid_usd": round(sum(d["hedge_spread_paid_micro"] for d in dealers.values()) / 1e6, 2),
            "hedge_funding_paid_usd": round(sum(d["hedge_funding_paid_micro"] for d in dealers.values()) / 1e6, 2),
            "hedge_notional_usd": round(notional / 1e6, 2),
            "hedge_cost_bps": round(sum(d["hedge_cost_micro"] for d in dealers.values()) / notional * 1e4, 3)
            if notional
            else None,
            "quoted_spread_bps": mean("mean_quoted_spread_bps"),
            "spread_to_mark_bps": mean("mean_spread_to_mark_bps"),
            "dealers_total_pnl_usd": round(sum(d["total_pnl_micro"] for d in dealers.values()) / 1e6, 2),
            "dealers_basis_pnl_usd": round(sum(d["basis_pnl_micro"] for d in dealers.values()) / 1e6, 2),
            "rfqs": len(rows),
            "rfqs_traded": len(traded),
            "rfqs_walked_away": sum(1 for r in rows if r["outcome"] == "walked_away"),
            "rfqs_no_quotes": sum(1 for r in rows if r["outcome"] == "no_quotes"),
            "forwards": len(self.forwards),
            "volume_gpu_hours": sum(f.gpu_hours for f in self.forwards),
            "volume_usd": round(sum(f.gpu_hours * f.price_micro for f in self.forwards) / 1e6, 2),
            "principals_exchange_lots": principal_lots,
            "principals_share_of_exchange_volume": round(principal_lots / volume_two_sided, 4)
            if volume_two_sided
            else 0.0,
            "dealers_share_of_non_mm_exchange_volume": round(dealer_lots / non_mm, 4) if non_mm else None,
            "dealers": dealers,
        }

    def write(self, out: Path) -> None:
        """The OTC tables (see the module docstring), by the run tables'
        convention (`cfx.tables`): ``time``, ``*_usd_micro``, dictionary strings."""
        import pyarrow as pa

        from cfx import tables
        from cfx.tables import STRING, TIME

        quote_t = pa.struct(
            [
                ("dealer", pa.int64()),
                ("time", TIME),
                ("price_usd_micro", pa.int64()),
                ("status", pa.string()),
                ("reason", pa.string()),
            ]
        )
        rfq_schema = tables.schema(
            "otc_rfqs",
            [
                ("rfq_id", pa.int64()),
                ("time", TIME),
                ("date", pa.date32()),
                ("client", pa.int64()),
                ("client_type", STRING),
                ("sku", STRING),
                ("region", STRING),
                ("index", STRING),
                ("delivery", STRING),
                ("gpu_hours", pa.int64()),
                ("side", STRING),
                ("deadline_time", TIME),
                ("reservation_usd_micro", pa.int64()),
                ("dealers_asked", pa.list_(pa.int64())),
                ("quotes", pa.list_(quote_t)),
                ("outcome", STRING),
                ("dealer", pa.int64()),
                ("price_usd_micro", pa.int64()),
            ],
        )
        rfqs = [{**r, "quotes": [_units(q) for q in r["quotes"]]} for r in self.rfq_rows]
        tables.write(tables.table(_columns(rfqs, rfq_schema), rfq_schema), out / "otc_rfqs.parquet")
        trade_schema = tables.schema(
            "otc_trades",
            [
                ("forward_id", pa.int64()),
                ("rfq_id", pa.int64()),
                ("time", TIME),
                ("date", pa.date32()),
                ("sku", STRING),
                ("region", STRING),
                ("index", STRING),
                ("delivery", STRING),
                ("gpu_hours", pa.int64()),
                ("price_usd_micro", pa.int64()),
                ("buyer", pa.int64()),
                ("seller", pa.int64()),
                ("dealer", pa.int64()),
                ("client", pa.int64()),
                ("fair_usd_micro", pa.int64()),
                ("dealer_fair_usd_micro", pa.int64()),
                ("futures_usd_micro", pa.int64()),
            ],
        )
        trades = [
            {
                "forward_id": f.id,
                "rfq_id": f.rfq_id,
                "ts": f.ts,
                "date": f.date,
                "sku": f.sku,
                "region": f.region,
                "index": f.index,
                "delivery": f"{f.year}-{f.month:02d}",
                "gpu_hours": f.gpu_hours,
                "price_micro": f.price_micro,
                "buyer": f.buyer,
                "seller": f.seller,
                "dealer": f.dealer,
                "client": f.seller if f.buyer == f.dealer else f.buyer,
                "fair_micro": f.fair_micro,
                "dealer_fair_micro": f.dealer_fair_micro,
                "futures_micro": self._futures_at_trade.get(f.id),
            }
            for f in self.forwards
        ]
        tables.write(tables.table(_columns(trades, trade_schema), trade_schema), out / "otc_trades.parquet")
        pos_schema = tables.schema(
            "otc_positions",
            [
                ("date", pa.date32()),
                ("forward_id", pa.int64()),
                ("index", STRING),
                ("delivery", STRING),
                ("buyer", pa.int64()),
                ("seller", pa.int64()),
                ("dealer", pa.int64()),
                ("gpu_hours", pa.int64()),
                ("price_usd_micro", pa.int64()),
                ("mark_usd_micro", pa.int64()),
                ("buyer_value_usd_micro", pa.int64()),
                ("unfixed", pa.float64()),
                ("futures_usd_micro", pa.int64()),
                ("settled", pa.bool_()),
            ],
        )
        tables.write(tables.table(_columns(self.position_rows, pos_schema), pos_schema), out / "otc_positions.parquet")
        set_schema = tables.schema(
            "otc_settlements",
            [
                ("forward_id", pa.int64()),
                ("date", pa.date32()),
                ("account", pa.int64()),
                ("role", STRING),
                ("settlement_usd_micro", pa.int64()),
                ("cash_usd_micro", pa.int64()),
            ],
        )
        tables.write(
            tables.table(_columns(self.settlement_rows, set_schema), set_schema), out / "otc_settlements.parquet"
        )


def _tag(p: Any) -> str:
    return type(p.spec).__struct_config__.tag


class OtcLink:
    """What one agent does on the OTC market (``ctx.otc``)."""

    __slots__ = ("desk", "p")

    def __init__(self, desk: OtcDesk, p: "Participant") -> None:
        self.desk = desk
        self.p = p

    def dealers(self) -> list[int]:
        """The dealers' accounts (excluding oneself)."""
        return [d.account for d in self.desk.dealers if d.account != self.p.account]

    def fixing(self, name: str) -> int | None:
        """The latest official fixing of ``name`` (micro-$/GPU-h), or None."""
        return self.desk.fixing(name)

    def latest(self, name: str) -> int | None:
        """The index's latest published value, micro-$ (`OtcDesk.latest`)."""
        return self.desk.latest(name)

    def history(self, name: str, days: int) -> list[int]:
        """The last ``days`` official fixings of ``name`` published so far, oldest first."""
        fix = self.desk.sim.fixings.get(name, {})
        through = self.desk.published_through
        return [fix[d] for d in sorted(d for d in fix if d <= through)[-days:]]

    @property
    def today(self) -> dt.date:
        return self.desk.sim.today

    @property
    def published_through(self) -> dt.date:
        """The last day whose official fixings are published."""
        return self.desk.published_through

    @property
    def tick_micro(self) -> int:
        """Micro-dollars per GPU-hour in one futures tick."""
        return self.desk.sim.tick_micro

    def root(self, basket: str | None) -> str | None:
        """The futures symbol root of a basket (None: the first listed basket)."""
        baskets = self.desk.sim.sc.products.baskets
        for b in baskets:
            if basket is None or b.name == basket:
                return b.root
        return None

    def basket_of(self, root: str) -> str | None:
        return next((b.name for b in self.desk.sim.sc.products.baskets if b.root == root), None)

    def mark(self, sku: str, region: str, year: int, month: int) -> int | None:
        return self.desk.mark(sku, region, year, month)

    def futures_micro(self, root: str, year: int, month: int) -> int | None:
        return self.desk.futures_micro(root, year, month)

    def request(self, **kw) -> int:
        return self.desk.request(self.p, **kw)

    def respond(self, rfq_id: int, price_micro: int | None, reason: str = "", **kw) -> None:
        self.desk.respond(self.p, rfq_id, price_micro, reason, **kw)

    def forwards(self) -> list[Forward]:
        """Live forwards this agent is party to."""
        a = self.p.account
        return [f for f in self.desk.live if f.buyer == a or f.seller == a]


__all__ = ["OtcDesk", "OtcLink"]


def _units(row: dict) -> dict:
    """A row's keys by the run tables' convention: ``ts`` -> ``time``,
    ``deadline_ns`` -> ``deadline_time``, ``*_micro`` -> ``*_usd_micro``."""
    out = {}
    for k, v in row.items():
        if k == "ts":
            k = "time"
        elif k.endswith("_ns"):
            k = k[:-3] + "_time"
        elif k.endswith("_micro"):
            k = k[:-6] + "_usd_micro"
        out[k] = v
    return out


def _columns(rows: list[dict], schema) -> dict[str, list]:
    renamed = [_units(r) for r in rows]
    return {name: [r.get(name) for r in renamed] for name in schema.names}
