"""Executes notebooks with Debian's nbclient and the kernel named in each
notebook, writing the executed copies to OUT_DIR. Used by
test/kernel/notebooks.test.ts. Usage: run_notebooks.py OUT_DIR NOTEBOOK..."""
import os
import sys

import nbformat
from nbclient import NotebookClient


def main() -> int:
    out_dir, paths = sys.argv[1], sys.argv[2:]
    failed = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=180, startup_timeout=120, allow_errors=False,
                                resources={"metadata": {"path": os.getcwd()}})
        try:
            client.execute()
            print(f"executed {path}", flush=True)
        except Exception as e:  # the test reads the message and the partial notebook
            failed += 1
            print(f"FAILED {path}: {type(e).__name__}: {e}", flush=True)
        nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
