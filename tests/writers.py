"""Concurrent PutLogEvents writers with uniquely numbered events, and the
exactly-once check, for the crash and shutdown tests: kill or stop the
server while they run, restart it, then compare what is stored with what
was acknowledged."""

import collections
import threading

import boto3
from botocore.config import Config

from harness import ACCESS_KEY, REGION, SECRET_KEY
from support import HOUR, all_forward, put

WRITERS = 6
STREAMS = ["shared-0", "shared-1", "own-4", "own-5"]
EVENTS_PER_BATCH = 200
ACKED_BATCHES_BEFORE_KILL = 60


def stream_of(writer):
    return f"shared-{writer % 2}" if writer < 4 else f"own-{writer}"


def writer_client(server):
    return boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


class Writers:
    """Writer threads each sending batches of uniquely numbered events until
    a call fails. `acked` holds the ids of events whose call succeeded,
    `unsure` those whose call got no answer."""

    def __init__(self, server, group, base_ts):
        self.server, self.group, self.base_ts = server, group, base_ts
        self.acked, self.unsure = set(), set()
        self.acked_batches = 0
        self.failures = []
        self.condition = threading.Condition()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(WRITERS)]

    def run(self, writer):
        client = writer_client(self.server)
        stream = stream_of(writer)
        batch = 0
        while True:
            ids = [f"w{writer}-b{batch:05}-e{i:03}" for i in range(EVENTS_PER_BATCH)]
            # Timestamps: chronological inside the batch, spread over the hour.
            start = self.base_ts + (batch * EVENTS_PER_BATCH) % HOUR
            events = [(start + i, f"{event_id} " + "p" * (20 + (i * 37) % 300)) for i, event_id in enumerate(ids)]
            try:
                put(client, self.group, stream, events)
            except Exception as error:  # the crash: connection refused or reset
                with self.condition:
                    self.unsure.update(ids)
                    self.failures.append(type(error).__name__)
                    self.condition.notify_all()
                return
            with self.condition:
                self.acked.update(ids)
                self.acked_batches += 1
                self.condition.notify_all()
            batch += 1

    def start(self):
        for thread in self.threads:
            thread.start()

    def wait_for(self, batches, timeout=120):
        with self.condition:
            assert self.condition.wait_for(lambda: self.acked_batches >= batches or self.failures, timeout=timeout), \
                "the writers did not make progress"
            assert not self.failures, f"a writer failed before the crash: {self.failures}"

    def join(self):
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive()


def stored_ids(logs, group):
    """Event id → how many times it is stored, over every stream; also
    checks each stored event's message and stream are intact."""
    counts = collections.Counter()
    for stream in STREAMS:
        for event in all_forward(logs, group, stream):
            event_id, _, padding = event["message"].partition(" ")
            writer = int(event_id[1:event_id.index("-")])
            assert stream_of(writer) == stream, f"{event_id} found in {stream}"
            index = int(event_id.rsplit("-e", 1)[1])
            assert padding == "p" * (20 + (index * 37) % 300), f"{event_id} has a damaged message"
            counts[event_id] += 1
    return counts


def check_exactly_once(counts, writers):
    duplicated = {event_id: n for event_id, n in counts.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} events stored more than once, e.g. {list(duplicated.items())[:5]}"
    missing = writers.acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    phantom = set(counts) - writers.acked - writers.unsure
    assert not phantom, f"{len(phantom)} events stored that were never sent, e.g. {sorted(phantom)[:5]}"
