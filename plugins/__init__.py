"""The four Belgian institutions' plugins that ship with Microfin CRM."""
