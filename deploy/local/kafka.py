"""A one-node KRaft Apache Kafka broker from Maven Central jars, on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import base64
import shutil
import time
import uuid
from importlib import resources
from pathlib import Path

from deploy.local import procs
from deploy.local.component import ComponentStatus
from deploy.local.errors import StackError

KAFKA_VERSION = "4.0.1"


class KafkaBroker:
    name = "kafka"

    def __init__(self, *, cache_dir: Path, data_dir: Path, port: int, controller_port: int, heap: str) -> None:
        self.libs = cache_dir.resolve() / f"kafka-{KAFKA_VERSION}" / "libs"
        self.m2 = cache_dir.resolve() / "m2"
        self.home = data_dir.resolve() / "kafka"
        self.port, self.controller_port, self.heap = port, controller_port, heap
        self.log_file = self.home / "broker.log"
        self.pid_file = self.home / "broker.pid"

    # -- install -------------------------------------------------------------------------------
    def install(self) -> None:
        if self.libs.is_dir() and any(self.libs.glob("kafka_2.13-*.jar")):
            return
        if not shutil.which("mvn"):
            raise StackError("Maven (mvn) not found: install it (apt-get install maven) to fetch the Kafka jars")
        self._require_java()
        pom = resources.files("deploy.local").joinpath("pom.xml")
        with resources.as_file(pom) as pom_path:
            tmp = self.libs.with_name("libs.partial")
            shutil.rmtree(tmp, ignore_errors=True)
            procs.run_checked(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "-f",
                    str(pom_path),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={tmp}",
                    f"-Dmaven.repo.local={self.m2}",
                ],
                "downloading the Kafka jars from Maven Central",
                "check that Maven Central is reachable, then run `meterline stack install` again",
            )
            shutil.rmtree(self.libs, ignore_errors=True)
            tmp.rename(self.libs)

    @staticmethod
    def _require_java() -> None:
        if not shutil.which("java"):
            raise StackError("Java not found: install a JDK 17+ (apt-get install openjdk-17-jre-headless)")

    # -- configuration -------------------------------------------------------------------------
    def _properties(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.home / 'data'}",
                "num.partitions=4",
                # One node: every internal topic with one replica.
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=8",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=336",
                "message.max.bytes=8388608",
                "",
            ]
        )

    def _java(self, *args: str) -> list[str]:
        log4j = resources.files("deploy.local").joinpath("log4j2.properties")
        return [
            "java",
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    def _format_once(self, props: Path, cluster_id: str | None = None) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = cluster_id or base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        procs.run_checked(
            # "=": a base64 id may start with "-", which the tool would read as an option.
            self._java(
                "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props), "--standalone"
            ),
            "formatting the Kafka storage",
            f"remove {self.home / 'data'} and run `meterline stack up` again",
            timeout=120,
        )

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float) -> None:
        if procs.read_pid(self.pid_file) is not None and self.ready():
            return
        self._require_java()
        if not self.libs.is_dir():
            raise StackError("the Kafka jars are missing: run `meterline stack install` first")
        procs.stop(self.pid_file)
        procs.ensure_port_free(self.port, "the Kafka broker", "METERLINE_LOCAL_KAFKA_PORT")
        procs.ensure_port_free(self.controller_port, "the Kafka controller", "METERLINE_LOCAL_KAFKA_CONTROLLER_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(self._properties())
        self._format_once(props)
        procs.spawn(self._java("kafka.Kafka", str(props)), self.log_file, self.pid_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procs.read_pid(self.pid_file) is None:
                raise StackError(
                    f"the Kafka broker exited during start-up; last log lines:\n{procs.tail(self.log_file)}"
                )
            if self.ready():
                return
            time.sleep(0.5)
        procs.stop(self.pid_file)
        raise StackError(
            f"the Kafka broker did not become ready within {timeout:.0f}s; last log lines:\n{procs.tail(self.log_file)}"
        )

    def ready(self) -> bool:
        """Real client calls: list topics, and find a consumer group's coordinator through the Kafka protocol.

        A broker answers metadata seconds before its group coordinator is up (it creates
        ``__consumer_offsets`` on the first look-up): a worker that joined in between got
        GroupCoordinatorNotAvailable and, once, no partitions at all until it was restarted."""
        if not procs.port_open(self.port):
            return False
        return asyncio.run(broker_answers(f"127.0.0.1:{self.port}"))

    def stop(self) -> bool:
        return procs.stop(self.pid_file, timeout=30)

    def status(self) -> ComponentStatus:
        pid = procs.read_pid(self.pid_file)
        running = pid is not None and procs.port_open(self.port)
        return ComponentStatus(
            self.name, running, pid, f"127.0.0.1:{self.port}", f"Apache Kafka {KAFKA_VERSION} (KRaft)"
        )


#: The consumer group whose coordinator ``ready`` looks up (it never joins: no offsets are stored for it).
PROBE_GROUP = "meterline-stack-probe"


async def broker_answers(bootstrap: str) -> bool:
    """Whether the broker at ``bootstrap`` lists its topics and has a group coordinator (see ``Kafka.ready``)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        await admin.find_coordinator(PROBE_GROUP)
        return True
    except (KafkaError, OSError):
        return False
    finally:
        await admin.close()
