//! Refuses the usual recipe for a static Rust binary when it would give a broken helper: with
//! `-C target-feature=+crt-static` alone (glibc linked in), getrandom cannot find getrandom(2),
//! falls back to /dev/urandom, and the helper aborts in a scratch image ("could not initialize
//! ThreadRng", exit 134). `cargo static-helper` (.cargo/config.toml) passes the backend cfg too.

fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let static_glibc = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|feature| feature == "crt-static");
    if static_glibc && std::env::var_os("CARGO_CFG_GETRANDOM_BACKEND").is_none() {
        println!(
            "cargo::error=a static glibc build needs --cfg getrandom_backend=\"linux_getrandom\" too, or the helper aborts in an empty root: build it with `cargo static-helper` (RUSTFLAGS unset)"
        );
    }
}
