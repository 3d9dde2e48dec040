"""Order validation (cfx/validation.py): the functions the engine asks before the risk gate."""

from cfx.protections import PriceBand
from cfx.types import ListSeries, ModifyOrder, OrderKind, RejectReason, Side, SubmitOrder, TimeInForce
from cfx.validation import PLAIN, modify_reason, submit_reason

R = RejectReason
RULES = ListSeries("X", max_qty=100)


def reason(**kw) -> RejectReason | str | None:
    fields = dict(ts=10, series="X", order_id=1, account=1, side=Side.BUY, qty=5, price=100) | kw
    return submit_reason(SubmitOrder(**fields), RULES, PriceBand(90, 110), None, {7})


def test_a_plain_limit_order_inside_the_band_is_valid_and_each_field_has_its_reason():
    assert reason() is PLAIN  # valid, and with no option: the engine sends it straight to the book
    assert reason(tif=TimeInForce.DAY) is PLAIN and reason(tif=TimeInForce.IOC) is PLAIN
    assert reason(qty=0) is R.BAD_QUANTITY and reason(qty=101) is R.QUANTITY_TOO_LARGE
    assert reason(order_id=7) is R.DUPLICATE_ORDER_ID
    assert reason(price=0) is R.BAD_PRICE and reason(price=111) is R.PRICE_OUTSIDE_BAND


def test_order_options_are_checked_together():
    assert reason(kind=OrderKind.MARKET, tif=TimeInForce.IOC, price=0) is None  # valid, with options
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
