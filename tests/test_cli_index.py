"""`cfx index` end to end: config or quotes in, fixings CSV out, exit 2 on bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cfx import cli
from cfx import index as ix

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_index_from_quote_csv_writes_hand_computed_fixings(tmp_path, capsys):
    cfg = tmp_path / "ix.toml"
    cfg.write_text(
        f'quotes = "{DATA / "index_quotes.csv"}"\n[[baskets]]\nname = "HOPPER"\nroot = "HOP"\nweights = {{H100 = 0.6, H200 = 0.4}}\n'
    )
    out = tmp_path / "fixings.csv"
    assert cli.main(["index", "--config", str(cfg), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    names = summary["names"]
    assert [n for n in names if "." not in n] == ["H100", "H200", "HOPPER"] and "H100.us-east" in names
    assert summary["rows"] == 2 * len(names) and summary["flagged"] == 0
    rows = _rows(out)
    assert list(rows[0]) == list(ix.FIXING_COLUMNS)
    hop = [(r["date"], r["value_usd_micro"], r["value_usd"]) for r in rows if r["index"] == "HOPPER"]
    assert hop == [("2027-01-04", "3125000", "3.125000"), ("2027-01-05", "3159167", "3.159167")]


def test_quotes_flag_overrides_config_source_and_relative_paths_resolve(tmp_path, capsys):
    (tmp_path / "q.csv").write_bytes((DATA / "index_quotes.csv").read_bytes())
    cfg = tmp_path / "ix.toml"
    cfg.write_text('quotes = "q.csv"\nbaskets = []\n')  # relative to the config's folder
    out = tmp_path / "a.csv"
    assert cli.main(["index", "--config", str(cfg), "--out", str(out)]) == 0
    assert {r["index"] for r in _rows(out) if "." not in r["index"]} == {"H100", "H200"}
    bad = tmp_path / "b.csv"
    assert (
        cli.main(["index", "--config", str(cfg), "--quotes", str(DATA / "index_quotes_bad.csv"), "--out", str(bad)])
        == 2
    )
    err = capsys.readouterr().err
    assert "index_quotes_bad.csv:3: field 'price'" in err and not bad.exists()


def test_shipped_generator_config_is_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    config = str(REPO / "cfx" / "scenarios" / "index_generated.toml")
    assert cli.main(["index", "--config", config, "--out", str(a)]) == 0
    assert cli.main(["index", "--config", config, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    rows = _rows(a)
    names = {r["index"] for r in rows}
    assert {n for n in names if "." not in n} == {"A100", "H100", "H200", "B200", "HOPPER", "BLACKWELL"}
    assert {"H100.us-east", "H100.eu-west", "B200.us-central"} <= names
    assert len(rows) == len(names) * 260 and all(int(r["value_usd_micro"]) > 0 for r in rows if "." not in r["index"])


def test_bad_config_exits_2_with_the_field_path(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[fixing]\nmethodology = "mode"\n')
    assert cli.main(["index", "--config", str(cfg), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cfx index: error:") and "bad.toml: fixing.methodology: " in err and err.count("\n") == 1


def test_basket_of_unquoted_sku_exits_2(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert cli.main(["index", "--quotes", str(DATA / "index_quotes.csv"), "--out", str(out)]) == 2
    assert "basket BLACKWELL: SKU B200 never quoted" in capsys.readouterr().err


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert cli.main(["index", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
