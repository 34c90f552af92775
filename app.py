"""ktdemo: knowledge transfer with Transformers. `demo` is module-level, as Hugging Face Spaces expects."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import threading  # noqa: E402

from ktdemo.serving.app import App  # noqa: E402
from ktdemo.ui import build_demo, launch_options, warm_up  # noqa: E402

app = App()  # what every session shares: the live sessions, the public runs, the runner
demo = build_demo(app)
threading.Thread(target=warm_up, args=(app,), name="ktdemo-warm-up", daemon=True).start()  # the page is up meanwhile

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Start the ktdemo app.")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the public API endpoints as MCP tools at /gradio_api/mcp/ "
                             "(the same as GRADIO_MCP_SERVER=True; needs gradio[mcp])")
    # None leaves it to GRADIO_MCP_SERVER, which launch() reads.
    mcp_server = True if parser.parse_args().mcp else None
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch(); 127.0.0.1:7860 by default.
    demo.queue(default_concurrency_limit=4).launch(mcp_server=mcp_server, **launch_options())
