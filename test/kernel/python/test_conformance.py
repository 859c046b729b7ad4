"""Jupyter protocol conformance of the covalent-ts kernel, with Debian's
jupyter_kernel_test. Driven by test/kernel/conformance.test.ts, which installs
the kernelspec into a private prefix and sets JUPYTER_PATH."""
import unittest

import jupyter_kernel_test


class CovalentTsKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "covalent-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.ab", "matches": {"abs"}},
        {"text": "const someLongName = 1;\nsomeLong", "matches": {"someLongName"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 1;", "function f() { return 1; }", "class A {}\n"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "if (true) {", "const s = `abc"]
    invalid_code_samples = ["const = 1;", "1 +* 2", "let 1x = 3;", "}"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "const n: number = 41;\nn + 1", "result": "42"},
    ]

    code_display_data = [
        {"code": 'require("tslab").display.html("<b>hi</b>")', "mime": "text/html"},
        {"code": 'import { display } from "tslab";\ndisplay.markdown("*hi*")', "mime": "text/markdown"},
    ]

    code_inspect_sample = "Math.max"


if __name__ == "__main__":
    unittest.main()
