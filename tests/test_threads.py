"""labutils' thread count: the CPUs the process may use, unless the environment says otherwise."""

from __future__ import annotations

import os

import pytest
import torch

from labutils import config


def test_available_cpus_is_within_the_affinity():
    n = config.available_cpus()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_cgroup_quota_caps_the_count(monkeypatch):
    monkeypatch.setattr(config, "_cgroup_cpu_quota", lambda: 1.5)
    assert config.available_cpus() == 1
    monkeypatch.setattr(config, "_cgroup_cpu_quota", lambda: 0.2)
    assert config.available_cpus() == 1, "a quota below one CPU still gets one thread"
    monkeypatch.setattr(config, "_cgroup_cpu_quota", lambda: None)
    assert config.available_cpus() == len(os.sched_getaffinity(0))


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("var", ["LABUTILS_THREADS", "OMP_NUM_THREADS"])
def test_environment_wins(monkeypatch, restore_threads, var):
    monkeypatch.delenv("LABUTILS_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv(var, "1")
    assert config.configure_threads() == 1 and torch.get_num_threads() == 1


def test_default_is_the_available_cpus(monkeypatch, restore_threads):
    monkeypatch.delenv("LABUTILS_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(config, "available_cpus", lambda: 1)
    assert config.configure_threads() == 1 and torch.get_num_threads() == 1


@pytest.mark.parametrize("value", ["two", "0", "-3"])
def test_bad_thread_count_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("LABUTILS_THREADS", value)
    with pytest.raises(ValueError, match="LABUTILS_THREADS"):
        config.configure_threads()
