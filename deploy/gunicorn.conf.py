"""gunicorn settings for aas-server in production. Override any of them with GUNICORN_CMD_ARGS, e.g. "--workers 8".

Workers are processes (one store connection pool each); threads serve concurrent requests inside a worker while
others wait on the store. ``kill -HUP`` reloads the configuration and replaces the workers gracefully (requests in
flight finish within ``graceful_timeout``); ``kill -TERM`` stops after the same grace.
"""
import multiprocessing
import os
import tempfile

# one listener per port: AAS_BIND takes a comma-separated list ("0.0.0.0:8080,0.0.0.0:8081"); a port whose
# `listen` names one of these addresses is served on it (see README "Output ports")
bind = [address.strip() for address in os.environ.get("AAS_BIND", "127.0.0.1:8080").split(",") if address.strip()]


def _cpus() -> float:
    """CPUs this process may use: the cgroup (v2) quota of a container if there is one, else the machine's."""
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            return max(1.0, int(quota) / int(period))
    except (OSError, ValueError):
        pass
    return float(multiprocessing.cpu_count())


# 2 × cores + 1 keeps the cores busy while other workers wait on MongoDB; capped so that a large node does not open
# hundreds of store connections (raise AAS_WORKERS_MAX there)
workers = int(os.environ.get("AAS_WORKERS")
              or min(int(2 * _cpus()) + 1, int(os.environ.get("AAS_WORKERS_MAX", 16))))
threads = int(os.environ.get("AAS_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("AAS_WORKER_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("AAS_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# recycle workers now and then so that slow leaks in libraries cannot grow without bound; jitter avoids all
# workers restarting at once
max_requests = int(os.environ.get("AAS_MAX_REQUESTS", 20000))
max_requests_jitter = max_requests // 10
# two base64url identifiers of the maximum length (2048 characters each) must fit into one request line
limit_request_line = 8190
# the app is created in each worker, after fork: store connections must not be shared across processes
preload_app = False
# behind a TLS-terminating proxy: trust its X-Forwarded-* headers (comma-separated addresses, "*" for any)
forwarded_allow_ips = os.environ.get("AAS_FORWARDED_ALLOW_IPS", "127.0.0.1")
# heartbeat files on tmpfs where there is one (containers): a slow disk must not make the arbiter kill workers
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# with AAS_LOG_FORMAT=json the app writes one structured line per request itself (with the request id)
accesslog = None if os.environ.get("AAS_LOG_FORMAT") == "json" else os.environ.get("AAS_ACCESS_LOG", "-") or None
errorlog = "-"

# Prometheus multiprocess mode: every worker writes its samples to files here and /metrics merges them; a fresh
# directory per arbiter, so counters of a previous run never leak into this one
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="aas-metrics-"))


def child_exit(server, worker):  # noqa: ANN001 (gunicorn hook signature)
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
