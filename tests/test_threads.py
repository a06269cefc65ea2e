"""labutils' thread count: the CPUs the process may use, unless the environment says otherwise."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
import torch

from labutils import config, models, train


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
    before, follower = torch.get_num_threads(), config._follower
    yield
    torch.set_num_threads(before)
    config._follower = follower


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


class FakeMachine:
    """A clock, the busy CPU seconds of the machine and this process's own CPU seconds."""

    def __init__(self):
        self.now = self.busy = self.own = 0.0

    def run(self, seconds: float, own_cpus: float, other_cpus: float) -> None:
        self.now += seconds
        self.own += own_cpus * seconds
        self.busy += (own_cpus + other_cpus) * seconds


@pytest.fixture
def machine(restore_threads):
    torch.set_num_threads(4)
    m = FakeMachine()
    follower = config.LoadFollower(4, every=1.0, busy=lambda: m.busy, own=lambda: m.own, clock=lambda: m.now)
    follower.poll()  # the first poll only takes a baseline
    return m, follower


def test_an_idle_machine_keeps_every_thread(machine):
    m, f = machine
    for _ in range(5):
        m.run(1.0, own_cpus=3.9, other_cpus=0.3)
        assert f.poll() == 4 and torch.get_num_threads() == 4


def test_threads_drop_to_the_cpus_others_leave_and_come_back(machine):
    m, f = machine
    m.run(1.0, own_cpus=2.0, other_cpus=2.0)
    assert f.poll() == 2 and torch.get_num_threads() == 2
    m.run(1.0, own_cpus=1.0, other_cpus=3.0)
    assert f.poll() == 1
    m.run(1.0, own_cpus=1.0, other_cpus=6.0)  # oversubscribed: never below one
    assert f.poll() == 1
    m.run(1.0, own_cpus=1.0, other_cpus=0.0)  # the others finished
    assert f.poll() == 4 and torch.get_num_threads() == 4


def test_it_does_not_flap_on_the_edge(machine):
    m, f = machine
    m.run(1.0, own_cpus=3.0, other_cpus=1.0)
    assert f.poll() == 3
    for others in (0.4, 0.6, 0.3, 0.5):  # less than three quarters of a CPU more free: stays
        m.run(1.0, own_cpus=3.0, other_cpus=others)
        assert f.poll() == 3
    m.run(1.0, own_cpus=3.0, other_cpus=0.2)
    assert f.poll() == 4


def test_it_polls_only_every_interval(machine):
    m, f = machine
    m.run(0.5, own_cpus=1.0, other_cpus=4.0)
    assert f.poll() == 4, "half a second is not a measurement"
    m.run(0.6, own_cpus=1.0, other_cpus=4.0)
    assert f.poll() == 1


def test_a_count_set_by_hand_wins(machine):
    m, f = machine
    torch.set_num_threads(3)
    m.run(1.0, own_cpus=1.0, other_cpus=4.0)
    assert f.poll() == 3 and f.stopped
    m.run(1.0, own_cpus=0.0, other_cpus=0.0)
    assert f.poll() == 3


def test_no_load_reading_leaves_the_count(restore_threads):
    torch.set_num_threads(2)
    f = config.LoadFollower(2, busy=lambda: None)
    assert f.poll() == 2 and f.stopped


def test_busy_time_grows_with_this_process(monkeypatch):
    monkeypatch.setattr(config, "_cgroup_cpu_quota", lambda: None)
    before, own = config.busy_reader()(), time.process_time()
    while time.process_time() - own < 0.3:
        pass
    assert config.busy_reader()() - before >= 0.2


def test_a_fixed_count_does_not_follow(monkeypatch, restore_threads):
    monkeypatch.setenv("LABUTILS_THREADS", "1")
    config.configure_threads()
    assert config._follower is None
    monkeypatch.delenv("LABUTILS_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(config, "available_cpus", lambda: 2)
    config.configure_threads()
    assert isinstance(config._follower, config.LoadFollower)
    config.configure_threads(follow=False)
    assert config._follower is None


def test_the_training_loop_polls_on_the_cpu(monkeypatch):
    from labutils.train import loop

    calls = []
    monkeypatch.setattr(loop, "follow_load", lambda: calls.append(1))
    gen, disc = models.DCGenerator(nz=8, ngf=8), models.DCDiscriminator(ndf=8)
    cfg = dataclasses.replace(config.DCGANConfig(batch_size=4, nz=8, ngf=8, ndf=8), iters=3, sample_every=3, eval_every=3)
    train.train_gan(gen, disc, torch.rand(8, 3, 32, 32) * 2 - 1, cfg, device="cpu", progress=False)
    assert len(calls) == 3


def test_cgroup_v2_files_are_read(monkeypatch):
    files = {"cpu.max": "150000 100000\n", "cpu.stat": "usage_usec 5000000\nuser_usec 4000000\n"}
    monkeypatch.setattr(config, "_cgroup_v2_read", files.get)
    assert config._cgroup_cpu_quota() == 1.5
    assert config.busy_reader()() == 5.0, "under a quota the load is the cgroup's usage"
    files["cpu.max"] = "max 100000\n"
    assert config._cgroup_cpu_quota() is None


def test_the_follower_chooses_its_reader_once(monkeypatch):
    files = {"cpu.max": "150000 100000\n", "cpu.stat": "usage_usec 5000000\n"}
    looked = []
    monkeypatch.setattr(config, "_cgroup_v2_read", lambda name: looked.append(name) or files.get(name))
    follower = config.LoadFollower(torch.get_num_threads(), every=0.0)
    quota_reads = looked.count("cpu.max")
    assert quota_reads >= 1
    saved = torch.get_num_threads()
    try:
        for _ in range(3):
            follower.poll()
    finally:
        torch.set_num_threads(saved)
    assert looked.count("cpu.max") == quota_reads, "the quota is read once, not at every poll"
    assert looked.count("cpu.stat") >= 3, "every poll reads the cgroup's usage"
    files["cpu.max"] = "max 100000\n"
    assert config.busy_reader() is config._affinity_busy_seconds, "without a quota: the busy time of the CPUs"
