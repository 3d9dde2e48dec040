"""Running the `cfx` command in-process in a test."""

from __future__ import annotations

from cfx.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`cfx ARGV...` (paths and numbers as strings): its exit code, stdout and
    stderr. argparse's own exits (usage errors, --help) count as exit codes."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
