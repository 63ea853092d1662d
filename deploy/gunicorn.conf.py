"""gunicorn settings for aas-server. Override any of them with GUNICORN_CMD_ARGS, e.g. "--workers 8".

Workers are processes (one store connection pool each); threads serve concurrent requests inside a worker
while others wait on the store.
"""
import multiprocessing
import os

bind = os.environ.get("AAS_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("AAS_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("AAS_THREADS", 4))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# two base64url identifiers of the maximum length (2048 characters each) must fit into one request line
limit_request_line = 8190
# the app is created in each worker, after fork: store connections must not be shared across processes
preload_app = False
accesslog = os.environ.get("AAS_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
