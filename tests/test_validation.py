"""Order validation (cfx/validation.py): the functions the engine asks before the risk gate."""

from itertools import product

import pytest

import cfx.engine
from cfx.engine import Engine
from cfx.protections import PriceBand
from cfx.types import ListSeries, ModifyOrder, OrderKind, OrderRejected, RejectReason, Side, SubmitOrder, TimeInForce
from cfx.validation import MAX_PRICE, PLAIN, modify_reason, submit_reason

R = RejectReason
RULES = ListSeries("X", max_qty=100)


def reason(**kw) -> RejectReason | str | None:
    fields = dict(ts=10, series="X", order_id=1, account=1, side=Side.BUY, qty=5, price=100) | kw
    return submit_reason(SubmitOrder(**fields), RULES, PriceBand(90, 110), None, {7})


def test_a_plain_limit_order_inside_the_band_is_valid_and_each_field_has_its_reason():
    assert reason() is PLAIN  # valid, and with no option: the engine sends it straight to the book
    assert reason(tif=TimeInForce.DAY) is PLAIN and reason(tif=TimeInForce.IOC) is PLAIN
    assert reason(kind=OrderKind.MARKET, tif=TimeInForce.IOC, price=0) is PLAIN  # so is a market order
    assert reason(qty=0) is R.BAD_QUANTITY and reason(qty=101) is R.QUANTITY_TOO_LARGE
    assert reason(order_id=7) is R.DUPLICATE_ORDER_ID
    assert reason(price=0) is R.BAD_PRICE and reason(price=111) is R.PRICE_OUTSIDE_BAND


def test_order_options_are_checked_together():
    assert reason(tif=TimeInForce.FOK) is None and reason(tif=TimeInForce.FOK, price=111) is R.PRICE_OUTSIDE_BAND
    assert reason(tif=TimeInForce.GTD, expire_ns=11) is None and reason(post_only=True) is None
    assert reason(kind=OrderKind.MARKET, tif=TimeInForce.IOC) is R.BAD_PRICE  # a market order names no price
    assert reason(kind=OrderKind.STOP_MARKET, price=0, stop_price=0) is R.BAD_ORDER_TYPE
    assert reason(display_qty=6) is R.BAD_DISPLAY_QUANTITY
    assert reason(post_only=True, tif=TimeInForce.IOC) is R.BAD_ORDER_TYPE
    assert reason(tif=TimeInForce.GTD, expire_ns=10) is R.BAD_EXPIRY and reason(expire_ns=20) is R.BAD_EXPIRY


def test_a_modify_is_checked_against_the_same_limits_and_band():
    band = PriceBand(90, 110)
    assert modify_reason(ModifyOrder(1, 1, 1, 100, 5), RULES, band, None) is None
    assert modify_reason(ModifyOrder(1, 1, 1, 100, 0), RULES, band, None) is R.BAD_QUANTITY
    assert modify_reason(ModifyOrder(1, 1, 1, 112, 5), RULES, band, None) is R.PRICE_OUTSIDE_BAND
    assert modify_reason(ModifyOrder(1, 1, 1, 112, 5), RULES, PriceBand(90, 110, moving=True), 105) is None


def _fast_path_agrees(banded: bool, **fields) -> None:
    """`Engine.apply_batch` repeats the rule for `PLAIN` inline (on a series
    with no session, breaker or risk gate it sends such an order straight to
    the book): it must ask `submit_reason` (through `Engine.submit`) about
    every order but those it calls PLAIN."""
    rules = ListSeries("X", max_qty=100, band_low=90 if banded else None, band_high=110 if banded else None)
    engine = Engine()
    engine.list_series(rules)
    engine.submit(SubmitOrder(1, "X", 7, 2, Side.SELL, 1, 109))  # a live order: id 7 is taken
    c = SubmitOrder(**(dict(ts=10, series="X", order_id=1, account=1, side=Side.BUY, qty=5, price=100) | fields))
    verdict = submit_reason(c, rules, PriceBand(90, 110) if banded else None, None, {7})
    asked = []

    def spy(*args):
        asked.append(args)
        return submit_reason(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cfx.engine, "submit_reason", spy)
        engine.apply_batch([c])
    assert (not asked) == (verdict is PLAIN), (verdict, c)
    if verdict is not PLAIN and verdict is not None:
        rejected = engine.events[-1]
        assert type(rejected) is OrderRejected and rejected.reason is verdict


def test_the_engines_fast_path_checks_a_plain_orders_values_as_validation_does():
    for banded, kind, qty, price, tif, order_id in product(
        (False, True),
        (OrderKind.LIMIT, OrderKind.MARKET),
        (-1, 0, 1, 100, 101),
        (-1, 0, 1, 89, 90, 100, 110, 111, MAX_PRICE, MAX_PRICE + 1),
        (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC),
        (1, 7),
    ):
        _fast_path_agrees(banded, kind=kind, qty=qty, price=price, tif=tif, order_id=order_id)


def test_the_engines_fast_path_sends_every_order_with_an_option_to_validation():
    for banded, kind, price, tif, display_qty, post_only, stop_price, expire_ns in product(
        (False, True), OrderKind, (0, 100), TimeInForce, (0, 1, 5, 6), (False, True), (0, 100), (0, 5, 20)
    ):
        _fast_path_agrees(
            banded,
            kind=kind,
            price=price,
            tif=tif,
            display_qty=display_qty,
            post_only=post_only,
            stop_price=stop_price,
            expire_ns=expire_ns,
        )
