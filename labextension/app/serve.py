"""Serve the covalent-ts JupyterLab host app with Debian's jupyter_server.

jupyterlab_server's LabServerApp renders templates/index.html with the page
config (including the prebuilt extensions found on the labextensions path) and
serves the bundle, settings schemas and themes that build.js produced. Started
by `covalent-ts lab` and by the end-to-end tests; not meant to be run by hand.
"""
import ctypes
import os
import signal
import sys

from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")


class CovalentLabApp(LabServerApp):
    # ExtensionApp finds its extension point by module name; run as a script that is __main__.
    name = __name__
    load_other_extensions = False
    app_name = "JupyterLab (covalent-ts)"
    app_version = "4.6"
    app_url = "/lab"
    default_url = "/lab"
    extension_url = "/lab"
    static_dir = os.path.join(BUILD, "static")
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(BUILD, "settings")

    # A private place for user settings and workspaces per launch (set by the
    # launcher), so `?reset` and saved layouts never touch the user's own JupyterLab.
    user_settings_dir = os.environ.get("JUPYTERLAB_SETTINGS_DIR", "")
    workspaces_dir = os.environ.get("JUPYTERLAB_WORKSPACES_DIR", "")

    def initialize_handlers(self):
        # The frontend authenticates its API calls with the server's token.
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config.setdefault("token", self.serverapp.token)
        super().initialize_handlers()


def _jupyter_server_extension_points():
    # jupyter_server looks the app up on the module named by `name`.
    return [{"module": __name__, "app": CovalentLabApp}]


def _die_with_parent():
    """SIGTERM when the process that started us dies, even by SIGKILL.

    `covalent-ts lab` stops the server in order; this covers the launcher
    dying without a word. Kernels follow the server (they watch JPY_PARENT_PID).
    """
    launcher = os.environ.get("COVALENT_TS_LAB_LAUNCHER")
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the launcher's own clean-up is all there is
    if launcher and os.getppid() != int(launcher):  # it died before prctl took effect
        sys.exit(1)


if __name__ == "__main__":
    _die_with_parent()
    CovalentLabApp.launch_instance()
