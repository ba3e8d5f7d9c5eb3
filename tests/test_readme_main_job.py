"""The README's main job, as written there, run with the installed ``sftk`` (the install step
left out: this environment is that install): every command of it succeeds, production refuses
the package before a sandbox took it and takes it after."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
INSTALL = re.compile(r"^python3 -m venv .*? && PATH=\"\$PWD/\.venv/bin:\$PATH\" && ")


def main_job() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index("Main job, end to end") :]
    block = after[after.index("```sh\n") + 6 : after.index("\n```", after.index("```sh\n"))]
    assert INSTALL.match(block), block[:120]
    return INSTALL.sub("", block)


def test_the_readme_main_job_passes(tmp_path: Path, schema_cache: Path) -> None:
    job = main_job()
    assert "{ sftk deploy --org rehearsal-prod; test $? -eq 10; }" in job
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
        "SFTK_CACHE_DIR": str(schema_cache),
    }
    ran = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {job}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "rehearsal-prod is a production org" in ran.stderr
    assert "dry run: nothing was changed" in ran.stdout
    ledger = ran.stdout[ran.stdout.rindex("validate local") :]
    assert "deploy   rehearsal-sandbox (sandbox)" in ledger
    assert "quick    rehearsal-prod (production)" in ledger
