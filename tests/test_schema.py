"""One schema: every line a run writes decodes with the one decoder for it
(`cfx.types.event_decoder` for the event log, `cfx.venue.command_decoder`
for the journal) and encodes back to the same bytes."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from cfx.sim import scenario as scn
from cfx.sim.outputs import events_of
from cfx.sim.run import run_scenario
from cfx.types import encoder, event_decoder
from cfx.venue import command_decoder

SMALL = Path(__file__).parent / "data" / "sim_small.toml"
DEFAULT = """
[[shocks]]
type = "member-default"
day = 0
agent = "noise_trader"
qty = 60
"""


def test_every_event_and_journal_line_of_a_run_decodes_and_round_trips(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SMALL.read_text().replace("days = 2", "days = 3") + DEFAULT)
    out = tmp_path / "run"
    run_scenario(scn.load(path), out, progress=False)
    kinds = set()
    for event in events_of(pq.read_table(out / "events.parquet")):
        line = encoder.encode(event)
        kinds.add(type(event).__name__)
        assert event_decoder.decode(line) == event
    # engine, session and clearing events all occur, so the union is exercised across layers
    assert {"Trade", "OrderAccepted", "SessionStateChanged", "SettlementPrice", "VariationMarginPaid"} <= kinds
    records = (out / "journal").read_bytes().splitlines()[1:-1]
    for record in records:
        body = record.split(b" ", 2)[2]
        assert encoder.encode(command_decoder.decode(body)) == body
