# cython: language_level=3
# distutils: language = c++
"""The compiled twin of `ClearingHouse.on_events` (cfx/clearing/intraday.py,
with `ClearingHouse.on_trade` and `cfx.clearing.accounts.Position.fill`),
the readable reference: one command's engine events into clearing, in the same
order, to the same state (tests/test_clearing_twin.py holds the two to
that on random order flow); and `CreditGate`, the engine's risk gate
(`ClearingHouse.credit_check`) with its commonest answer compiled. `cfx.venue.Venue` uses it when its books are
the compiled ones (`cfx.core.choose_book`: ``CFX_ENGINE=python`` is the
reference throughout).

The state stays where the reference keeps it: the clearing house's dicts,
the accounts' and positions' slots. What is compiled is the walk: an
event's kind by its exact type, its fields and an account's or a
position's attributes read and written at their slots (cfx/core/_slots.pxd,
as the compiled fan-out does), the house's own (its dicts, its config, its
fees) in its instance dict, without an attribute lookup, the handlers
written out in place. Python
objects throughout, so ints are the reference's ints (a price times a
quantity may pass int64). A house, account or position of another class,
or a trade in a series clearing does not carry (the reference raises), is
left to the reference's methods.
"""

from cpython.dict cimport PyDict_GetItemWithError as get, PyDict_Next
from cpython.object cimport PyObject

cdef extern from "Python.h":
    object PyObject_GenericGetDict(object o, void* context)  # ``o.__dict__``

from cfx.core._slots cimport at, put, slot

from cfx.clearing.accounts import Account, Position
from cfx.clearing.config import ClearingConfig
from cfx.clearing.house import ClearingHouse, ListedSeries
from cfx.types import (
    LevelChanged,
    OrderAccepted,
    OrderCancelled,
    OrderModified,
    OrderRested,
    Side,
    SubmitOrder,
    Trade,
)

cdef object T_LEVEL = LevelChanged
cdef object T_RESTED = OrderRested
cdef object T_ACCEPTED = OrderAccepted
cdef object T_CANCELLED = OrderCancelled
cdef object T_MODIFIED = OrderModified
cdef object T_TRADE = Trade
cdef object T_HOUSE = ClearingHouse
cdef object T_ACCOUNT = Account
cdef object T_POSITION = Position
cdef object T_LISTED = ListedSeries
cdef object T_CONFIG = ClearingConfig
cdef object T_SUBMIT = SubmitOrder
cdef object BUY = Side.BUY

cdef Py_ssize_t TR_SERIES = slot(Trade, "series"), TR_TS = slot(Trade, "ts"), TR_PRICE = slot(Trade, "price")
cdef Py_ssize_t TR_QTY = slot(Trade, "qty"), TR_AGGRESSOR = slot(Trade, "aggressor")
cdef Py_ssize_t TR_MAKER = slot(Trade, "maker_account"), TR_TAKER = slot(Trade, "taker_account")
cdef Py_ssize_t TR_MAKER_ID = slot(Trade, "maker_id"), TR_TAKER_ID = slot(Trade, "taker_id")
cdef Py_ssize_t AC_ORDER_ID = slot(OrderAccepted, "order_id"), AC_ACCOUNT = slot(OrderAccepted, "account")
cdef Py_ssize_t AC_SERIES = slot(OrderAccepted, "series"), AC_SIDE = slot(OrderAccepted, "side")
cdef Py_ssize_t AC_QTY = slot(OrderAccepted, "qty")
cdef Py_ssize_t CN_ORDER_ID = slot(OrderCancelled, "order_id"), CN_QTY = slot(OrderCancelled, "qty")
cdef Py_ssize_t MD_ORDER_ID = slot(OrderModified, "order_id"), MD_QTY = slot(OrderModified, "qty")
cdef Py_ssize_t A_POSITIONS = slot(Account, "positions"), A_OPEN_ORDERS = slot(Account, "open_orders")
cdef Py_ssize_t A_COLLATERAL = slot(Account, "collateral"), A_FEES_PAID = slot(Account, "fees_paid")
cdef Py_ssize_t A_FEES_TODAY = slot(Account, "fees_today")
cdef Py_ssize_t A_DEFAULTED = slot(Account, "defaulted")
cdef Py_ssize_t L_SCAN = slot(ListedSeries, "scan"), L_DELISTED = slot(ListedSeries, "delisted")
cdef Py_ssize_t SO_SERIES = slot(SubmitOrder, "series"), SO_ACCOUNT = slot(SubmitOrder, "account")
cdef Py_ssize_t SO_SIDE = slot(SubmitOrder, "side"), SO_QTY = slot(SubmitOrder, "qty")
cdef Py_ssize_t P_QTY = slot(Position, "qty"), P_DAY_COST = slot(Position, "day_cost")
cdef Py_ssize_t P_LOTS = slot(Position, "lots"), P_REALIZED = slot(Position, "realized_ticks")
cdef Py_ssize_t CF_MAKER_FEE = slot(ClearingConfig, "maker_fee"), CF_TAKER_FEE = slot(ClearingConfig, "taker_fee")


cdef inline object _attr(dict attrs, str name, owner):
    """``owner.<name>`` read in ``attrs``, its instance dict (a `ClearingHouse`'s:
    its class has no descriptor of that name), without an attribute lookup."""
    cdef PyObject* v = get(attrs, name)
    return getattr(owner, name) if v is NULL else <object> v


def on_events(house, list events):
    """`ClearingHouse.on_events`: feed one command's engine events, in order."""
    if type(house) is not T_HOUSE:
        house.on_events(events)  # a house of another class: its own
        return
    # the house's dicts read in its instance dict, fetched now (a checkpoint puts a copy in its place)
    cdef dict attrs = PyObject_GenericGetDict(house, NULL)
    cdef dict orders = _attr(attrs, "_orders", house)
    cdef dict accounts = _attr(attrs, "accounts", house)
    cdef dict listed_map = _attr(attrs, "_series", house)
    cdef dict day_trades = _attr(attrs, "_day_trades", house)
    cdef PyObject* found
    cdef list o
    cdef list lots
    cdef dict opens
    for e in events:
        t = type(e)
        if t is T_LEVEL or t is T_RESTED:  # the commonest, and nothing to clearing
            continue
        if t is T_TRADE:
            _on_trade(house, attrs, e, accounts, orders, listed_map, day_trades)
        elif t is T_ACCEPTED:  # `_on_accepted`
            account = at(e, AC_ACCOUNT)
            found = get(accounts, account)
            acc = house._account(account) if found is NULL else <object> found
            side = 0 if at(e, AC_SIDE) is BUY else 1
            series = at(e, AC_SERIES)
            qty = at(e, AC_QTY)
            orders[at(e, AC_ORDER_ID)] = [acc, series, side, qty]
            opens = at(acc, A_OPEN_ORDERS) if type(acc) is T_ACCOUNT else acc.open_orders
            found = get(opens, series)
            if found is NULL:
                lots = [0, 0]
                opens[series] = lots
            else:
                lots = <list?> found
            lots[side] += qty
        elif t is T_CANCELLED or t is T_MODIFIED:  # `_on_cancelled`, `_on_modified`
            oid = at(e, CN_ORDER_ID) if t is T_CANCELLED else at(e, MD_ORDER_ID)
            found = get(orders, oid)
            if found is NULL:
                continue
            o = <list?> found
            qty = at(e, CN_QTY) if t is T_CANCELLED else o[3] - at(e, MD_QTY)
            _reduce(orders, oid, o, qty)


cdef inline void _reduce(dict orders, oid, list o, qty) except *:
    """`ClearingHouse._reduce` of the order ``o`` (its entry in ``orders``)."""
    left = o[3] - qty
    o[3] = left
    acc = o[0]
    opens = at(acc, A_OPEN_ORDERS) if type(acc) is T_ACCOUNT else acc.open_orders
    lots = opens[o[1]]
    side = o[2]
    lots[side] -= qty
    if left <= 0:
        del orders[oid]


cdef void _on_trade(house, dict attrs, t, dict accounts, dict orders, dict listed_map, dict day_trades) except *:
    """`ClearingHouse.on_trade`: both sides' positions and fees (``attrs`` the house's instance dict)."""
    series = at(t, TR_SERIES)
    cdef PyObject* found = get(listed_map, series)
    if found is NULL or type(<object> found) is not T_LISTED or at(<object> found, L_DELISTED):
        house.on_trade(t)  # the reference raises
        return
    q = at(t, TR_QTY)
    p = at(t, TR_PRICE)
    account = at(t, TR_MAKER)
    found = get(accounts, account)
    maker = house._account(account) if found is NULL else <object> found
    account = at(t, TR_TAKER)
    found = get(accounts, account)
    taker = house._account(account) if found is NULL else <object> found
    if type(maker) is not T_ACCOUNT or type(taker) is not T_ACCOUNT:
        house.on_trade(t)  # the accounts exist now: the reference makes none
        return
    if at(t, TR_AGGRESSOR) is BUY:
        buyer, seller = taker, maker
    else:
        buyer, seller = maker, taker
    _fill(_position(buyer, series), q, p)
    _fill(_position(seller, series), -q, p)
    cfg = _attr(attrs, "config", house)
    if type(cfg) is T_CONFIG:
        fm = at(cfg, CF_MAKER_FEE) * q
        ft = at(cfg, CF_TAKER_FEE) * q
    else:
        fm = cfg.maker_fee * q
        ft = cfg.taker_fee * q
    put(maker, A_COLLATERAL, at(maker, A_COLLATERAL) - fm)
    put(maker, A_FEES_PAID, at(maker, A_FEES_PAID) + fm)
    put(maker, A_FEES_TODAY, at(maker, A_FEES_TODAY) + fm)
    put(taker, A_COLLATERAL, at(taker, A_COLLATERAL) - ft)
    put(taker, A_FEES_PAID, at(taker, A_FEES_PAID) + ft)
    put(taker, A_FEES_TODAY, at(taker, A_FEES_TODAY) + ft)
    attrs["fees_collected"] = _attr(attrs, "fees_collected", house) + (fm + ft)
    found = get(day_trades, series)
    cdef list day
    if found is NULL:
        day = []
        day_trades[series] = day
    else:
        day = <list?> found
    day.append((at(t, TR_TS), p, q))
    if orders:
        for oid in (at(t, TR_MAKER_ID), at(t, TR_TAKER_ID)):
            found = get(orders, oid)
            if found is not NULL:
                _reduce(orders, oid, <list?> found, q)


cdef inline object _position(acc, series):
    """`Account.position` (``acc`` an `Account`)."""
    cdef PyObject* found = get(at(acc, A_POSITIONS), series)
    return acc.position(series) if found is NULL else <object> found


cdef void _fill(pos, q, price) except *:
    """`Position.fill`: ``q`` signed lots at ``price``; FIFO lots, the oldest closed first."""
    if type(pos) is not T_POSITION:
        pos.fill(q, price)
        return
    put(pos, P_QTY, at(pos, P_QTY) + q)
    put(pos, P_DAY_COST, at(pos, P_DAY_COST) + q * price)
    lots = at(pos, P_LOTS)
    cdef list lot
    cdef bint buying = q > 0
    while q and lots and (lots[0][0] > 0) != buying:
        lot = lots[0]
        held = lot[0]
        n = min(abs(q), abs(held))
        if held > 0:  # closing a long with a sale
            put(pos, P_REALIZED, at(pos, P_REALIZED) + n * (price - lot[1]))
            held = held - n
            q = q + n
        else:  # closing a short with a purchase
            put(pos, P_REALIZED, at(pos, P_REALIZED) + n * (lot[1] - price))
            held = held + n
            q = q - n
        lot[0] = held
        if not held:
            lots.popleft()
    if q:
        lots.append([q, price])


cdef class CreditGate:
    """`ClearingHouse.credit_check` of ``house``, the engine's risk gate:
    an order passes at once when the account's worst-case gross margin
    with it (`ClearingHouse._worst_gross`, written out) is within its
    collateral, as nearly every order does; anything else (no account, a
    series not carried, a defaulted account, a gross beyond the
    collateral) is the reference's to answer. Changes nothing."""

    cdef readonly object house

    def __init__(self, house):
        self.house = house

    def __reduce__(self):
        return (CreditGate, (self.house,))

    def __call__(self, cmd):
        house = self.house
        if type(cmd) is not T_SUBMIT or type(house) is not T_HOUSE:
            return house.credit_check(cmd)
        cdef dict attrs = PyObject_GenericGetDict(house, NULL)
        cdef PyObject* found = get(<dict?> _attr(attrs, "accounts", house), at(cmd, SO_ACCOUNT))
        if found is NULL or type(<object> found) is not T_ACCOUNT:
            return house.credit_check(cmd)
        acc = <object> found
        series = at(cmd, SO_SERIES)
        cdef dict listed_map = _attr(attrs, "_series", house)
        found = get(listed_map, series)
        if found is NULL or type(<object> found) is not T_LISTED or at(<object> found, L_DELISTED) or at(acc, A_DEFAULTED):
            return house.credit_check(cmd)
        q = at(cmd, SO_QTY)
        if at(cmd, SO_SIDE) is not BUY:
            q = -q
        if _worst_gross(listed_map, acc, series, q) <= at(acc, A_COLLATERAL):
            return None
        return house.credit_check(cmd)


cdef object _worst_gross(dict listed_map, acc, series, q):
    """`ClearingHouse._worst_gross` (``acc`` an `Account`)."""
    cdef dict positions = at(acc, A_POSITIONS)
    cdef dict opens = at(acc, A_OPEN_ORDERS)
    cdef Py_ssize_t i = 0
    cdef PyObject* key
    cdef PyObject* value
    cdef PyObject* found
    cdef PyObject* lots
    gross = 0
    while PyDict_Next(positions, &i, &key, &value):
        found = get(listed_map, <object> key)
        if found is NULL or _delisted(<object> found):
            continue
        hi = lo = at(<object> value, P_QTY) if type(<object> value) is T_POSITION else (<object> value).qty
        lots = get(opens, <object> key)
        if lots is not NULL:
            hi += (<object> lots)[0]
            lo -= (<object> lots)[1]
        if <object> key == series:
            if q > 0:
                hi += q
            else:
                lo += q
        gross += (hi if hi >= -lo else -lo) * _scan(<object> found)
    i = 0
    while PyDict_Next(opens, &i, &key, &value):
        if get(positions, <object> key) is not NULL:
            continue
        found = get(listed_map, <object> key)
        if found is NULL or _delisted(<object> found):
            continue
        hi = (<object> value)[0]
        lo = -(<object> value)[1]
        if <object> key == series:
            if q > 0:
                hi += q
            else:
                lo += q
        gross += (hi if hi >= -lo else -lo) * _scan(<object> found)
    if get(positions, series) is NULL and get(opens, series) is NULL:
        found = get(listed_map, series)
        if found is not NULL and not _delisted(<object> found):
            gross += (q if q > 0 else -q) * _scan(<object> found)
    return gross


cdef inline object _delisted(listed):
    return at(listed, L_DELISTED) if type(listed) is T_LISTED else listed.delisted


cdef inline object _scan(listed):
    return at(listed, L_SCAN) if type(listed) is T_LISTED else listed.scan
