//! placeholder, replaced by the decode work.
