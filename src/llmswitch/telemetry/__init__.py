"""What the gateway tells its operators besides its answers: log lines (`logs`, written by `output`) and
traces (`tracing`, exported by `otel` when configured).
"""
