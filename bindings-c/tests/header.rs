//! The committed header must be what cbindgen generates from the sources now.
//! To update it: `STYLEMARK_BLESS=1 cargo test --workspace --test header`.

#[test]
fn header_is_up_to_date() {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = format!("{crate_dir}/include/stylemark.h");
    if std::env::var_os("STYLEMARK_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "bindings-c/include/stylemark.h is out of date with the Rust sources; regenerate it with \
         `STYLEMARK_BLESS=1 cargo test --workspace --test header` and commit it"
    );
}
