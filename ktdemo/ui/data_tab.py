"""Data tab: preview the picked dataset, bring your own file or a Hub dataset. (Being written.)"""
from __future__ import annotations

import gradio as gr


def build(model, dataset, workspace: gr.State) -> None:
    gr.Markdown("Dataset preview, uploads and Hub datasets: coming in this tab.")
