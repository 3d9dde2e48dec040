"""What a scenario run imports: start-up is part of every run's wall time
(issue 19), so what a run does not use stays unimported."""

from __future__ import annotations

import json
import subprocess
import sys


def test_a_quiet_scenario_run_imports_neither_pandas_nor_rich(tmp_path):
    """pandas costs ~0.2 s of every run (pyarrow imports it the first time
    ``pa.array`` converts a list; a run writes its tables without it), rich
    ~40-80 ms (structlog imports it for tracebacks; cfx.logs hides it). A
    fresh interpreter runs a day of the OTC market (every table, nested
    columns too) and lists the modules loaded."""
    script = (
        "import json, sys\nfrom cfx.cli import main\n"
        "try:\n    main(sys.argv[1:])\nfinally:\n    print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "run",
            "otc_market",
            "--set",
            "calendar.days=1",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--no-report",
        ],
        capture_output=True,
        text=True,
    )
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "otc_rfqs.parquet").exists() and (tmp_path / "run" / "events.parquet").exists()
    assert {"pyarrow", "cfx.tables", "cfx.sim.outputs"} <= loaded
    assert {"structlog", "cfx.logs"} <= loaded  # the run logged (run.start, run.done)
    assert sorted(loaded & {"pandas", "rich"}) == []
