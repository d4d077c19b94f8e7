//! placeholder, replaced by the emulator work.
