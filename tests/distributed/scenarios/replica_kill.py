"""Kill replica actors of `omnivec serve --ray` while clients stream requests: every request
is answered 200, or 503 UNAVAILABLE with RetryInfo; none hangs, none is a 500; the deployment
brings the replica count back."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import ray

from tests.distributed.kit import ADDRESS, Server, emit

URL = "/v1beta/models/gemini-embedding-001:batchEmbedContents"
STREAM_S = 20.0


def body(i: int) -> dict[str, object]:
    texts = [f"request {i} sentence {j}: " + "ray serve replicas " * 20 for j in range(8)]
    return {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}


def replica_actors() -> list[str]:
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(n["name"] for n in names if n["name"].startswith("SERVE_REPLICA::omnivec-"))


def live_replicas(server: Server) -> int:
    metrics = httpx.get(server.base_url + "/metrics", timeout=10).text
    return sum(line.startswith("omnivec_replica_queue_depth{") for line in metrics.splitlines())


def main() -> None:
    server = Server(["--model", "default", "--ray", ADDRESS, "--replicas", "2", "--replica-cpus", "0.5"])
    ray.init(address=ADDRESS, namespace="omnivec-test", log_to_driver=False)
    outcomes: Counter[str] = Counter()
    bad: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + STREAM_S

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            i = 0
            while time.monotonic() < stop:
                r = http.post(URL, json=body(worker * 10_000 + i))
                i += 1
                with lock:
                    if r.status_code == 200 and len(r.json()["embeddings"]) == 8:
                        outcomes["ok"] += 1
                    elif (
                        r.status_code == 503
                        and r.json()["error"]["status"] == "UNAVAILABLE"
                        and any(
                            d.get("@type", "").endswith("RetryInfo")
                            for d in r.json()["error"].get("details", [])
                        )
                    ):
                        outcomes["unavailable_retry"] += 1
                    else:
                        bad.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    try:
        for t in threads:
            t.start()
        killed = []
        for pause in (4.0, 7.0):
            time.sleep(pause)
            names = replica_actors()
            if names:
                ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
                killed.append(names[0])
        for t in threads:
            t.join(180)
        hung = sum(t.is_alive() for t in threads)
        deadline = time.monotonic() + 90
        while live_replicas(server) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        after = httpx.post(server.base_url + URL, json=body(-1), timeout=60)
        emit(
            {
                "outcomes": dict(outcomes),
                "bad": bad[:5],
                "killed": killed,
                "hung": hung,
                "replicas_after": live_replicas(server),
                "status_after": after.status_code,
            }
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
