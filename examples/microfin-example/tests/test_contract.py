"""The contract every Microfin CRM plugin passes (core.testing.plugin_contract)."""
import microfin_example
from core.testing.plugin_contract import PluginContract


class TestContract(PluginContract):
    plugin_name = "example"
    plugin_module = microfin_example


class TestInstalledContract(PluginContract):
    """The same contract, with the plugin found through its installed entry point (pip install)."""

    plugin_name = "example"
