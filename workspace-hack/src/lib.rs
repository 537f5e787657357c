//! Empty: this crate exists only for its dependencies' features (see its Cargo.toml).
