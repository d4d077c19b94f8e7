"""A local Converz server for tests and demos (placeholder until the emulator lands)."""
