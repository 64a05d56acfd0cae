"""Channel adapters behind one interface: `await adapter.send(message) -> SendResult`."""
