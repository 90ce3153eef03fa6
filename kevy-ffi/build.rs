//! Gives libkevy.so a versioned SONAME, `libkevy.so.<major>` (`libkevy.so.0` while
//! kevy is 0.x), so programs linked against it record that name (found through the
//! loader's path or an rpath), not the path it was linked from, and a future
//! incompatible libkevy.so.1 can sit beside it. install.sh installs the file as
//! libkevy.so.<version> with the libkevy.so.<major> and libkevy.so links.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkevy.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
