"""ktdemo: knowledge transfer with Transformers. `demo` is module-level, as Hugging Face Spaces expects."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import threading  # noqa: E402

from ktdemo.ui import build_demo, launch_options, warm_up  # noqa: E402

demo = build_demo()
threading.Thread(target=warm_up, name="ktdemo-warm-up", daemon=True).start()  # the page is up meanwhile

if __name__ == "__main__":
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by launch(); 127.0.0.1:7860 by default.
    demo.queue(default_concurrency_limit=4).launch(**launch_options())
