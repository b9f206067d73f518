"""Cluster masters: fail fast, naming the URL, when the master cannot be reached.

Without this check a standalone driver whose master is down retries for about a
minute ("All masters are unresponsive! Giving up.") before it fails, with the URL
buried in a Java log. A TCP connect to the master's port answers in milliseconds.
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

DEFAULT_PORTS = {"spark": 7077, "k8s": 443, "mesos": 5050}
UNCHECKED = ("local", "yarn")  # local runs need no master; YARN is found via HADOOP_CONF_DIR


class MasterUnreachableError(ConnectionError):
    """The Spark master named by the URL does not accept connections."""


def master_endpoints(master: str) -> list[tuple[str, int]]:
    """(host, port) pairs a master URL points at; [] for local/yarn and unknown schemes.

    ``spark://h1:7077,h2:7077`` (standby masters) gives two pairs;
    ``k8s://https://host:6443`` the API server.
    """
    master = (master or "").strip()
    scheme, sep, rest = master.partition("://")
    if not sep or scheme in UNCHECKED or scheme not in DEFAULT_PORTS:
        return []
    if scheme == "k8s":
        inner = rest if "://" in rest else f"https://{rest}"
        parts = urlsplit(inner)
        default = 80 if parts.scheme == "http" else 443
        return [(parts.hostname or "", parts.port or default)] if parts.hostname else []
    endpoints = []
    for item in rest.split("/")[0].split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item, "", "")
        host = host.strip("[]")  # IPv6 literal
        try:
            endpoints.append((host, int(port) if port else DEFAULT_PORTS[scheme]))
        except ValueError:
            raise MasterUnreachableError(
                f"Spark master {master}: port {port!r} is not a number "
                "(expected e.g. spark://host:7077)") from None
    return endpoints


def check_master_reachable(master: str | None, timeout: float = 3.0) -> None:
    """Raise MasterUnreachableError naming ``master`` if none of its endpoints answers.

    Local and YARN masters are not checked. For standby masters one reachable
    endpoint is enough (Spark fails over between them).
    """
    if not master:
        return
    endpoints = master_endpoints(master)
    if not endpoints:
        return
    problems = []
    for host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as exc:
            problems.append(f"{host}:{port}: {exc.strerror or exc}")
    raise MasterUnreachableError(
        f"cannot reach the Spark master {master} ({'; '.join(problems)}); start the master "
        "(spark-class org.apache.spark.deploy.master.Master) or fix --master / "
        "spark.master in conf/job.yaml")


def submitted_master() -> str | None:
    """The --master given to spark-submit, read from its JVM; None outside spark-submit.

    Connects to spark-submit's gateway without creating a SparkContext, so the
    check runs before any work.
    """
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # joins spark-submit's JVM; starts no context
    return SparkConf().get("spark.master", None)
