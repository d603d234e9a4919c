"""An unknown MAC boots its network's discovery profile only where it holds its lease
and only under ``discover``; the per-MAC iPXE script follows."""

from __future__ import annotations

from metalnet.boot.machine_files import MachineFiles
from metalnet.core.boot import BootProfile, decide_boot
from metalnet.core.model import Network
from metalnet.core.view import BootView

DISCOVERY = BootProfile(id="p-disc", name="discovery", project_id="admin", kernel="vmlinuz",
                        initrds=("discovery.img",), cmdline="console=ttyS0")


def view_with(policy: str, profile_id: str | None = "p-disc") -> BootView:
    view = BootView()
    view.load(1, [DISCOVERY, Network(id="n1", project_id="admin", physical_network="ctl",
                                     unknown_mac_policy=policy,
                                     discovery_profile_id=profile_id)])
    return view


def test_discover_network_gives_the_discovery_profile() -> None:
    spec = decide_boot(view_with("discover"), "52:54:00:00:00:01", seen_on="n1")
    assert spec.profile == DISCOVERY and spec.reason == "discovery"


def test_no_lease_other_policy_or_no_profile_gives_nothing() -> None:
    assert decide_boot(view_with("discover"), "52:54:00:00:00:01").profile is None
    assert decide_boot(view_with("pool"), "52:54:00:00:00:01", "n1").profile is None
    assert decide_boot(view_with("discover", None), "52:54:00:00:00:01", "n1").profile is None
    missing = decide_boot(view_with("discover", "gone"), "52:54:00:00:00:01", "n1")
    assert missing.profile is None and "does not exist" in missing.reason


def test_ipxe_script_of_an_unknown_mac_by_its_lease() -> None:
    files = MachineFiles(view_with("discover"), {"52:54:00:00:00:01": "n1"}.get)
    script = files.render("boot/52-54-00-00-00-01.ipxe")
    assert script is not None and b"kernel /vmlinuz initrd=discovery.img" in script
    other = files.render("boot/52-54-00-00-00-02.ipxe")
    assert other is not None and b"sanboot" in other
