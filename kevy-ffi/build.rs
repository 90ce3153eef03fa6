//! Gives libkevy.so a SONAME, so programs linked against it record "libkevy.so"
//! (found through the loader's path or an rpath), not the path it was linked from.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkevy.so");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
