"""Start a kernel by kernelspec name, as Jupyter's own clients do, and run one cell.

Usage: /usr/bin/python3 run_kernelspec_cell.py KERNEL_NAME CWD < cell.ts
Prints JSON: {"status": ..., "outputs": [...], "seconds_to_reply": ...}.
The kernelspec is found through JUPYTER_PATH like any other.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel


def main():
    name, cwd = sys.argv[1], sys.argv[2]
    code = sys.stdin.read()
    started = time.monotonic()
    km, kc = start_new_kernel(kernel_name=name, cwd=cwd, startup_timeout=120)
    outputs = []
    try:
        reply = kc.execute_interactive(
            code, timeout=120, output_hook=lambda m: outputs.append({"type": m["msg_type"], "content": m["content"]})
        )
        print(json.dumps({
            "status": reply["content"]["status"],
            "error": reply["content"].get("evalue"),
            "outputs": outputs,
            "seconds_to_reply": time.monotonic() - started,
        }))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


if __name__ == "__main__":
    main()
