"""metalnet: the provisioning network for bare-metal machines."""
