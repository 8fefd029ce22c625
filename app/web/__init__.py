"""The chat page (Gradio) and the HTML it shows."""
