//! placeholder, replaced by the encode work.
