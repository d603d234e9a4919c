"""Discovery: inventories posted by unknown machines, enrollment rules, the ramdisk agent.

``agent.sh``    the POSIX sh agent baked into the discovery ramdisk
``schema.py``   the inventory it posts (validated, size-limited)
``rules.py``    enrollment rules: conditions on inventory and sighting, actions
``enroll.py``   inventory -> known machine (update) or rules -> enrolled / discovered
``locate.py``   who holds an address or a MAC's lease (the DHCP lease store and the view)
``endpoint.py`` the machine-facing ``POST /v1/discovery`` on the boot HTTP port
"""
