"""What the service counts for Prometheus: logins, refusals, token use (``/api/v1/metrics``),
and the jobs in the directory.

Logins, refusals and tokens are per process, as Prometheus expects (each ``gin serve`` is
scraped on its own).  Jobs are the directory's, read at each scrape: workers on other hosts
run them, so no one process could count them; every ``gin serve`` of one directory reports
the same figures (aggregate with ``max``, not ``sum``).  Label values are a small fixed set,
never a user name or an address.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from directory import jobs as records
from directory.store import Directory

REGISTRY = CollectorRegistry(auto_describe=True)
LOGINS = Counter("gin_api_logins", "Password logins by result (success, failure, throttled).",
                 ["result"], registry=REGISTRY)
REFUSALS = Counter("gin_api_refusals", "Requests refused: 401 not authenticated, 403 not "
                   "permitted.", ["status"], registry=REGISTRY)
TOKENS = Counter("gin_api_token_authentications", "Bearer tokens presented, by result "
                 "(accepted, rejected).", ["result"], registry=REGISTRY)

for _result in ("success", "failure", "throttled"):
    LOGINS.labels(_result)
for _status in ("401", "403"):
    REFUSALS.labels(_status)
for _result in ("accepted", "rejected"):
    TOKENS.labels(_result)


#: Upper bounds (seconds) of the job duration buckets: a backup takes seconds, a
#: provision of many links or an audit of the whole GIN up to an hour.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
#: The label of a job kind this service does not know (an older or newer gin wrote it).
OTHER_KIND = "other"


def _known_kinds() -> tuple[str, ...]:
    from .job_kinds import KINDS

    return tuple(sorted(KINDS))


class JobCollector(Collector):
    """``gin_jobs{state,kind}`` (how many jobs are in each state now) and
    ``gin_job_duration_seconds{kind,state}`` (start to end of the jobs that ended), read
    from ``directory`` at each scrape.  Every known (state, kind) is reported, 0 included,
    so a rate or an alert has a series before the first job of its kind."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        kinds = _known_kinds()

        def kind_of(kind: str) -> str:
            return kind if kind in kinds else OTHER_KIND

        labels = (*kinds, OTHER_KIND)
        counts = {(st, k): 0 for st in records.STATES for k in labels}
        width = len(DURATION_BUCKETS) + 1
        buckets = {(k, st): [0] * width for k in labels for st in records.ENDED}
        sums = dict.fromkeys(buckets, 0.0)
        with self.directory.transaction() as s:
            for (state, kind), n in records.counts(s).items():
                if state in records.STATES:
                    counts[state, kind_of(kind)] += n
            for (kind, state), (per, total) in records.durations(s, DURATION_BUCKETS).items():
                key = (kind_of(kind), state)
                buckets[key] = [a + b for a, b in zip(buckets[key], per, strict=True)]
                sums[key] += total
        jobs = GaugeMetricFamily("gin_jobs", "Jobs in the directory by state and kind.",
                                 labels=["state", "kind"])
        for (state, kind), n in counts.items():
            jobs.add_metric([state, kind], n)
        yield jobs
        hist = HistogramMetricFamily(
            "gin_job_duration_seconds", "Seconds from start to end of the jobs that ended "
            "(succeeded, failed or cancelled), by kind and end state.", labels=["kind", "state"])
        bounds = (*map(floatToGoString, DURATION_BUCKETS), "+Inf")
        for (kind, state), per in buckets.items():
            hist.add_metric([kind, state], list(zip(bounds, per, strict=True)),
                            sums[kind, state])
        yield hist


def exposition(directory: Directory | None = None) -> bytes:
    """This process's counters, and the directory's jobs when ``directory`` is given."""
    text = generate_latest(REGISTRY)
    if directory is not None:
        jobs = CollectorRegistry(auto_describe=False)
        jobs.register(JobCollector(directory))
        text += generate_latest(jobs)
    return text
